"""Tasks, completions, reminder and briefing ledgers, run-time settings.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("due_at", UTCDateTime, nullable=True),
        sa.Column("has_time", sa.Boolean, nullable=False),
        sa.Column("repeat_rule", sa.String(200), nullable=True),
        sa.Column("repeat_anchor", sa.DateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_tasks_assignee", "tasks", ["assignee"])
    op.create_index("ix_tasks_due_at", "tasks", ["due_at"])
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_table(
        "task_completions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id", sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("due_at", UTCDateTime, nullable=True),
        sa.Column("done_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_task_completions_task_id", "task_completions", ["task_id"])
    op.create_index("ix_task_completions_done_at", "task_completions", ["done_at"])
    op.create_table(
        "reminder_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id", sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("rung", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("task_id", "due_at", "rung", name="uq_reminder_log_task_id"),
    )
    op.create_index("ix_reminder_log_task_id", "reminder_log", ["task_id"])
    op.create_table(
        "briefing_log",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
