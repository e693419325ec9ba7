"""Repeat rules: the owner's words as RFC 5545 RRULE bodies, their next dates, their names.

A rule is stored as an RRULE body such as ``FREQ=MONTHLY;INTERVAL=3``. Dates are computed on
naive local wall-clock datetimes, so a 09:00 monthly task stays at 09:00 across DST changes;
the caller localises the result. A monthly, quarterly or yearly rule anchored on a day that a
later month lacks (the 31st, Feb 29) falls on that month's last day instead of skipping it:
Jan 31 → Apr 30 → Jul 31 → Oct 31. Pass the series' first due date as the anchor, not the
latest one, or a Jan 31 series drifts to the 30th after April.
"""

from __future__ import annotations

import re
from datetime import datetime

from dateutil.rrule import rrulestr

from bot.dates.business import BusinessCalendar

WEEKDAY_INDEX: dict[str, int] = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tues": 1, "tue": 1,
    "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WORKDAYS = "MO,TU,WE,TH,FR"
BUSINESS_SHIFT = "X-SHIFT=NEXT-BUSINESS-DAY"  # "…, on a business day": a day off moves on
_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})

_WD = "|".join(sorted(WEEKDAY_INDEX, key=len, reverse=True))
_WD_LIST = rf"(?:{_WD})(?:\s*(?:,|and|&)\s*(?:{_WD}))*"
_UNIT = r"(?:day|week|fortnight|month|quarter|year)"
_EVERY_RE = re.compile(
    r"\b(?:every|each)\s+(?:"
    rf"(?P<mu>month|quarter)\s+on\s+the\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?P<md2>\d{{1,2}})(?:st|nd|rd|th)(?:\s+of\s+the\s+month)?"
    rf"|(?P<n>\d{{1,3}}|other)\s+(?P<nu>{_UNIT})s?"
    rf"|(?P<nw>\d{{1,2}}(?:st|nd|rd|th)?|other|second|third)\s+(?P<wdn>{_WD_LIST})"
    rf"|(?P<u>{_UNIT})"
    rf"|(?P<wd>{_WD_LIST})"
    r"|(?P<workdays>weekday)s?"
    r")(?![\w'’])",
    re.IGNORECASE,
)
_ADVERBS = {
    "daily": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "fortnightly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "quarterly": ("MONTHLY", 3),
    "yearly": ("YEARLY", 1),
    "annually": ("YEARLY", 1),
}
_ADVERB_RE = re.compile(
    rf"(?P<adv>{'|'.join(_ADVERBS)})"
    rf"(?:\s+on\s+(?:the\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?|(?P<wd>{_WD_LIST})))?",
    re.IGNORECASE,
)
_ADVERB_DAY_RE = re.compile(
    rf"\b(?:monthly|quarterly)\s+on\s+the\s+\d{{1,2}}(?:st|nd|rd|th)?(?![\w'’])"
    rf"|\b(?:weekly|fortnightly)\s+on\s+{_WD_LIST}(?![\w'’])",
    re.IGNORECASE,
)
_UNIT_RULES = {
    "day": ("DAILY", 1),
    "week": ("WEEKLY", 1),
    "fortnight": ("WEEKLY", 2),
    "month": ("MONTHLY", 1),
    "quarter": ("MONTHLY", 3),
    "year": ("YEARLY", 1),
}


def find_every(text: str) -> tuple[str, int, int] | None:
    """The first "every …" or "monthly on the 15th" phrase in `text`: (rule, start, end).

    German, French and Spanish say it too: "jeden Montag", "chaque mois", "cada semana",
    "monatlich", "tous les lundis".
    """
    match = _EVERY_RE.search(text)
    rule = None if match is None else _every_rule(match)
    if match is None or rule is None:
        match = _ADVERB_DAY_RE.search(text)
        rule = None if match is None else match_adverb(match[0])
    if match is None or rule is None:
        return _find_every_elsewhere(text)
    return rule, match.start(), match.end()


_WD_OTHER = {
    "montag": "MO", "dienstag": "TU", "mittwoch": "WE", "donnerstag": "TH", "freitag": "FR",
    "samstag": "SA", "sonntag": "SU", "lundi": "MO", "mardi": "TU", "mercredi": "WE",
    "jeudi": "TH", "vendredi": "FR", "samedi": "SA", "dimanche": "SU", "lunes": "MO",
    "martes": "TU", "miercoles": "WE", "miércoles": "WE", "jueves": "TH", "viernes": "FR",
    "sabado": "SA", "sábado": "SA", "domingo": "SU",
}  # fmt: skip
_UNIT_OTHER = {
    "tag": "day", "woche": "week", "monat": "month", "quartal": "quarter", "jahr": "year",
    "jour": "day", "semaine": "week", "mois": "month", "trimestre": "quarter", "an": "year",
    "année": "year", "annee": "year", "día": "day", "dia": "day", "semana": "week",
    "mes": "month", "año": "year", "ano": "year",
}  # fmt: skip
_ADVERB_OTHER = {
    "täglich": "day", "taglich": "day", "wöchentlich": "week", "wochentlich": "week",
    "monatlich": "month", "vierteljährlich": "quarter", "vierteljahrlich": "quarter",
    "quartalsweise": "quarter", "jährlich": "year", "jahrlich": "year",
    "quotidiennement": "day", "hebdomadairement": "week", "mensuellement": "month",
    "trimestriellement": "quarter", "annuellement": "year", "diariamente": "day",
    "semanalmente": "week", "mensualmente": "month", "trimestralmente": "quarter",
    "anualmente": "year",
}  # fmt: skip
_OTHER_WORDS = "|".join(sorted([*_WD_OTHER, *_UNIT_OTHER], key=len, reverse=True))
_EVERY_OTHER_RE = re.compile(
    rf"\b(?:jeden|jede|jedes|chaque|tous\s+les|toutes\s+les|cada|todos\s+los|todas\s+las)"
    rf"\s+(?P<word>{_OTHER_WORDS})(?:s|es|e|n)?(?![\w'’])"
    rf"|\b(?P<adv>{'|'.join(_ADVERB_OTHER)})(?![\w'’])",
    re.IGNORECASE,
)


def _find_every_elsewhere(text: str) -> tuple[str, int, int] | None:
    match = _EVERY_OTHER_RE.search(text)
    if match is None:
        return None
    if match["adv"]:
        rule = _build(*_UNIT_RULES[_ADVERB_OTHER[match["adv"].lower()]])
    else:
        word = match["word"].lower()
        if word in _WD_OTHER:
            rule = _build("WEEKLY", 1, byday=_WD_OTHER[word])
        else:
            rule = _build(*_UNIT_RULES[_UNIT_OTHER[word]])
    return rule, match.start(), match.end()


def match_adverb(phrase: str) -> str | None:
    """The rule of a whole phrase like "quarterly" or "monthly on the 15th", or None."""
    match = _ADVERB_RE.fullmatch(phrase)
    if match is None:
        return None
    freq, interval = _ADVERBS[match["adv"].lower()]
    if match["md"] and freq == "MONTHLY":
        return _monthday_rule(interval, match["md"])
    if match["wd"] and freq == "WEEKLY":
        return _build(freq, interval, byday=_weekday_codes(match["wd"]))
    return None if match["md"] or match["wd"] else _build(freq, interval)


def without_interval(rule: str) -> str:
    """The rule with INTERVAL dropped: its next matching day, whatever the spacing."""
    return ";".join(
        part for part in rule.split(";") if not part.upper().startswith(("INTERVAL=", "X-"))
    )


def implies_day(rule: str) -> bool:
    """True when the rule alone names the first day: daily, on a weekday, on a day of month."""
    parts = parse_rule(rule)
    return parts["FREQ"] == "DAILY" or "BYDAY" in parts or "BYMONTHDAY" in parts


def next_occurrence(
    rule: str,
    anchor_local: datetime,
    after_local: datetime,
    business: BusinessCalendar | None = None,
) -> datetime:
    """The first date of the series starting at `anchor_local` strictly after `after_local`.

    A rule "on a business day" moves a date that falls on a weekend or holiday of `business`
    to the next working day (the series itself keeps its days).
    """
    if anchor_local.tzinfo is not None or after_local.tzinfo is not None:
        raise ValueError("next_occurrence works on naive local datetimes")
    series = rrulestr(ics_rule(rule, anchor_local), dtstart=anchor_local)
    found = series.after(after_local)
    if found is not None and BUSINESS_SHIFT in rule.upper():
        calendar = business or BusinessCalendar()
        while found is not None:
            moved = datetime.combine(calendar.next_business_day(found.date()), found.time())
            if moved > after_local:
                return moved
            found = series.after(found)
    if found is None:
        raise ValueError(f"The repeat rule {rule} has no date after {after_local:%Y-%m-%d}.")
    return found


def ics_rule(rule: str, anchor_local: datetime) -> str:
    """The exact RFC 5545 rule for a series starting at `anchor_local` (for .ics export too).

    Month-end anchors become "the last day when the month is shorter": an anchor on the 31st
    gives ``BYMONTHDAY=28,29,30,31;BYSETPOS=-1``.
    """
    parts = {k: v for k, v in parse_rule(rule).items() if not k.startswith("X-")}
    if {"BYDAY", "BYSETPOS", "BYMONTH"} & parts.keys():
        return _join(parts)
    if parts["FREQ"] == "MONTHLY":
        day = parts.get("BYMONTHDAY", str(anchor_local.day))
        if day.isdigit() and int(day) >= 29:
            parts |= {"BYMONTHDAY": _days_up_to(int(day)), "BYSETPOS": "-1"}
    elif parts["FREQ"] == "YEARLY" and (anchor_local.month, anchor_local.day) == (2, 29):
        parts |= {"BYMONTH": "2", "BYMONTHDAY": "28,29", "BYSETPOS": "-1"}
    return _join(parts)


def describe_rule(rule: str) -> str:
    """Human words for a rule: "every quarter", "monthly on the 15th", "every monday"."""
    parts = parse_rule(rule)
    if BUSINESS_SHIFT in rule.upper():
        return describe_rule(rule.upper().replace(";" + BUSINESS_SHIFT, "")) + ", on a business day"
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    if "BYDAY" in parts:
        return _describe_days(parts["BYDAY"], interval)
    period = _describe_period(freq, interval)
    if "BYMONTHDAY" not in parts:
        return period
    lead = "monthly" if (freq, interval) == ("MONTHLY", 1) else period
    return f"{lead} on the {_ordinal(int(parts['BYMONTHDAY']))}"


def parse_rule(rule: str) -> dict[str, str]:
    """The rule's parts by name; ValueError when it is not a rule this module writes."""
    parts: dict[str, str] = {}
    for item in rule.upper().split(";"):
        key, sep, value = item.strip().partition("=")
        if not sep or not value:
            raise ValueError(f"Not a repeat rule: {rule!r}")
        parts[key] = value
    if parts.get("FREQ") not in _FREQS or not parts.get("INTERVAL", "1").isdigit():
        raise ValueError(f"Not a supported repeat rule: {rule!r}")
    if parts.get("INTERVAL") == "0":
        raise ValueError(f"Not a supported repeat rule: {rule!r}")
    return parts


def _every_rule(match: re.Match[str]) -> str | None:
    if match["mu"]:
        return _monthday_rule(3 if match["mu"].lower() == "quarter" else 1, match["md"])
    if match["md2"]:
        return _monthday_rule(1, match["md2"])
    if match["n"]:
        count = 2 if match["n"].lower() == "other" else int(match["n"])
        freq, interval = _UNIT_RULES[match["nu"].lower()]
        return _build(freq, interval * count) if count else None
    if match["nw"]:
        word = match["nw"].lower()
        count = {"other": 2, "second": 2, "third": 3}.get(word) or int(word.rstrip("stndrh"))
        byday = _weekday_codes(match["wdn"])
        return _build("WEEKLY", count, byday=byday) if count else None
    if match["u"]:
        return _build(*_UNIT_RULES[match["u"].lower()])
    if match["wd"]:
        return _build("WEEKLY", 1, byday=_weekday_codes(match["wd"]))
    return _build("WEEKLY", 1, byday=_WORKDAYS)


def _monthday_rule(interval: int, day: str) -> str | None:
    return _build("MONTHLY", interval, bymonthday=int(day)) if 1 <= int(day) <= 31 else None


def _build(freq: str, interval: int, *, byday: str = "", bymonthday: int = 0) -> str:
    parts = [f"FREQ={freq}"]
    parts += [f"INTERVAL={interval}"] if interval != 1 else []
    parts += [f"BYDAY={byday}"] if byday else []
    parts += [f"BYMONTHDAY={bymonthday}"] if bymonthday else []
    return ";".join(parts)


def _weekday_codes(names: str) -> str:
    found = re.findall(_WD, names, re.IGNORECASE)
    indexes = sorted({WEEKDAY_INDEX[name.lower()] for name in found})
    return ",".join(_CODES[index] for index in indexes)


def _join(parts: dict[str, str]) -> str:
    return ";".join(f"{key}={value}" for key, value in parts.items())


def _days_up_to(day: int) -> str:
    return ",".join(str(d) for d in range(28, day + 1))


def _describe_period(freq: str, interval: int) -> str:
    if (freq, interval) == ("MONTHLY", 3):
        return "every quarter"
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}[freq]
    return f"every {unit}" if interval == 1 else f"every {interval} {unit}s"


def _describe_days(byday: str, interval: int) -> str:
    codes = byday.split(",")
    if byday == _WORKDAYS:
        names = "weekday"
    else:
        words = [_DAY_NAMES[_CODES.index(code[-2:])] for code in codes]
        names = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return f"every {names}" if interval == 1 else f"every {interval} weeks on {names}"


def _ordinal(day: int) -> str:
    if day == -1:
        return "last day"
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
