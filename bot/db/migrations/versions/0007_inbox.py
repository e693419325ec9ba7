"""The durable inbox and the update-effect markers.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0007"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("handled_at", UTCDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_index("ix_inbox_status", "inbox", ["status"])
    op.create_table(
        "update_effects",
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    )
