"""Read the text of `/add` and `/snooze`: dates in the business's time zone, repeats, @names.

``parse_task_text("File VAT return every quarter due Jan 31", now, tz)`` gives the title
"File VAT return", the rule ``FREQ=MONTHLY;INTERVAL=3`` and a due date of the next Jan 31 at
09:00 local time (``has_time=False``), in UTC.

The date words are found anywhere in the text by :mod:`bot.dates` (in ``LANGUAGES``, numeric
dates in ``DATE_ORDER``, business days from ``COUNTRY``); exactly those words leave the title.
This module adds what the library layer does not know: @names, repeats (in
`bot.services.tasks.repeats`), UTC, and past dates. Words that read two ways become a DateQuestion.

Errors, each a one-sentence message for the owner::

    ValueError
    └── DateParseError        no readable date, a date in the past, a repeat without a first date
        ├── EmptyTitleError   nothing left for the title
        └── DateQuestion      the date reads two ways (or can't be read): the owner picks
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dates import Context, Found, read
from bot.services.tasks.repeats import (
    BUSINESS_SHIFT,
    describe_rule,
    find_every,
    implies_day,
    match_adverb,
    next_occurrence,
    without_interval,
)

__all__ = [
    "DEFAULT_HOUR",
    "DateParseError",
    "DateQuestion",
    "Due",
    "EmptyTitleError",
    "ParsedTask",
    "describe_rule",
    "from_local",
    "next_occurrence",
    "parse_task_text",
    "parse_when",
    "read_suggested",
    "to_local",
]

DEFAULT_HOUR = 9  # a date-only due is stored at 09:00 local time
_EXAMPLES = "try “next friday 3pm”, “Jan 31” or “in 2 weeks”"
_ASSIGNEE_RE = re.compile(r"@(?P<name>\w[\w.-]*)")
_BUSINESS_SHIFT_RE = re.compile(
    r",?\s*(?:on|to)\s+(?:a|the\s+next)\s+(?:business|working)\s+day\b", re.IGNORECASE
)
_OFFSET_ONLY_RE = re.compile(r"\d{1,4}\s*(?:min|m|h|d|w|wk|days?|weeks?|hours?|minutes?)", re.I)
_ISO_SUGGESTION_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{2}:\d{2})(?::\d{2})?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


class DateParseError(ValueError):
    """A date the owner wrote that can't be used; str(exc) is one sentence for them."""


class EmptyTitleError(DateParseError):
    """Nothing is left for the task's title once the date, repeat and @name are taken out."""


@dataclass(frozen=True)
class Due:
    """When a task is due: an aware UTC moment, and whether the owner gave a time of day."""

    at_utc: datetime
    has_time: bool


@dataclass(frozen=True)
class ParsedTask:
    """The parts of an `/add` text."""

    title: str
    due: Due | None
    rule: str | None
    assignee: str | None


@dataclass(frozen=True)
class _Found:
    local: datetime  # naive, local wall clock
    has_time: bool
    time_only: bool = False


class DateQuestion(DateParseError):
    """The date words read more than one way (or not at all): the owner picks.

    ``choices`` holds (title, due) per reading and a last (title, None) for "no date".
    """

    def __init__(self, question: str, choices: Sequence[tuple[str, Due | None]], rule: str | None,
                 assignee: str | None) -> None:  # fmt: skip
        super().__init__(question)
        self.question = question
        self.choices = tuple(choices)
        self.rule = rule
        self.assignee = assignee


def default_context(now: datetime, tz: ZoneInfo) -> Context:
    """All four languages, day first, weekends only: what tests and callers without prefs use."""
    return Context(_local_now(now, tz), order="DMY")


def parse_task_text(
    text: str, now: datetime, tz: ZoneInfo, ctx: Context | None = None
) -> ParsedTask:
    """Split `/add` text into title, due date, repeat rule and assignee.

    Raises DateQuestion when the date reads two ways or can't be read, DateParseError when it
    is in the past, EmptyTitleError when nothing is left for the title.
    """
    ctx = ctx or default_context(now, tz)
    now_local = ctx.now
    assignee, words = _take_assignee(text.split())
    business = _BUSINESS_SHIFT_RE.search(" ".join(words))
    if business:
        joined = " ".join(words)
        words = (joined[: business.start()] + " " + joined[business.end() :]).split()
    rule, words = _take_every(words)
    if rule is None:
        adverb = _tail_adverb(words)
        if adverb:
            rule, words = adverb[0], words[: -adverb[1]]
    if rule and business:
        rule += ";" + BUSINESS_SHIFT
    found = read(" ".join(words), ctx)
    if found.question:
        _ask(found, rule, assignee, now_local, tz)
    title = found.title
    if rule is None and (adverb := _tail_adverb(title.split())):
        rule, title = adverb[0], " ".join(title.split()[: -adverb[1]])
    if not title:
        raise EmptyTitleError("What is the task? Add a few words, e.g. “Call Bob tomorrow”.")
    reading = found.reading
    clock = _Found(reading.at, reading.has_time, time_only=_time_only(found)) if reading else None
    return ParsedTask(title, _resolve_due(clock, rule, now_local, tz, ctx), rule, assignee)


def _time_only(found: Found) -> bool:
    return found.reading is not None and found.time_only


def _ask(found: Found, rule: str | None, assignee: str | None, now_local: datetime,
         tz: ZoneInfo) -> None:  # fmt: skip
    choices: list[tuple[str, Due | None]] = []
    for choice in found.choices:
        if choice.reading is None:
            choices.append((choice.title, None))
            continue
        past = _is_past(_Found(choice.reading.at, choice.reading.has_time), now_local)
        if not past and choice.title:
            choices.append(
                (choice.title, Due(from_local(choice.reading.at, tz), choice.reading.has_time))
            )
    if found.question == "too many":
        raise DateParseError("That has too many dates for one task; give it one date.")
    raise DateQuestion(found.question or "Which date?", choices, rule, assignee)


def parse_when(text: str, now: datetime, tz: ZoneInfo, ctx: Context | None = None) -> Due:
    """Read a text that is only a date or time: "tomorrow", "2 days", "next monday 10am"."""
    ctx = ctx or default_context(now, tz)
    shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:39] + "…"
    candidates: tuple[str, ...] = (text, f"in {text}", f"on {text}")
    if _OFFSET_ONLY_RE.fullmatch(text.strip()):
        candidates = (f"in {text}", text)  # "2h" in /snooze is two hours, not 02:00
    for candidate in candidates:
        found = read(candidate, ctx)
        if found.question and found.question != "too many" and len(found.choices) > 1:
            options = [c for c in found.choices if c.reading and not c.title]
            if options:
                listed = " or ".join(_human(_Found(c.reading.at, c.reading.has_time))
                                     for c in options if c.reading)  # fmt: skip
                raise DateParseError(f"“{shown}” reads two ways: {listed}. Write the date out.")
        if found.reading and not found.title:
            reading = found.reading
            return _to_due(_Found(reading.at, reading.has_time), ctx.now, tz)
    raise DateParseError(f"I couldn't read a date in “{shown}”; {_EXAMPLES}.")


def read_suggested(text: str, now: datetime, tz: ZoneInfo, ctx: Context | None = None) -> Due:
    """A date the AI suggested, read and checked by the same reader as the owner's words.

    The model may write an ISO date ("2027-03-15", "2027-03-15T14:00") or words ("next
    friday 3pm"); either must read one way, in the future, or DateParseError says why.
    """
    text = text.strip()
    iso = _ISO_SUGGESTION_RE.fullmatch(text)
    if iso:
        text = iso["date"] + (f" {iso['time']}" if iso["time"] else "")
    return parse_when(text, now, tz, ctx)


def to_local(at_utc: datetime, tz: ZoneInfo) -> datetime:
    """An aware moment as an aware local time in `tz`."""
    if at_utc.tzinfo is None:
        raise ValueError("to_local needs an aware datetime")
    return at_utc.astimezone(tz)


def from_local(naive_local: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as aware UTC; a time skipped by DST moves forward by the gap,
    a repeated one takes its first occurrence."""
    if naive_local.tzinfo is not None:
        raise ValueError("from_local needs a naive wall-clock datetime")
    return naive_local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _local_now(now: datetime, tz: ZoneInfo) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def _take_assignee(words: list[str]) -> tuple[str | None, list[str]]:
    for index, word in enumerate(words):
        match = _ASSIGNEE_RE.fullmatch(word.rstrip(",;:.!?"))
        if match:
            return match["name"].lower(), words[:index] + words[index + 1 :]
    return None, words


def _take_every(words: list[str]) -> tuple[str | None, list[str]]:
    joined = " ".join(words)
    hit = find_every(joined)
    if hit is None:
        return None, words
    rule, start, end = hit
    return rule, (joined[:start] + " " + joined[end:]).split()


def _tail_adverb(words: Sequence[str]) -> tuple[str, int] | None:
    for size in range(min(6, len(words)), 0, -1):
        rule = match_adverb(" ".join(_clean(word) for word in words[-size:]))
        if rule:
            return rule, size
    return None


def _resolve_due(
    found: _Found | None, rule: str | None, now_local: datetime, tz: ZoneInfo, ctx: Context
) -> Due | None:
    if rule and implies_day(rule) and (found is None or found.time_only):
        found = _first_by_rule(rule, found, now_local)
    if found and rule and BUSINESS_SHIFT in rule:
        moved = ctx.business.next_business_day(found.local.date())
        found = _Found(datetime.combine(moved, found.local.time()), found.has_time)
    if found is None and rule:
        raise DateParseError(
            f"When is it first due? Add a date, e.g. “… {describe_rule(rule)} due Jan 31”."
        )
    return None if found is None else _to_due(found, now_local, tz)


def _first_by_rule(rule: str, clock: _Found | None, now_local: datetime) -> _Found:
    anchor = datetime.combine(now_local.date(), clock.local.time() if clock else time(DEFAULT_HOUR))
    after = max(anchor, now_local) if clock else anchor
    first = next_occurrence(without_interval(rule), anchor, after - timedelta(seconds=1))
    return _Found(first, has_time=clock is not None)


def _is_past(found: _Found, now_local: datetime) -> bool:
    return found.local < now_local if found.has_time else found.local.date() < now_local.date()


def _to_due(found: _Found, now_local: datetime, tz: ZoneInfo) -> Due:
    if _is_past(found, now_local):
        raise DateParseError(f"That date is in the past: {_human(found)}.")
    return Due(from_local(found.local, tz), found.has_time)


def _human(found: _Found) -> str:
    day = found.local
    text = f"{day:%A} {day.day} {day:%B %Y}"  # the month as a word: the reading is visible
    return f"{text} {day:%H:%M}" if found.has_time else text


def _clean(word: str) -> str:
    word = word.lower().rstrip(",;!?")
    return word if word.endswith("m.") else word.rstrip(".")
