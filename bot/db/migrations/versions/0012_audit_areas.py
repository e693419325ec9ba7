"""The audit log records every change: an area per entry (tasks, settings, …; the entries
before this were all the AI's proposals), and actors up to 32 characters (contractor:@name).

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("area", sa.String(16), nullable=False, server_default="ai"))
        batch.alter_column("actor", type_=sa.String(32), existing_type=sa.String(16))
    op.create_index("ix_audit_log_area_id", "audit_log", ["area", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_area_id", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("actor", type_=sa.String(16), existing_type=sa.String(32))
        batch.drop_column("area")
