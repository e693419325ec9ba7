"""What the bot sends contractors on its own, each once: the outbox key is the ledger.

    team:<contractor>:task:<task>                         "a task for you" after assignment
    team:<contractor>:rem:<task>:<due instant>:<rung>     a reminder on the ladder
    team:<contractor>:daily:<their local date>            the opt-in daily list (08:00 theirs)

Reminders follow the owner's ladder (7 days, 1 day, at due time) in the contractor's own zone:
a timed task at its instant, a date-only task at 09:00 of the contractor's day. After downtime
only the latest passed rung is sent (marked late). A rung at or before the moment the task was
last set is never sent. Sent by :meth:`OutboxService.drain` with kind ``team``: never resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.models import OPEN, Task
from bot.db.outbox import OutboxMessage
from bot.db.team import ACTIVE, TEAM, Contractor
from bot.services import dates
from bot.services.outbox import Buttons, OutboxService, Outgoing
from bot.services.prefs import Preferences

LADDER = (("7d", timedelta(days=7)), ("1d", timedelta(days=1)), ("due", timedelta(0)))
DATE_ONLY_AT = time(9, 0)  # a date-only task's reminders: 09:00 in the contractor's zone
DAILY_AT = time(8, 0)
LATE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Due:
    """One message owed to a contractor; `key` names it once in the outbox."""

    contractor: Contractor
    key: str
    tasks: tuple[Task, ...]
    rung: str = ""  # a reminder's rung
    late: bool = False


def key_of(contractor_id: int, *parts: object) -> str:
    return ":".join([TEAM, str(contractor_id), *(str(p) for p in parts)])


def contractor_of(key: str) -> int:
    """The contractor a team key addresses."""
    return int(key.split(":", 2)[1])


class TeamSweep:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        prefs: Preferences,
        outbox: OutboxService,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs
        self._outbox = outbox

    def due(self) -> list[Due]:
        """Every message owed now and not yet queued: notices, reminders, daily lists."""
        now = self._clock.now()
        with self._sessions() as session:
            members = session.scalars(select(Contractor).where(Contractor.status == ACTIVE)).all()
            queued = set(
                session.scalars(
                    select(OutboxMessage.key).where(OutboxMessage.key.like(f"{TEAM}:%"))
                )
            )
            found: list[Due] = []
            for member in members:
                tasks = session.scalars(
                    select(Task)
                    .where(Task.status == OPEN, Task.assignee == member.name)
                    .order_by(Task.due_at.asc().nulls_last(), Task.id)
                ).all()
                found += self._for(member, list(tasks), now)
        return [d for d in found if d.key not in queued]

    def put(self, due: Due, text: str, buttons: Buttons = ()) -> bool:
        return self._outbox.put(Outgoing(due.key, TEAM, text, buttons))

    def zone(self, contractor: Contractor) -> ZoneInfo:
        return ZoneInfo(contractor.timezone) if contractor.timezone else self._prefs.tz

    # --- internals ---------------------------------------------------------------------------

    def _for(self, member: Contractor, tasks: list[Task], now: datetime) -> list[Due]:
        found = [
            Due(member, key_of(member.id, "task", t.id), (t,))
            for t in tasks
            if t.updated_at >= member.joined_at
        ]
        for task in tasks:
            reminder = self._reminder(member, task, now)
            if reminder is not None:
                found.append(reminder)
        if member.daily:
            daily = self._daily(member, tasks, now)
            if daily is not None:
                found.append(daily)
        return found

    def rung_points(self, member: Contractor, task: Task) -> list[tuple[str, datetime]]:
        """When each rung of the task's current due instant falls, in UTC."""
        assert task.due_at is not None
        if task.has_time:
            return [(rung, task.due_at - before) for rung, before in LADDER]
        day = dates.to_local(task.due_at, self._prefs.tz).date()  # the date the owner set
        zone = self.zone(member)
        return [
            (rung, dates.from_local(datetime.combine(day - before, DATE_ONLY_AT), zone))
            for rung, before in LADDER
        ]

    def _reminder(self, member: Contractor, task: Task, now: datetime) -> Due | None:
        if task.due_at is None:
            return None
        passed = [
            (rung, point)
            for rung, point in self.rung_points(member, task)
            if task.updated_at < point <= now
        ]
        if not passed:
            return None
        rung, point = passed[-1]
        key = key_of(member.id, "rem", task.id, task.due_at.isoformat(), rung)
        return Due(member, key, (task,), rung, now - point > LATE_AFTER)

    def _daily(self, member: Contractor, tasks: list[Task], now: datetime) -> Due | None:
        zone = self.zone(member)
        local = dates.to_local(now, zone)
        if local.time() < DAILY_AT:
            return None
        end = dates.from_local(datetime.combine(local.date() + timedelta(days=1), time()), zone)
        due = tuple(t for t in tasks if t.due_at is not None and t.due_at < end)
        if not due:
            return None
        return Due(member, key_of(member.id, "daily", _iso(local.date())), due)


def _iso(day: date) -> str:
    return day.isoformat()
