"""Deadlines as an RFC 5545 calendar, tasks as CSV: pure functions over tasks and a time zone.

Each open task with a date is one event whose UID, ``task-<id>-<install>@microdesk``, stays the
same from one export to the next and differs between installs, so a calendar app that imports
the file again updates the event instead of adding a copy. ``SEQUENCE`` is the task's revision,
raised by every change, so the newer export wins. A date-only task is an all-day event
(``VALUE=DATE``); a timed one starts at its local time with its ``TZID`` (plain UTC when the zone
is UTC) and lasts ``TIMED_LENGTH``, so a repeating 09:00 task stays at 09:00 across DST like the
bot's own dates. A repeat is its exact RRULE (:func:`bot.services.tasks.repeats.ics_rule`: a series
anchored on the 31st keeps month ends), and three VALARMs fire when the bot's reminders do:
7 days, 1 day and 0 before the due instant.

A repeating task snoozed off its series (the bot rolls it back onto the series when it is done)
is still one event: the series, and an override of the occurrence that moved (same UID, its
``RECURRENCE-ID``), never a second copy. :func:`task_events` builds them for any calendar code.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vRecur
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import DONE, OPEN, Setting, Task, TaskCompletion
from bot.services.delivery.reminders import LADDER
from bot.services.tasks import dates, repeats

PRODID = "-//microdesk//deadlines//EN"
CALENDAR_NAME = "microdesk deadlines"
ALARM_TEXT = {"7d": "due in a week", "1d": "due tomorrow", "due": "due now"}
CSV_COLUMNS = (
    "id", "title", "assignee", "due_date", "due_time", "repeat", "status", "created", "done",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TICK = timedelta(seconds=1)
TZ_YEARS = 20
TIMED_LENGTH = timedelta(minutes=30)
INSTALL_KEY = "install-id"


@dataclass(frozen=True)
class Exported:
    """The two files of an export, and how many deadlines and tasks they hold."""

    ics: bytes
    csv: bytes
    deadlines: int
    tasks: int


def export_all(sessions: sessionmaker[Session], tz: ZoneInfo, now: datetime) -> Exported:
    """Both files, from every stored task."""
    install = install_id(sessions)
    with sessions() as session:
        tasks = session.scalars(select(Task).order_by(Task.id)).all()
        done = session.scalars(select(TaskCompletion).order_by(TaskCompletion.id)).all()
    deadlines = sum(1 for t in tasks if t.status == OPEN and t.due_at is not None)
    ics = calendar(tasks, tz, now, install)
    return Exported(ics, tasks_csv(tasks, tz, done), deadlines, len(tasks))


def install_id(sessions: sessionmaker[Session]) -> str:
    """A random id made once per install (kept in the settings table): part of every UID."""
    with sessions.begin() as session:
        row = session.get(Setting, INSTALL_KEY)
        if row is None:
            row = Setting(key=INSTALL_KEY, value=secrets.token_hex(6))
            session.add(row)
        return row.value


def file_names(today: date) -> tuple[str, str]:
    """``microdesk-2026-11-25.ics`` and ``microdesk-2026-11-25.csv``."""
    stem = f"microdesk-{today.isoformat()}"
    return f"{stem}.ics", f"{stem}.csv"


# --- the calendar -------------------------------------------------------------------------------


def calendar(tasks: Iterable[Task], tz: ZoneInfo, now: datetime, install: str = "") -> bytes:
    """An RFC 5545 calendar of the open dated tasks, with repeats and alarms."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", CALENDAR_NAME)
    cal.add("x-wr-timezone", tz.key)
    dated = sorted(
        (t for t in tasks if t.status == OPEN and t.due_at is not None),
        key=lambda t: (t.due_at, t.id),
    )
    for task in dated:
        for event in task_events(task, tz, now, install):
            cal.add_component(event)
    first = min([now, *(t.due_at for t in dated if t.due_at is not None)])
    # VTIMEZONE transitions from a year before the first date to TZ_YEARS from now
    cal.add_missing_timezones(date(first.year - 1, 1, 1), date(now.year + TZ_YEARS, 1, 1))
    ics: bytes = cal.to_ical()
    return ics


def task_events(task: Task, tz: ZoneInfo, now: datetime, install: str = "") -> list[Event]:
    """The task as VEVENTs sharing one UID: the event, or a series plus its moved occurrence."""
    assert task.due_at is not None
    due = _naive_local(task.due_at, tz)
    uid = uid_of(task, install)
    if not (task.repeat_rule and task.repeat_anchor):
        return [_event(task, tz, now, due, uid=uid)]
    if _on_series(task.repeat_rule, task.repeat_anchor, due):
        return [_series(task, tz, now, due, uid)]
    replaced = _replaced(task.repeat_rule, task.repeat_anchor, due)
    moved = _event(task, tz, now, due, uid=uid)
    moved.add("recurrence-id", _start_value(task, tz, replaced))
    return [_series(task, tz, now, replaced, uid), moved]


def uid_of(task: Task, install: str = "") -> str:
    return uid_for(task.id, install)


def uid_for(task_id: int, install: str = "") -> str:
    """``task-<id>-<install>@microdesk`` (``task-<id>@microdesk`` without an install id)."""
    return f"task-{task_id}{'-' + install if install else ''}@microdesk"


def _replaced(rule: str, anchor: datetime, moved: datetime) -> datetime:
    """The occurrence a moved date stands for: the last one of the series before it."""
    found = anchor
    while True:
        nxt = repeats.next_occurrence(rule, anchor, found)
        if nxt > moved:
            return found
        found = nxt


def _series(task: Task, tz: ZoneInfo, now: datetime, start: datetime, uid: str) -> Event:
    assert task.repeat_rule and task.repeat_anchor
    event = _event(task, tz, now, start, uid=uid)
    rule = repeats.ics_rule(task.repeat_rule, task.repeat_anchor)
    event.add("rrule", vRecur.from_ical(rule))
    return event


def _start_value(task: Task, tz: ZoneInfo, local: datetime) -> datetime | date:
    return _aware(local, tz) if task.has_time else local.date()


def _event(task: Task, tz: ZoneInfo, now: datetime, local: datetime, *, uid: str) -> Event:
    """A VEVENT due at the naive local wall-clock `local`, with the reminder alarms."""
    event = Event()
    event.add("uid", uid)
    event.add("sequence", task.revision or 0)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("created", task.created_at)
    event.add("last-modified", task.updated_at)
    event.add("summary", task.title)
    event.add("description", _description(task))
    event.add("transp", "TRANSPARENT")  # a deadline does not make the owner busy
    if task.has_time:
        event.add("dtstart", _aware(local, tz))
        event.add("dtend", _aware(local + TIMED_LENGTH, tz))
        offset = timedelta(0)
    else:
        event.add("dtstart", local.date())
        event.add("dtend", local.date() + timedelta(days=1))
        offset = local - datetime.combine(local.date(), datetime.min.time())
    for rung, before in LADDER:
        event.add_component(_alarm(task, rung, offset - before))
    return event


def _alarm(task: Task, rung: str, trigger: timedelta) -> Alarm:
    """A display alarm `trigger` after the event's start (negative: before it)."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"{task.title} — {ALARM_TEXT[rung]}")
    alarm.add("trigger", trigger)
    return alarm


def _description(task: Task) -> str:
    lines = [f"Task #{task.id} in microdesk."]
    if task.assignee:
        lines.append(f"Done by @{task.assignee}.")
    if task.repeat_rule:
        lines.append(f"Repeats {dates.describe_rule(task.repeat_rule)}.")
    return "\n".join(lines)


def _on_series(rule: str, anchor: datetime, local: datetime) -> bool:
    if local < anchor:
        return False
    return local == anchor or repeats.next_occurrence(rule, anchor, local - _TICK) == local


def _naive_local(at_utc: datetime, tz: ZoneInfo) -> datetime:
    return dates.to_local(at_utc, tz).replace(tzinfo=None)


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    """The wall-clock `local` in `tz`; in UTC itself when the zone is UTC (written with Z)."""
    if tz.key in ("UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "UCT", "Etc/UCT"):
        return local.replace(tzinfo=UTC)
    return local.replace(tzinfo=tz, fold=0)


# --- the spreadsheet ----------------------------------------------------------------------------


def tasks_csv(
    tasks: Sequence[Task], tz: ZoneInfo, completions: Sequence[TaskCompletion] = ()
) -> bytes:
    """Every task, and every time one was done (a repeating task's history too), one row each;
    dates ISO 8601 in the business's zone, the due time in its own column; UTF-8 with a BOM."""
    by_id = {t.id: t for t in tasks}
    finished = {c.task_id for c in completions}
    rows = [_row(t, tz) for t in tasks if not (t.status == DONE and t.id in finished)]
    rows += [_done_row(c, by_id[c.task_id], tz) for c in completions if c.task_id in by_id]
    rows.sort(key=lambda row: (int(row[0]), row[3], row[4], row[6] == OPEN))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _row(task: Task, tz: ZoneInfo) -> list[str]:
    return [
        str(task.id),
        _cell(task.title),
        _cell(task.assignee or ""),
        *_due_cells(task.due_at, task.has_time, tz),
        dates.describe_rule(task.repeat_rule) if task.repeat_rule else "",
        task.status,
        _stamp(task.created_at, tz),
        _stamp(task.done_at, tz) if task.done_at else "",
    ]


def _done_row(done: TaskCompletion, task: Task, tz: ZoneInfo) -> list[str]:
    """One completion: the title and due date it had then, and when it was done."""
    return [
        str(task.id),
        _cell(done.title),
        _cell(done.assignee or ""),
        *_due_cells(done.due_at, task.has_time, tz),
        dates.describe_rule(task.repeat_rule) if task.repeat_rule else "",
        DONE,
        _stamp(task.created_at, tz),
        _stamp(done.done_at, tz),
    ]


def _due_cells(due_at: datetime | None, has_time: bool, tz: ZoneInfo) -> tuple[str, str]:
    """('2027-01-31', '') for a date, ('2026-11-26', '15:00') for a time, local."""
    if due_at is None:
        return "", ""
    local = dates.to_local(due_at, tz)
    return local.date().isoformat(), local.strftime("%H:%M") if has_time else ""


def _stamp(at: datetime, tz: ZoneInfo) -> str:
    return dates.to_local(at, tz).strftime("%Y-%m-%d %H:%M")


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text
