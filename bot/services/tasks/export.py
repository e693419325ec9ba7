"""Deadlines as an RFC 5545 calendar, tasks as CSV: pure functions over tasks and a time zone.

Each open task with a date is one VEVENT whose UID, ``task-<id>@microdesk``, stays the same
from one export to the next, so a calendar app that imports the file again updates the event
instead of adding a copy. A date-only task is an all-day event (``VALUE=DATE``); a timed one
starts at its local time with its ``TZID`` (plain UTC when the zone is UTC), so a repeating 09:00
task stays at 09:00 across DST like the bot's own dates. A repeat is its exact RRULE
(:func:`bot.services.tasks.repeats.ics_rule`: a series anchored on the 31st keeps month ends), and
three VALARMs fire when the bot's reminders do: 7 days, 1 day and 0 before the due instant.

A repeating task snoozed off its series (the bot rolls it back onto the series when it is done)
is two events: the moved date, ``task-<id>-moved@microdesk``, and the series from its next date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vRecur
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import OPEN, Task
from bot.services.delivery.reminders import LADDER
from bot.services.tasks import dates, repeats

PRODID = "-//microdesk//deadlines//EN"
CALENDAR_NAME = "microdesk deadlines"
ALARM_TEXT = {"7d": "due in a week", "1d": "due tomorrow", "due": "due now"}
CSV_COLUMNS = ("id", "title", "assignee", "due", "repeat", "status", "created", "done")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TICK = timedelta(seconds=1)
TZ_YEARS = 20


@dataclass(frozen=True)
class Exported:
    """The two files of an export, and how many deadlines and tasks they hold."""

    ics: bytes
    csv: bytes
    deadlines: int
    tasks: int


def export_all(sessions: sessionmaker[Session], tz: ZoneInfo, now: datetime) -> Exported:
    """Both files, from every stored task."""
    with sessions() as session:
        tasks = session.scalars(select(Task).order_by(Task.id)).all()
    deadlines = sum(1 for t in tasks if t.status == OPEN and t.due_at is not None)
    return Exported(calendar(tasks, tz, now), tasks_csv(tasks, tz), deadlines, len(tasks))


def file_names(today: date) -> tuple[str, str]:
    """``microdesk-2026-11-25.ics`` and ``microdesk-2026-11-25.csv``."""
    stem = f"microdesk-{today.isoformat()}"
    return f"{stem}.ics", f"{stem}.csv"


# --- the calendar -------------------------------------------------------------------------------


def calendar(tasks: Iterable[Task], tz: ZoneInfo, now: datetime) -> bytes:
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
        for event in task_events(task, tz, now):
            cal.add_component(event)
    first = min([now, *(t.due_at for t in dated if t.due_at is not None)])
    # VTIMEZONE transitions from a year before the first date to TZ_YEARS from now
    cal.add_missing_timezones(date(first.year - 1, 1, 1), date(now.year + TZ_YEARS, 1, 1))
    ics: bytes = cal.to_ical()
    return ics


def task_events(task: Task, tz: ZoneInfo, now: datetime) -> list[Event]:
    """One event for the task, or two for a repeating task snoozed off its series."""
    assert task.due_at is not None
    due = _naive_local(task.due_at, tz)
    if not (task.repeat_rule and task.repeat_anchor):
        return [_event(task, tz, now, due, uid=uid_of(task))]
    if _on_series(task.repeat_rule, task.repeat_anchor, due):
        return [_series(task, tz, now, due)]
    moved = _event(task, tz, now, due, uid=uid_of(task, "moved"))
    following = repeats.next_occurrence(task.repeat_rule, task.repeat_anchor, due)
    return [moved, _series(task, tz, now, following)]


def uid_of(task: Task, part: str = "") -> str:
    return f"task-{task.id}{'-' + part if part else ''}@microdesk"


def _series(task: Task, tz: ZoneInfo, now: datetime, start: datetime) -> Event:
    assert task.repeat_rule and task.repeat_anchor
    event = _event(task, tz, now, start, uid=uid_of(task))
    rule = repeats.ics_rule(task.repeat_rule, task.repeat_anchor)
    event.add("rrule", vRecur.from_ical(rule))
    return event


def _event(task: Task, tz: ZoneInfo, now: datetime, local: datetime, *, uid: str) -> Event:
    """A VEVENT due at the naive local wall-clock `local`, with the reminder alarms."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("created", task.created_at)
    event.add("last-modified", task.updated_at)
    event.add("summary", task.title)
    event.add("description", _description(task))
    event.add("transp", "TRANSPARENT")  # a deadline does not make the owner busy
    if task.has_time:
        event.add("dtstart", _aware(local, tz))
        offset = timedelta(0)  # a timed event without DTEND is a point in time (RFC 5545 3.6.1)
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


def tasks_csv(tasks: Sequence[Task], tz: ZoneInfo) -> bytes:
    """Every task, one row each, times in the business's zone; UTF-8 with a BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for task in sorted(tasks, key=lambda t: t.id):
        writer.writerow(_row(task, tz))
    return out.getvalue().encode("utf-8-sig")


def _row(task: Task, tz: ZoneInfo) -> list[str]:
    return [
        str(task.id),
        _cell(task.title),
        _cell(task.assignee or ""),
        _due_text(task, tz),
        dates.describe_rule(task.repeat_rule) if task.repeat_rule else "",
        task.status,
        _stamp(task.created_at, tz),
        _stamp(task.done_at, tz) if task.done_at else "",
    ]


def _due_text(task: Task, tz: ZoneInfo) -> str:
    if task.due_at is None:
        return ""
    local = dates.to_local(task.due_at, tz)
    return _stamp(task.due_at, tz) if task.has_time else local.date().isoformat()


def _stamp(at: datetime, tz: ZoneInfo) -> str:
    return dates.to_local(at, tz).strftime("%Y-%m-%d %H:%M")


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text
