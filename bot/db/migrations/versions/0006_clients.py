"""Clients over Telegram Business: connections, clients, their messages, the owner's edits.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0006"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "business_connections",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("user_chat_id", sa.BigInteger, nullable=False),
        sa.Column("can_reply", sa.Boolean, nullable=False),
        sa.Column("is_enabled", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("telegram_user_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("draft_due_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("telegram_user_id", name="uq_clients_telegram_user_id"),
    )
    op.create_index("ix_clients_draft_due_at", "clients", ["draft_due_at"])
    op.create_table(
        "client_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "client_id",
            sa.Integer,
            sa.ForeignKey("clients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("edited_at", UTCDateTime, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_client_messages_chat_id"),
    )
    op.create_index("ix_client_messages_client_id", "client_messages", ["client_id"])
    op.create_table(
        "reply_edits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.Integer, nullable=True),
        sa.Column("proposal_id", sa.Integer, nullable=False),
        sa.Column("draft", sa.Text, nullable=False),
        sa.Column("final", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("proposal_id", name="uq_reply_edits_proposal_id"),
    )


def downgrade() -> None:
    op.drop_table("reply_edits")
    op.drop_table("client_messages")
    op.drop_table("clients")
    op.drop_table("business_connections")
