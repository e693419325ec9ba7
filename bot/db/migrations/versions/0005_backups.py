"""The weekly-backup ledger.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "backup_log",
        sa.Column("week", sa.String(8), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("backup_log")
