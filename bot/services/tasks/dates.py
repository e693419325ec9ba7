"""Read the text of `/add` and `/snooze`: dates in the business's time zone, repeats, @names.

``parse_task_text("File VAT return every quarter due Jan 31", now, tz)`` gives the title
"File VAT return", the rule ``FREQ=MONTHLY;INTERVAL=3`` and a due date of the next Jan 31 at
09:00 local time (``has_time=False``), in UTC.

Where the date is: the longest run of up to 8 words at the end of the text that reads as a
date (due/on/by/at before it go with it), else such a run at the start. A run is a date only
when every word is date vocabulary and it has a clear anchor (a weekday, a month with a day, a
digit pattern, today/tomorrow, "in 3 days"), so "Ask May about the report" or "Renew licence
2027" keep their words. Absolute dates are read by dateparser; weekdays, offsets, ordinals and
"end of month" by the small readers here, whose answers are predictable ("friday" on a Friday
is today, "next friday" is never today). Repeats live in `bot.services.tasks.repeats`.

Errors, each a one-sentence message for the owner::

    ValueError
    └── DateParseError        no readable date, a date in the past, a repeat without a first date
        └── EmptyTitleError   nothing left for the title
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.services.tasks.repeats import (
    WEEKDAY_INDEX,
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
    "Due",
    "EmptyTitleError",
    "ParsedTask",
    "describe_rule",
    "from_local",
    "next_occurrence",
    "parse_task_text",
    "parse_when",
    "to_local",
]

DEFAULT_HOUR = 9  # a date-only due is stored at 09:00 local time
DATEPARSER_SETTINGS: Final[dict[str, object]] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "PREFER_DAY_OF_MONTH": "first",
}
_MAX_RUN = 8  # words examined at each end of the text
_MAX_WORD = 24  # no date word is longer
_EXAMPLES = "try “next friday 3pm”, “Jan 31” or “in 2 weeks”"
_TONIGHT = time(20)
_CONNECTORS = frozenset({"due", "on", "by", "at", "before", "until", "from", "starting"})
_NOT_AFTER_ON = frozenset({"today", "tomorrow", "tonight", "tmr", "tmrw", "yesterday", "in"})
_AMBIGUOUS_WEEKDAYS = frozenset({"mon", "wed", "sat", "sun"})
_NAMED_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "yesterday": -1}
_MONTHS = frozenset(
    [name.lower() for name in calendar.month_name[1:]]
    + [name.lower() for name in calendar.month_abbr[1:]]
    + ["sept"]
)
_PERIODS = {"noon": time(12), "midnight": time(0)}
_VAGUE_PERIODS = {"morning": time(9), "afternoon": time(14), "evening": time(18)}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER_WORDS |= {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12}
_UNITS = {
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
    "weeks": ("w", "wk", "wks", "week", "weeks"),
    "fortnights": ("fortnight", "fortnights"),
    "months": ("mo", "month", "months"),
    "years": ("y", "yr", "yrs", "year", "years"),
}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words}
_ONE: Final = {
    "minutes": relativedelta(minutes=1),
    "hours": relativedelta(hours=1),
    "days": relativedelta(days=1),
    "weeks": relativedelta(weeks=1),
    "fortnights": relativedelta(weeks=2),
    "months": relativedelta(months=1),
    "years": relativedelta(years=1),
}

_TIME_RE = re.compile(
    r"(?<![\w:/.-])(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ap>[ap])\.?m\.?"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})"
    rf"|(?P<word>{'|'.join([*_PERIODS, *_VAGUE_PERIODS])}))(?![\w:])"
)
_WEEKDAY_RE = re.compile(rf"(?:(?P<mod>next|this|coming)\s+)?(?P<wd>{'|'.join(WEEKDAY_INDEX)})")
_OFFSET_RE = re.compile(
    r"(?P<pre>in\s+)?(?:(?P<num>\d{1,4})\s*|(?P<word>[a-z]+)\s+)(?P<unit>[a-z]+)"
    r"(?P<post>\s+(?:from\s+now|later))?"
)
_NEXT_PERIOD_RE = re.compile(r"next\s+(?P<unit>week|month|year)")
_END_OF_RE = re.compile(
    r"(?:the\s+)?end\s+of\s+(?:the\s+)?(?P<unit>month|quarter|year)|eo(?P<u>[mqy])"
)
_ORDINAL_RE = re.compile(r"(?P<the>the\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)")
_DAY_TOKEN_RE = re.compile(r"\d{1,2}(?:st|nd|rd|th)?")
_YEAR_TOKEN_RE = re.compile(r"(?:19|20)\d{2}")
_NUMERIC_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_HAS_YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b|\d+[-/.]\d+[-/.]\d+")
_ASSIGNEE_RE = re.compile(r"@(?P<name>\w[\w.-]*)")


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


class _Clock(NamedTuple):
    at: time
    vague: bool  # "morning": needs a day beside it


def parse_task_text(text: str, now: datetime, tz: ZoneInfo) -> ParsedTask:
    """Split `/add` text into title, due date, repeat rule and assignee."""
    now_local = _local_now(now, tz)
    assignee, words = _take_assignee(text.split())
    rule, words = _take_every(words)
    rule, found, words = _peel_tail(words, rule, now_local)
    if found is None:
        found, words = _peel_head(words, now_local)
    title = " ".join(words).strip(" ,;:-–—")
    if not title:
        raise EmptyTitleError("What is the task? Add a few words, e.g. “Call Bob tomorrow”.")
    return ParsedTask(title, _resolve_due(found, rule, now_local, tz), rule, assignee)


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> Due:
    """Read a text that is only a date or time: "tomorrow", "2h", "next monday 10am"."""
    now_local = _local_now(now, tz)
    words = text.split()
    found = _read_run(words, now_local, strict=False) if len(words) <= _MAX_RUN else None
    if found is None:
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:39] + "…"
        raise DateParseError(f"I couldn't read a date in “{shown}”; {_EXAMPLES}.")
    return _to_due(found, now_local, tz)


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


def _peel_tail(
    words: list[str], rule: str | None, now_local: datetime
) -> tuple[str | None, _Found | None, list[str]]:
    found: _Found | None = None
    while True:
        adverb = None if rule else _tail_adverb(words)
        if adverb:
            rule, words = adverb[0], words[: -adverb[1]]
            continue
        run = None if found else _tail_date(words, now_local)
        if run is None:
            return rule, found, words
        found, words = run[0], words[: -run[1]]


def _tail_adverb(words: Sequence[str]) -> tuple[str, int] | None:
    for size in range(min(6, len(words)), 0, -1):
        rule = match_adverb(" ".join(_clean(word) for word in words[-size:]))
        if rule:
            return rule, size
    return None


def _tail_date(words: Sequence[str], now_local: datetime) -> tuple[_Found, int] | None:
    for size in range(min(_MAX_RUN, len(words)), 0, -1):
        found = _read_run(words[-size:], now_local, strict=True)
        if found:
            return found, size
    return None


def _peel_head(words: list[str], now_local: datetime) -> tuple[_Found | None, list[str]]:
    for size in range(min(_MAX_RUN, len(words)), 0, -1):
        found = _read_run(words[:size], now_local, strict=True)
        if found:
            return found, words[size:]
    return None, words


def _resolve_due(
    found: _Found | None, rule: str | None, now_local: datetime, tz: ZoneInfo
) -> Due | None:
    if rule and implies_day(rule) and (found is None or found.time_only):
        found = _first_by_rule(rule, found, now_local)
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


def _to_due(found: _Found, now_local: datetime, tz: ZoneInfo) -> Due:
    past = found.local < now_local if found.has_time else found.local.date() < now_local.date()
    if past:
        raise DateParseError(f"That date is in the past: {_human(found)}.")
    return Due(from_local(found.local, tz), found.has_time)


def _human(found: _Found) -> str:
    day = found.local
    text = f"{day:%A} {day.day} {day:%B %Y}"
    return f"{text} {day:%H:%M}" if found.has_time else text


def _clean(word: str) -> str:
    word = word.lower().rstrip(",;!?")
    return word if word.endswith("m.") else word.rstrip(".")


def _read_run(words: Sequence[str], now_local: datetime, *, strict: bool) -> _Found | None:
    """The moment a run of words names, or None when it is not (only) a date."""
    tokens = [_clean(word) for word in words]
    if not tokens or any(len(token) > _MAX_WORD for token in tokens):
        return None
    lead = 0
    while lead < len(tokens) and tokens[lead] in _CONNECTORS:
        lead += 1
    if lead == len(tokens) or (tokens[lead - 1 : lead] == ["on"] and tokens[lead] in _NOT_AFTER_ON):
        return None
    clock, rest = _take_clock(" ".join(tokens[lead:]))
    day_part = " ".join(_strip_connectors(rest.split()))
    if clock is None and (offset := _read_offset(day_part, strict)) and offset[1]:
        return _Found(now_local + offset[0], has_time=True)
    if not day_part:
        return None if clock is None or clock.vague else _at_clock(clock.at, now_local)
    clear = not strict or lead > 0 or clock is not None
    day = _read_day(day_part, now_local, clear=clear, strict=strict)
    return None if day is None else _combine(day, day_part, clock, now_local)


def _take_clock(phrase: str) -> tuple[_Clock | None, str]:
    matches = list(_TIME_RE.finditer(phrase))
    if len(matches) != 1:
        return None, phrase if not matches else "?"  # two times: not a date
    match = matches[0]
    clock = _clock_of(match)
    rest = phrase[: match.start()] + " " + phrase[match.end() :]
    return (clock, rest) if clock else (None, "?")


def _clock_of(match: re.Match[str]) -> _Clock | None:
    if match["word"]:
        word = match["word"]
        return _Clock(_PERIODS.get(word) or _VAGUE_PERIODS[word], word in _VAGUE_PERIODS)
    if match["h24"]:
        hour, minute = int(match["h24"]), int(match["m24"])
        return _Clock(time(hour, minute), False) if hour < 24 and minute < 60 else None
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if not 1 <= hour <= 12 or minute >= 60:
        return None
    return _Clock(time(hour % 12 + (12 if match["ap"] == "p" else 0), minute), False)


def _strip_connectors(tokens: list[str]) -> list[str]:
    while tokens and tokens[0] in _CONNECTORS:
        tokens = tokens[1:]
    while tokens and tokens[-1] in _CONNECTORS:
        tokens = tokens[:-1]
    return tokens


def _at_clock(at: time, now_local: datetime) -> _Found:
    moment = datetime.combine(now_local.date(), at)
    if moment < now_local:
        moment += timedelta(days=1)
    return _Found(moment, has_time=True, time_only=True)


def _combine(day: date, day_part: str, clock: _Clock | None, now_local: datetime) -> _Found:
    if clock is None:
        if day_part == "tonight":
            return _Found(datetime.combine(day, _TONIGHT), has_time=True)
        return _Found(datetime.combine(day, time(DEFAULT_HOUR)), has_time=False)
    moment = datetime.combine(day, clock.at)
    weekday = _WEEKDAY_RE.fullmatch(day_part)
    if moment < now_local and weekday and not weekday["mod"]:
        moment += timedelta(days=7)  # "friday 3pm", said on a Friday at 4pm
    return _Found(moment, has_time=True)


def _read_day(day_part: str, now_local: datetime, *, clear: bool, strict: bool) -> date | None:
    today = now_local.date()
    if day_part in _NAMED_DAYS:
        return today + timedelta(days=_NAMED_DAYS[day_part])
    if day_part in ("day after tomorrow", "the day after tomorrow"):
        return today + timedelta(days=2)
    offset = _read_offset(day_part, strict)
    if offset is not None:
        return None if offset[1] else today + offset[0]
    return (
        _read_weekday(day_part, today, clear=clear)
        or _read_next_period(day_part, today)
        or _read_end_of(day_part, today)
        or _read_ordinal(day_part, today, clear=clear)
        or _read_absolute(day_part, now_local)
    )


def _read_offset(phrase: str, strict: bool) -> tuple[relativedelta, bool] | None:
    """("in 3 days" →) the offset and whether it is a clock offset (hours, minutes)."""
    match = _OFFSET_RE.fullmatch(phrase)
    if match is None or (strict and not (match["pre"] or match["post"])):
        return None
    count = int(match["num"]) if match["num"] else _NUMBER_WORDS.get(match["word"], 0)
    unit = _UNIT_OF.get(match["unit"])
    if not count or unit is None:
        return None
    return _ONE[unit] * count, unit in ("minutes", "hours")


def _read_weekday(phrase: str, today: date, *, clear: bool) -> date | None:
    match = _WEEKDAY_RE.fullmatch(phrase)
    if match is None or (match["wd"] in _AMBIGUOUS_WEEKDAYS and not (match["mod"] or clear)):
        return None
    ahead = (WEEKDAY_INDEX[match["wd"]] - today.weekday()) % 7
    if ahead == 0 and match["mod"] == "next":
        ahead = 7
    return today + timedelta(days=ahead)


def _read_next_period(phrase: str, today: date) -> date | None:
    match = _NEXT_PERIOD_RE.fullmatch(phrase)
    if match is None:
        return None
    return today + _ONE[f"{match['unit']}s"]


def _read_end_of(phrase: str, today: date) -> date | None:
    match = _END_OF_RE.fullmatch(phrase)
    if match is None:
        return None
    unit = match["unit"] or {"m": "month", "q": "quarter", "y": "year"}[match["u"]]
    month = {"month": today.month, "quarter": (today.month + 2) // 3 * 3, "year": 12}[unit]
    return date(today.year, month, calendar.monthrange(today.year, month)[1])


def _read_ordinal(phrase: str, today: date, *, clear: bool) -> date | None:
    """ "the 15th": the next 15th, today included, skipping months without that day."""
    match = _ORDINAL_RE.fullmatch(phrase)
    if match is None or not (match["the"] or clear):
        return None
    day = int(match["day"])
    for ahead in range(13):
        first = date(today.year, today.month, 1) + relativedelta(months=ahead)
        if 1 <= day <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=day)
            if candidate >= today:
                return candidate
    return None


def _read_absolute(phrase: str, now_local: datetime) -> date | None:
    """ "Jan 31", "31st of January 2027", "2027-01-31": read by dateparser once it looks right."""
    tokens = [token for token in phrase.replace(",", " ").split() if token not in ("of", "the")]
    if not _looks_absolute(tokens):
        return None
    found = _dateparser_read(" ".join(tokens), now_local)
    if found is None:
        return None
    today = now_local.date()
    if not _HAS_YEAR_RE.search(phrase) and (found.month, found.day) == (today.month, today.day):
        return today  # "Jan 31" said on Jan 31 means today, not next year
    return found


def _looks_absolute(tokens: list[str]) -> bool:
    if len(tokens) == 1 and _NUMERIC_DATE_RE.fullmatch(tokens[0]):
        return True
    months = [i for i, token in enumerate(tokens) if token in _MONTHS]
    days = [token for token in tokens if _DAY_TOKEN_RE.fullmatch(token)]
    years = [i for i, token in enumerate(tokens) if _YEAR_TOKEN_RE.fullmatch(token)]
    if len(months) != 1 or len(days) > 1 or len(years) > 1 or len(tokens) > 3:
        return False
    if len(days) + len(years) + 1 != len(tokens) or not (days or years):
        return False
    return not years or years[0] > months[0]


def _dateparser_read(phrase: str, now_local: datetime) -> date | None:
    import dateparser  # ~0.1 s to import: on the first absolute date, not at every start

    settings = {**DATEPARSER_SETTINGS, "RELATIVE_BASE": now_local}
    result = dateparser.parse(phrase, languages=["en"], settings=settings)
    return result.date() if isinstance(result, datetime) else None
