"""What is due to be sent: reminder rungs and the daily briefing, each queued once.

Reminders follow the ladder 7 days, 1 day and 0 before the due instant. A rung at or before
the moment the due date was set is never sent. After downtime, only the latest missed rung of a
task is sent (marked late); the earlier ones are recorded as skipped. Once the last rung of a
due instant is recorded nothing more can be due for it, so the sweep leaves those tasks in SQL.

The ledgers (``reminder_log``, ``briefing_log``) say what was handled; the message itself goes
into the outbox in the same transaction (:mod:`bot.services.delivery.outbox`), which alone tracks
whether
it reached Telegram. So a crash can't leave a rung recorded without its message, or the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.clock import Clock
from bot.db.models import OPEN, BriefingLog, ReminderLog, Task
from bot.services.delivery import keys
from bot.services.delivery.outbox import Buttons, queue
from bot.services.prefs import Preferences
from bot.services.tasks import dates

LADDER: tuple[tuple[str, timedelta], ...] = (
    ("7d", timedelta(days=7)),
    ("1d", timedelta(days=1)),
    ("due", timedelta(0)),
)
LATE_AFTER = timedelta(minutes=15)
QUEUED, SKIPPED = "queued", "skipped"  # "sent" in rows written before the outbox


@dataclass(frozen=True)
class DueReminder:
    task: Task
    rung: str
    late: bool
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class DueBriefing:
    day: date
    late: bool


class SchedulerService:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, prefs: Preferences) -> None:
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs

    def due_reminders(self, now: datetime | None = None) -> list[DueReminder]:
        now = now or self._clock.now()
        horizon = now + LADDER[0][1]
        with self._sessions() as session:
            tasks = session.scalars(
                select(Task).where(
                    Task.status == OPEN,
                    Task.due_at.is_not(None),
                    Task.due_at <= horizon,
                    ~_last_rung_recorded(),
                )
            ).all()
            done = self._recorded(session, horizon)
        found = []
        for task in tasks:
            due = self._due_rungs(task, now, done)
            if due is not None:
                found.append(due)
        return found

    def queue_reminder(self, reminder: DueReminder, text: str, buttons: Buttons = ()) -> bool:
        """Record the rung (and the rungs it skipped) and queue its message, in one transaction."""
        task, now = reminder.task, self._clock.now()
        assert task.due_at is not None
        rows = [(reminder.rung, QUEUED)] + [(rung, SKIPPED) for rung in reminder.skipped]
        item = keys.reminder(task.id, task.due_at, reminder.rung, text, buttons)
        try:
            with self._sessions.begin() as session:
                for rung, status in rows:
                    session.add(
                        ReminderLog(
                            task_id=task.id,
                            due_at=task.due_at,
                            rung=rung,
                            status=status,
                            late=reminder.late,
                            at=now,
                        )
                    )
                queue(session, item, now)
        except IntegrityError:  # another process queued it first
            return False
        return True

    def due_briefing(self, now: datetime | None = None) -> DueBriefing | None:
        now = now or self._clock.now()
        tz = self._prefs.tz
        local = dates.to_local(now, tz)
        scheduled = dates.from_local(datetime.combine(local.date(), self._prefs.briefing_time), tz)
        if now < scheduled:
            return None
        with self._sessions() as session:
            if session.get(BriefingLog, local.date()) is not None:
                return None
            ever = session.scalar(select(BriefingLog.day).limit(1)) is not None
        # the very first briefing after installing is not "late": the bot was never down
        return DueBriefing(local.date(), ever and now - scheduled > LATE_AFTER)

    def queue_briefing(self, due: DueBriefing, text: str, buttons: Buttons = ()) -> bool:
        """Record the day's briefing and queue it, in one transaction; False if already done."""
        now = self._clock.now()
        item = keys.briefing(due.day, text, buttons)
        try:
            with self._sessions.begin() as session:
                session.add(BriefingLog(day=due.day, sent_at=now, late=due.late))
                session.flush()
                queue(session, item, now)
        except IntegrityError:
            return False
        return True

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _recorded(session: Session, horizon: datetime) -> set[tuple[int, datetime, str]]:
        rows = session.execute(
            select(ReminderLog.task_id, ReminderLog.due_at, ReminderLog.rung)
            .join(Task, (Task.id == ReminderLog.task_id) & (Task.due_at == ReminderLog.due_at))
            .where(Task.status == OPEN, Task.due_at <= horizon, ~_last_rung_recorded())
        )
        return {(r.task_id, r.due_at, r.rung) for r in rows}

    @staticmethod
    def _due_rungs(
        task: Task, now: datetime, done: set[tuple[int, datetime, str]]
    ) -> DueReminder | None:
        assert task.due_at is not None
        passed = [
            rung
            for rung, before in LADDER
            if task.updated_at < task.due_at - before <= now
            and (task.id, task.due_at, rung) not in done
        ]
        if not passed:
            return None
        latest = passed[-1]
        point = task.due_at - dict(LADDER)[latest]
        return DueReminder(task, latest, now - point > LATE_AFTER, tuple(passed[:-1]))


def _last_rung_recorded() -> ColumnElement[bool]:
    """The task's last rung for its current due instant is recorded (sent, or skipped)."""
    log = aliased(ReminderLog)
    return exists().where(
        log.task_id == Task.id, log.due_at == Task.due_at, log.rung == LADDER[-1][0]
    )
