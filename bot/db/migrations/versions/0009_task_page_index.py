"""An index in the task list's order (status, due date, id): a /tasks page is read off it.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_index("ix_tasks_page", "tasks", ["status", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_page", table_name="tasks")
