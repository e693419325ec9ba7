"""The backup ledger names the target each backup was verified on; periods up to a day's key.

Revision ID: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    with op.batch_alter_table("backup_log") as batch:
        batch.alter_column("week", type_=sa.String(16), existing_nullable=False)
        batch.add_column(sa.Column("target", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backup_log") as batch:
        batch.drop_column("target")
        batch.alter_column("week", type_=sa.String(8), existing_nullable=False)
