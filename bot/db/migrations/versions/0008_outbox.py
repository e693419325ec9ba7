"""The outbox of scheduled messages; the reminder ledger says "queued" where it said "sent".

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0008"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("buttons", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("resent", sa.Boolean, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.execute("UPDATE reminder_log SET status = 'queued' WHERE status = 'sent'")


def downgrade() -> None:
    op.execute("UPDATE reminder_log SET status = 'sent' WHERE status = 'queued'")
    op.drop_index("ix_outbox_status", "outbox")
    op.drop_table("outbox")
