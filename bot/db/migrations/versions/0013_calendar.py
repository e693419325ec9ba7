"""The calendar sync's links (one per event on the CalDAV server) and its state.

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0013"
down_revision = "0015"


def upgrade() -> None:
    op.create_table(
        "calendar_links",
        sa.Column("uid", sa.String(200), primary_key=True),
        sa.Column("task_id", sa.Integer, nullable=False),
        sa.Column("href", sa.Text, nullable=False),
        sa.Column("etag", sa.String(200), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("start", sa.String(64), nullable=False),
        sa.Column("carries_due", sa.Boolean, nullable=False),
        sa.Column("synced_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_calendar_links_task_id", "calendar_links", ["task_id"])
    op.create_table(
        "calendar_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target", sa.Text, nullable=True),
        sa.Column("calendar_url", sa.Text, nullable=True),
        sa.Column("sync_token", sa.Text, nullable=True),
        sa.Column("failing", sa.String(32), nullable=True),
        sa.Column("synced_at", UTCDateTime, nullable=True),
        sa.Column("feed_token", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("calendar_state")
    op.drop_index("ix_calendar_links_task_id", "calendar_links")
    op.drop_table("calendar_links")
