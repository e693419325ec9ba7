"""Task queries. Repositories take a Session and never commit: services own transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from bot.db.models import OPEN, Task, TaskCompletion


@dataclass(frozen=True)
class OpenFilter:
    """Which open tasks a list shows; every field left None narrows nothing."""

    assignee: str | None = None
    due_before: datetime | None = None
    # overdue as of (now, the instant the local day began): timed tasks after their instant,
    # date-only ones after their day
    overdue: tuple[datetime, datetime] | None = None


# built once: a Select is immutable, and building it anew cost a tenth of a /tasks page
OPEN_TASKS: Select[Task] = select(Task).where(Task.status == OPEN)


def _due_first(query: Select[Task]) -> Select[Task]:
    # NULLS LAST rather than `due_at IS NULL` first: SQLite and PostgreSQL both read this order
    # off ix_tasks_page (status, due_at, id) instead of sorting every open task
    return query.order_by(Task.due_at.asc().nulls_last(), Task.id)


def _filtered(which: OpenFilter) -> Select[Task]:
    query = OPEN_TASKS
    if which.assignee is not None:
        query = query.where(Task.assignee == which.assignee)
    if which.due_before is not None:
        query = query.where(Task.due_at.is_not(None), Task.due_at < which.due_before)
    if which.overdue is not None:
        now, day_start = which.overdue
        query = query.where(Task.due_at < now, or_(Task.has_time, Task.due_at < day_start))
    return query


def page_query(which: OpenFilter, offset: int = 0, limit: int | None = None) -> Select[Task]:
    """The open tasks of `which` in list order, from `offset`, at most `limit`."""
    return _due_first(_filtered(which)).offset(offset).limit(limit)


class TaskRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, task_id: int) -> Task | None:
        return self.session.get(Task, task_id)

    def add(self, task: Task) -> Task:
        self.session.add(task)
        self.session.flush()
        return task

    def delete(self, task: Task) -> None:
        self.session.delete(task)

    def open_filtered(
        self, which: OpenFilter, *, offset: int = 0, limit: int | None = None
    ) -> Sequence[Task]:
        """Open tasks matching `which`, due first (undated last), from `offset`, at most `limit`."""
        return self.session.scalars(page_query(which, offset, limit)).all()

    def count_filtered(self, which: OpenFilter) -> int:
        query = select(func.count()).select_from(_filtered(which).subquery())
        return self.session.scalar(query) or 0

    def open_due_before(self, end: datetime) -> Sequence[Task]:
        """Open tasks with a due date before `end` (overdue ones included)."""
        return self.open_filtered(OpenFilter(due_before=end))

    def add_completion(self, completion: TaskCompletion) -> None:
        self.session.add(completion)

    def completions(self, limit: int = 50) -> Sequence[TaskCompletion]:
        query = select(TaskCompletion).order_by(TaskCompletion.done_at.desc()).limit(limit)
        return self.session.scalars(query).all()
