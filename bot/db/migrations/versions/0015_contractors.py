"""Contractors, their one-time invites (hashes only) and their events.

Revision ID: 0015
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0015"
down_revision = "0012"


def upgrade() -> None:
    op.create_table(
        "contractors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("tg_user_id", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("daily", sa.Boolean, nullable=False),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sa.Column("last_active_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("name", name="uq_contractors_name"),
        sa.UniqueConstraint("tg_user_id", name="uq_contractors_tg_user_id"),
    )
    op.create_table(
        "team_invites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_team_invites_token_hash"),
    )
    op.create_index("ix_team_invites_name", "team_invites", ["name"])
    op.create_table(
        "team_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("contractor_id", sa.Integer, sa.ForeignKey("contractors.id"), nullable=False),
        sa.Column("task_id", sa.Integer, nullable=True),
        sa.Column("task_title", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("file_content", sa.LargeBinary, nullable=True),
        sa.Column("source", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("source", name="uq_team_events_source"),
    )
    op.create_index("ix_team_events_contractor_id", "team_events", ["contractor_id"])
    op.create_index("ix_team_events_at", "team_events", ["at"])


def downgrade() -> None:
    op.drop_table("team_events")
    op.drop_table("team_invites")
    op.drop_table("contractors")
