"""A task as the calendar resources the sync writes: the export's own events, one per UID, and
a to-do beside them where the calendar holds VTODOs.

The events come from :func:`bot.services.tasks.export.task_events`, the one function that also
builds the `.ics` export and the feed, so the three never disagree. CalDAV wants one UID per
resource (RFC 4791 4.1), so the events are grouped by UID; each resource carries its time zone.
The to-do (``todo-<id>-<install>@microdesk``, a UID of its own: one calendar holds each UID
once) copies the title, notes and revision of the event that carries the due, and is DUE when
that event starts; a repeating task's to-do is its next occurrence only. It is a copy for task
apps: what the owner changes in it is not read back, and it leaves with the event.

A *start key* names an event's start as plain text, ``D:2026-12-01`` (all day) or
``T:2026-12-01T08:00:00+00:00`` (an instant, in UTC), so what was pushed and what the server
holds compare as strings, whatever TZID the calendar app chose.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Event, Timezone, Todo

from bot.db.models import Task
from bot.services.tasks import dates, export

TZ_YEARS = 20


@dataclass(frozen=True)
class Resource:
    uid: str
    body: bytes
    start: str  # "<recurrence-id key>|<start key>" of the event carrying the task's due; or ""


def fingerprint(task: Any, tz: ZoneInfo) -> str:
    """Everything of a task that shows in its events: equal fingerprints, equal events
    (`task`: a Task, or a row of just these columns)."""
    parts = (
        task.id,
        task.title,
        task.assignee,
        task.due_at.isoformat() if task.due_at else None,
        task.has_time,
        task.repeat_rule,
        task.repeat_anchor.isoformat() if task.repeat_anchor else None,
        task.status,
        tz.key,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


def resources(
    task: Task, tz: ZoneInfo, now: datetime, install: str, *, todos: bool = False
) -> list[Resource]:
    """The task's events, one resource per UID (the export's, with the install id), each
    marked with the start it carries; with `todos`, its to-do after them."""
    assert task.due_at is not None
    due = start_key(dates.to_local(task.due_at, tz).replace(tzinfo=None), task.has_time, tz)
    grouped: dict[str, list[Event]] = {}
    for event in export.task_events(task, tz, now, install):
        grouped.setdefault(str(event["uid"]), []).append(event)
    made = [_resource(uid, events, due, tz) for uid, events in grouped.items()]
    if todos:
        found = [e for events in grouped.values() for e in events]
        carrier = next((e for e in found if event_start(e, tz) == due), found[-1])
        made.append(_todo(todo_uid(task.id, install), carrier, tz))
    return made


def todo_uid(task_id: int, install: str) -> str:
    return f"todo-{task_id}-{install}@microdesk"


def _todo(uid: str, carrier: Event, tz: ZoneInfo) -> Resource:
    todo = Todo()
    todo.add("uid", uid)
    for name in ("sequence", "dtstamp", "created", "last-modified", "summary", "description"):
        if name in carrier:
            todo[name] = carrier[name]
    due = _moment(carrier, "dtstart")
    todo.add("due", due)
    todo.add("status", "NEEDS-ACTION")
    cal = Calendar()
    cal.add("prodid", export.PRODID)
    cal.add("version", "2.0")
    if getattr(due, "tzinfo", None) is tz:
        cal.add_component(_vtimezone(tz))
    cal.add_component(todo)
    return Resource(uid, cal.to_ical(), "")


def _resource(uid: str, events: list[Event], due: str, tz: ZoneInfo) -> Resource:
    cal = Calendar()
    cal.add("prodid", export.PRODID)
    cal.add("version", "2.0")
    if any(getattr(_moment(e, "dtstart"), "tzinfo", None) is tz for e in events):
        cal.add_component(_vtimezone(tz))
    carried = ""
    for event in events:
        cal.add_component(event)
        if event_start(event, tz) == due:
            carried = f"{recurrence_key(event, tz)}|{due}"
    return Resource(uid, cal.to_ical(), carried)


@lru_cache(maxsize=8)
def _vtimezone(tz: ZoneInfo) -> Timezone:
    this_year = datetime.now(UTC).year
    return Timezone.from_tzinfo(
        tz, first_date=date(this_year - 2, 1, 1), last_date=date(this_year + TZ_YEARS, 1, 1)
    )


def ours(path: str, install: str) -> bool:
    """Whether the event at `path` is one this install's sync writes (also under the UID of
    the versions before UIDs carried the install id), by the name it was written under."""
    name = path.rsplit("/", 1)[-1]
    mine = rf"(task-\d+(-{re.escape(install)})?|todo-\d+-{re.escape(install)})@microdesk\.ics"
    return re.fullmatch(mine, name) is not None


def start_key(value: date | datetime, has_time: bool, tz: ZoneInfo) -> str:
    """``D:<date>`` for an all-day start, ``T:<UTC instant>`` for a timed one (naive: local)."""
    if isinstance(value, datetime) and has_time:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return "T:" + aware.astimezone(UTC).isoformat()
    day = value.date() if isinstance(value, datetime) else value
    return "D:" + day.isoformat()


def event_start(event: Component, tz: ZoneInfo) -> str:
    value = _moment(event, "dtstart")
    return start_key(value, isinstance(value, datetime), tz)


def recurrence_key(event: Component, tz: ZoneInfo) -> str:
    """The start key of the occurrence an override replaces; "" for the event itself."""
    if "recurrence-id" not in event:
        return ""
    value = _moment(event, "recurrence-id")
    return start_key(value, isinstance(value, datetime), tz)


def _moment(component: Component, name: str) -> date | datetime:
    value = component.decoded(name)
    if not isinstance(value, date):
        raise ValueError(f"{name} is not a date")
    return value


def parse_key(key: str, keep_time: datetime, tz: ZoneInfo) -> dates.Due:
    """The due a start key means; an all-day start keeps the task's local time of day."""
    kind, _, text = key.partition(":")
    if kind == "T":
        return dates.Due(datetime.fromisoformat(text).astimezone(UTC), True)
    local = dates.to_local(keep_time, tz)
    day = date.fromisoformat(text)
    return dates.Due(dates.from_local(datetime.combine(day, local.time()), tz), False)


def describe(due: dates.Due, tz: ZoneInfo) -> str:
    """'Fri 4 Dec 2026 10:00' (timed) or 'Fri 4 Dec 2026' (date only), in the business's zone."""
    local = dates.to_local(due.at_utc, tz)
    text = f"{local:%a} {local.day} {local:%b %Y}"
    return f"{text} {local:%H:%M}" if due.has_time else text


def remote_start(body: bytes, carried: str, tz: ZoneInfo) -> str | None:
    """The start the server's copy gives the event that carried the task's due: an override of
    that very occurrence first (the owner moved just this one of a series), else the same
    component as pushed; None when it has neither (or the text is not iCalendar)."""
    rid, _, pushed = carried.partition("|")
    try:
        found = Calendar.from_ical(body).walk("VEVENT")
    except ValueError:
        return None
    return _carrier_start(found, rid, pushed, tz)


def _carrier_start(found: list[Component], rid: str, pushed: str, tz: ZoneInfo) -> str | None:
    if rid == "":
        for event in found:
            if "recurrence-id" in event and recurrence_key(event, tz) == pushed:
                return event_start(event, tz)
    for event in found:
        if recurrence_key(event, tz) == rid and "dtstart" in event:
            return event_start(event, tz)
    return None
