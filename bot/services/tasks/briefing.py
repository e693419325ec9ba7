"""The daily briefing, composed from stored data: overdue, due today, the next 7 days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.models import Task
from bot.db.tasks import TaskRepo
from bot.services.prefs import Preferences
from bot.services.tasks import dates
from bot.services.tasks.service import TaskService


@dataclass(frozen=True)
class Briefing:
    day: date
    overdue: Sequence[Task]
    today: Sequence[Task]
    week: Sequence[Task]
    extras: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.week or any(self.extras.values()))


def by_assignee(tasks: Sequence[Task]) -> list[tuple[str | None, list[Task]]]:
    """The owner's tasks first, then each contractor's, alphabetically."""
    groups: dict[str | None, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.assignee, []).append(task)
    return sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))


class BriefingService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        prefs: Preferences,
        tasks: TaskService,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs
        self._tasks = tasks

    def compose(self, now: datetime | None = None) -> Briefing:
        now = now or self._clock.now()
        end_today = self._tasks.end_of_day(now)
        end_week = self._tasks.end_of_day(now + timedelta(days=7))
        with self._sessions() as session:
            upcoming = TaskRepo(session).open_due_before(end_week)
        overdue = [t for t in upcoming if self._tasks.is_overdue(t, now)]
        late = {t.id for t in overdue}
        due_today = [t for t in upcoming if t.id not in late and t.due_at and t.due_at < end_today]
        week = [t for t in upcoming if t.due_at and t.due_at >= end_today]
        return Briefing(dates.to_local(now, self._prefs.tz).date(), overdue, due_today, week)
