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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast, exists, literal, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.models import OPEN, Task
from bot.db.outbox import OutboxMessage
from bot.db.team import ACTIVE, TEAM, Contractor
from bot.services.delivery.outbox import Buttons, OutboxService, Outgoing
from bot.services.prefs import Preferences
from bot.services.tasks import dates

LADDER = (("7d", timedelta(days=7)), ("1d", timedelta(days=1)), ("due", timedelta(0)))
DATE_ONLY_AT = time(9, 0)  # a date-only task's reminders: 09:00 in the contractor's zone
DAILY_AT = time(8, 0)
LATE_AFTER = timedelta(minutes=15)
NEAR = timedelta(days=9)  # due later: no rung yet (the first is 7 days before, ±26 h of zones)
LATE_LIMIT = timedelta(days=3)  # a date-only rung falls up to a day and a half from due_at
DAILY_MAX = 30
CHUNK = 500


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
        """Every message owed now and not yet queued: notices, reminders, daily lists.

        Reads only what can be owed: tasks whose notice the outbox lacks (an anti-join), tasks
        due near now, and the outbox keys of exactly those candidates (never the history)."""
        now = self._clock.now()
        with self._sessions() as session:
            members = {
                m.name: m
                for m in session.scalars(select(Contractor).where(Contractor.status == ACTIVE))
            }
            if not members:
                return []
            assigned = (Task.status == OPEN) & Task.assignee.in_(list(members))
            near = session.scalars(
                select(Task)
                .where(assigned, Task.due_at < now + NEAR, Task.due_at >= now - LATE_LIMIT)
                .order_by(Task.due_at, Task.id)
            ).all()
            found = [d for d in self._reminders(members, near, now) if d is not None]
            found += self._dailies(session, members, now)
            queued = _queued(session, [d.key for d in found])
            notes = [
                Due(members[name], key_of(members[name].id, "task", task.id), (task,))
                for task, name in session.execute(_unannounced())
            ]
        return notes + [d for d in found if d.key not in queued]

    def put(self, due: Due, text: str, buttons: Buttons = ()) -> bool:
        return self._outbox.put(Outgoing(due.key, TEAM, text, buttons))

    def zone(self, contractor: Contractor) -> ZoneInfo:
        return ZoneInfo(contractor.timezone) if contractor.timezone else self._prefs.tz

    # --- internals ---------------------------------------------------------------------------

    def _reminders(
        self, members: dict[str, Contractor], near: Sequence[Task], now: datetime
    ) -> list[Due | None]:
        return [self._reminder(members[t.assignee], t, now) for t in near if t.assignee]

    def _dailies(
        self, session: Session, members: dict[str, Contractor], now: datetime
    ) -> list[Due]:
        """Each opted-in contractor's list after 08:00 theirs, once a day: tasks are read only
        for a list not yet queued today."""
        wanted: dict[str, tuple[Contractor, datetime]] = {}
        for member in members.values():
            zone = self.zone(member)
            local = dates.to_local(now, zone)
            if member.daily and local.time() >= DAILY_AT:
                end = datetime.combine(local.date() + timedelta(days=1), time())
                key = key_of(member.id, "daily", local.date().isoformat())
                wanted[key] = (member, dates.from_local(end, zone))
        found = []
        for key in set(wanted) - _queued(session, list(wanted)):
            member, end = wanted[key]
            due = session.scalars(
                select(Task)
                .where(Task.status == OPEN, Task.assignee == member.name, Task.due_at < end)
                .order_by(Task.due_at, Task.id)
                .limit(DAILY_MAX)
            ).all()
            if due:
                found.append(Due(member, key, tuple(due)))
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


def _queued(session: Session, keys: list[str]) -> set[str]:
    """Which of `keys` the outbox holds already (asked in chunks: a bound list stays short)."""
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        found.update(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(chunk))))
    return found


def _unannounced() -> Select[Task, str]:
    """Open tasks of active contractors, set since they joined, whose notice is not in the
    outbox: an anti-join on the outbox's unique key, so the tick reads no history."""
    key = (
        literal(f"{TEAM}:")
        + cast(Contractor.id, String)
        + literal(":task:")
        + cast(Task.id, String)
    )
    return (
        select(Task, Contractor.name)
        .join(Contractor, Contractor.name == Task.assignee)
        .where(
            Task.status == OPEN,
            Contractor.status == ACTIVE,
            Task.updated_at >= Contractor.joined_at,
            ~exists().where(OutboxMessage.key == key),
        )
        .order_by(Task.id)
    )
