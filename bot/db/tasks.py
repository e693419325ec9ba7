"""Task queries. Repositories take a Session and never commit: services own transactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot.db.models import OPEN, Task, TaskCompletion


def _open() -> Select[Task]:
    return select(Task).where(Task.status == OPEN)


def _due_first(query: Select[Task]) -> Select[Task]:
    return query.order_by(Task.due_at.is_(None), Task.due_at, Task.id)


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

    def open_tasks(self, *, assignee: str | None = None) -> Sequence[Task]:
        query = _open()
        if assignee is not None:
            query = query.where(Task.assignee == assignee)
        return self.session.scalars(_due_first(query)).all()

    def open_due_before(self, end: datetime) -> Sequence[Task]:
        """Open tasks with a due date before `end` (overdue ones included)."""
        query = _open().where(Task.due_at.is_not(None), Task.due_at < end)
        return self.session.scalars(_due_first(query)).all()

    def open_due_between(self, start: datetime, end: datetime) -> Sequence[Task]:
        query = _open().where(Task.due_at >= start, Task.due_at < end)
        return self.session.scalars(_due_first(query)).all()

    def count_open(self) -> int:
        return self.session.scalar(select(func.count()).select_from(_open().subquery())) or 0

    def add_completion(self, completion: TaskCompletion) -> None:
        self.session.add(completion)

    def completions(self, limit: int = 50) -> Sequence[TaskCompletion]:
        query = select(TaskCompletion).order_by(TaskCompletion.done_at.desc()).limit(limit)
        return self.session.scalars(query).all()
