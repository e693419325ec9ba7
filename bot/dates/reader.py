"""Find the date and time words anywhere in a text and read them.

The text is cut into tokens; at each token every reader below tries to match a phrase (a day,
a clock time, a period of the day, an offset like "in 3 days") and the longest match wins.
Neighbouring matches (with only connectors such as "at", "um", "à", "a las" between them)
form one group: "Friday 15 March at 3pm". One group gives the reading; its words, with the
connectors before it ("due", "bis", "le", "el"), leave the title.

Never a silent guess: a group that reads two ways ("05/06" with no date order, "next Friday"
said in the same week), two groups that disagree, or date-like words that can't be read
("31 Feb", "25:99") become a question with a choice per reading and a "no date" choice.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from bot.dates.model import Choice, Context, Found, Reading
from bot.dates.words import Vocab, fold, vocab_for

MIN_YEAR, MAX_YEAR = 1970, 2100
MAX_GROUPS = 4
EOD = (17, 0)
PERIOD_TIMES = {"morning": 9, "afternoon": 15, "evening": 18, "night": 20, "noon": 12}
_AMBIGUOUS_NEXT = frozenset(
    {"next", "nachsten", "nachste", "nachster", "prochain", "prochaine", "proximo", "proxima"}
)
_TOKEN_RE = re.compile(r"[\w@'’][\w'’./:º°ª-]*")
_AMPM_RE = re.compile(r"(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?P<ap>am|pm|a|p)")
_HHMM_RE = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})")
_FR_H_RE = re.compile(r"(?P<h>\d{1,2})(?:h|uhr)(?P<m>\d{2})?")
_ISH_RE = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?:ish|-ish)")
_ISO_RE = re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})")
_DOTS_RE = re.compile(r"(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?P<c>\d{2}|\d{4})?")
_SLASH_RE = re.compile(r"(?P<a>\d{1,2})(?P<s>[/-])(?P<b>\d{1,2})(?:(?P=s)(?P<c>\d{2}|\d{4}))?")
_DAYNUM_RE = re.compile(r"(?P<d>\d{1,2})(?P<suf>st|nd|rd|th|er|re|ten|te|e|o|a|\.)?")
_RANGE_RE = re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)?[-–](?:\d{1,2})(?:st|nd|rd|th)?")
_YEAR_RE = re.compile(r"(?:'|’)?(?P<y>\d{4}|\d{2})")
_NUM_RE = re.compile(r"\d{1,4}")
_COMPACT = {
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
    "wk": "weeks",
}
_COMPACT_RE = re.compile(r"(?P<n>\d{1,4})(?P<u>min|m|h|d|wk|w)")
_DATELIKE_RE = re.compile(r"\d{1,4}[./-]\d{1,2}(?:[./-]\d{0,4})?|\d{1,2}:\d{1,2}|\d{1,2}(?:am|pm)")


@dataclass(frozen=True)
class Token:
    raw: str
    start: int
    end: int
    norm: str  # folded, without a trailing dot
    dot: bool  # the word ended with a dot ("Mo.", "janv.", "15.")
    possessive: bool = False  # "Monday's": asked about, and the word stays in the title


@dataclass(frozen=True)
class Part:
    """What a matched phrase says; a group merges its parts."""

    days: tuple[date, ...] = ()
    weekday: int | None = None  # a plain weekday ("friday"): a date beside it must agree
    hour: int | None = None
    minute: int = 0
    pm: bool | None = None  # said am (False) / pm (True)
    flexible: bool = False  # "at 9", "halb fünf": the hour in business hours
    period: str | None = None
    moment: datetime | None = None
    bad: str | None = None  # date-like but unreadable: why


@dataclass(frozen=True)
class Hit:
    start: int  # token index
    end: int  # token index after the phrase
    part: Part


@dataclass
class Group:
    first: int
    last: int
    hits: list[Hit] = field(default_factory=list)


Reader = Callable[["Scan", int], "Hit | None"]


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN_RE.finditer(text):
        raw = match[0].rstrip("-'’")
        if not raw:
            continue
        norm = fold(raw)
        norm = norm.replace("a.m.", "am").replace("p.m.", "pm").replace("a.m", "am")
        norm = norm.replace("p.m", "pm")
        dot = norm.endswith(".")
        norm = norm.rstrip(".")
        possessive = norm.endswith("'s") and len(norm) > 3
        if possessive:
            norm = norm[:-2]  # "Monday's pitch": a day, but its word belongs to the title
        at = match.start()
        for elision, meaning in (("l'", "le"), ("d'", "de"), ("qu'", "que")):
            if norm.startswith(elision) and norm != "d'ici" and len(norm) > len(elision) + 1:
                cut = len(elision)
                tokens.append(Token(raw[:cut], at, at + cut, meaning, False))
                raw, norm, at = raw[cut:], norm[cut:], at + cut
                break
        tokens.append(Token(raw, at, at + len(raw), norm, dot, possessive))
    return tokens


@lru_cache(maxsize=16)
def _vocab(languages: tuple[str, ...]) -> Vocab:
    return vocab_for(languages)


class Scan:
    """The tokens of one text, read in one context."""

    def __init__(self, text: str, ctx: Context) -> None:
        self.text = text
        self.ctx = ctx
        self.v = _vocab(ctx.languages)
        self.toks = tokenize(text)
        self.n = [t.norm for t in self.toks]

    def at(self, i: int) -> str:
        return self.n[i] if 0 <= i < len(self.n) else ""

    def two(self, i: int) -> str:
        return f"{self.at(i)} {self.at(i + 1)}".strip()

    # --- small helpers --------------------------------------------------------------------

    def number(self, i: int) -> int | None:
        word = self.at(i)
        if _NUM_RE.fullmatch(word):
            return int(word)
        return self.v.numbers.get(word)

    def skip_fillers(self, i: int, limit: int = 2) -> int:
        while limit and self.at(i) in self.v.fillers:
            i, limit = i + 1, limit - 1
        return i

    def month_at(self, i: int) -> int | None:
        word = self.at(i)
        month = self.v.months.get(word)
        if month is None:
            return None
        if word == "may" and not self.toks[i].raw[:1].isupper() and self.at(i - 1) != "of":
            return month if _DAYNUM_RE.fullmatch(self.at(i + 1)) else None
        return month

    def year_at(self, i: int) -> int | None:
        match = _YEAR_RE.fullmatch(self.at(i))
        if match is None:
            return None
        return expand_year(match["y"], self.ctx.today)


def expand_year(text: str, today: date) -> int:
    """A four-digit year as is; two digits to the century that puts it at most 20 years ahead."""
    year = int(text)
    if len(text) == 4:
        return year
    full = today.year // 100 * 100 + year
    return full - 100 if full > today.year + 20 else full


def safe_date(year: int, month: int, day: int) -> date | None:
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return None
    return date(year, month, day)


def next_month_day(today: date, month: int, day: int) -> date | None:
    """The next `day` of `month` from today on (Feb 29: the next leap year)."""
    for year in range(today.year, today.year + 9):
        found = safe_date(year, month, day)
        if found and found >= today:
            return found
    return None


def _bad(start: int, end: int, why: str) -> Hit:
    return Hit(start, end, Part(bad=why))


def _year_check(start: int, end: int, year: int, day: date | None) -> Hit | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return _bad(start, end, f"the year {year} is out of range")
    return None if day else _bad(start, end, "that day does not exist")


# --- days ---------------------------------------------------------------------------------


def read_named_day(s: Scan, i: int) -> Hit | None:
    """today, tomorrow, übermorgen, après-demain, pasado mañana, the day after tomorrow."""
    two, word = s.two(i), s.at(i)
    if " " in two and two in s.v.days:
        return Hit(i, i + 2, Part(days=(s.ctx.today + timedelta(days=s.v.days[two]),)))
    if s.n[i : i + 3] == ["day", "after", "tomorrow"]:
        return Hit(i, i + 3, Part(days=(s.ctx.today + timedelta(days=2),)))
    if word not in s.v.days:
        return None
    if word == "manana" and s.at(i - 1) in ("la", "por"):
        return None  # "por la mañana": the morning
    part = Part(days=(s.ctx.today + timedelta(days=s.v.days[word]),))
    if word == "tonight":
        part = replace(part, period="night")
    return Hit(i, i + 1, part)


def _weekday_of(s: Scan, i: int) -> int | None:
    word, tok = s.at(i), s.toks[i] if i < len(s.toks) else None
    if word in s.v.weekdays:
        return s.v.weekdays[word]
    if tok is None or word not in s.v.weekday_abbr:
        return None
    before = s.at(i - 1)
    clear = (
        before in s.v.connectors
        or before in s.v.next_words | s.v.this_words | s.v.last_words
        or (tok.dot and tok.raw[:1].isupper())
        or (tok.dot and len(word) >= 3)
        or (tok.dot and len(s.toks) <= 2)  # "do." alone: the whole text is the day
        or bool(re.fullmatch(r"\d{1,2}\.?", s.at(i + 1)))  # "jue 15"
    )
    return s.v.weekday_abbr[word] if clear else None


def read_weekday(s: Scan, i: int) -> Hit | None:
    """[next|this|last] Friday [next week|prochain|que viene|pasado]."""
    start, mod = i, ""
    if s.at(i) in s.v.next_words | s.v.this_words | s.v.last_words | {"ubernachsten"}:
        mod, i = s.at(i), i + 1
    wd = _weekday_of(s, i) if i < len(s.toks) else None
    if wd is None or (
        not mod and s.at(i - 1) in ("the", "a", "an", "der", "die", "das", "un", "une")
    ):
        return None  # "the Monday club"
    end = i + 1
    today = s.ctx.today
    monday = today - timedelta(days=today.weekday())
    after = s.at(end)
    week_after = _week_words(s, end)
    if week_after:
        shift, end = week_after
        return Hit(start, end, Part(days=(monday + timedelta(days=7 * shift + wd),)))
    if not mod and (s.two(end) in s.v.after_next or after in s.v.after_next):
        mod, end = "next", end + (2 if s.two(end) in s.v.after_next else 1)
    elif not mod and after in s.v.last_words:
        mod, end = "last", end + 1
    ahead = (wd - today.weekday()) % 7
    if mod in s.v.last_words or mod == "last":
        back = (today.weekday() - wd) % 7 or 7
        return Hit(start, end, Part(days=(today - timedelta(days=back),)))
    if mod == "ubernachsten":  # the one after the coming one
        return Hit(start, end, Part(days=(today + timedelta(days=(ahead or 7) + 7),)))
    if mod in s.v.next_words or mod == "next":
        if ahead == 0:
            return Hit(start, end, Part(days=(today + timedelta(days=7),)))
        coming = today + timedelta(days=ahead)
        if mod in _AMBIGUOUS_NEXT and coming < monday + timedelta(days=7):
            return Hit(start, end, Part(days=(coming, coming + timedelta(days=7))))
        return Hit(start, end, Part(days=(coming,)))
    if not mod and ahead == 0:  # "friday" said on a Friday: today, or a week from now
        return Hit(start, end, Part(days=(today, today + timedelta(days=7)), weekday=wd))
    return Hit(start, end, Part(days=(today + timedelta(days=ahead),), weekday=None if mod else wd))


def _week_words(s: Scan, i: int) -> tuple[int, int] | None:
    """ "next week", "nächste Woche", "la semaine prochaine", "de la semana que viene" at i."""
    j = s.skip_fillers(i, 3)
    word = s.at(j)
    if word in s.v.next_words and s.at(j + 1) in s.v.week:
        return 1, j + 2
    if word in s.v.this_words and s.at(j + 1) in s.v.week:
        return 0, j + 2
    if word in s.v.week:
        if s.two(j + 1) in s.v.after_next:
            return 1, j + 3
        if s.at(j + 1) in s.v.after_next or s.at(j + 1) in s.v.next_words:
            return 1, j + 2
    return None


def read_month_day(s: Scan, i: int) -> Hit | None:
    """Jan 31, 31 Jan, 31st of January 2027, 15. Januar, le 1er mars, el 15 de marzo de 2027."""
    month = s.month_at(i)
    if month is not None and (span := _RANGE_RE.fullmatch(s.at(i + 1))):
        return _finish_date(s, i, i + 2, int(span["d"]), month)  # "Apr 6-7": from the 6th
    if month is not None and s.v.ordinals.get(s.at(i + 1), 0) > 0:  # "March first"
        return _finish_date(s, i, i + 2, s.v.ordinals[s.at(i + 1)], month)
    if month is not None:
        day_match = _DAYNUM_RE.fullmatch(s.at(i + 1))
        if day_match is None or (len(s.at(i + 1)) == 4 and s.at(i + 1).isdigit()):
            year = s.year_at(i + 1)
            if year is None or len(s.at(i + 1)) != 4:
                return None
            found = safe_date(year, month, 1) if MIN_YEAR <= year <= MAX_YEAR else None
            return _year_check(i, i + 2, year, found) or Hit(i, i + 2, Part(days=(found,)))  # type: ignore[arg-type]
        return _finish_date(s, i, i + 2, int(day_match["d"]), month)
    day_match = _DAYNUM_RE.fullmatch(s.at(i))
    if day_match is None:
        nth = s.v.ordinals.get(s.at(i), 0)
        if not nth and s.at(i + 1) in ("de", "of") and s.v.numbers.get(s.at(i), 0) > 1:
            nth = s.v.numbers[s.at(i)]  # "el cinco de mayo"
        day_match = _DAYNUM_RE.fullmatch(str(nth)) if nth > 0 else None  # "first of March"
        if day_match is None:
            return None
    j = i + 1
    if s.at(j) == "day" and s.at(j + 1) == "of":
        j += 1
    if s.at(j) in ("of", "de"):
        j += 1
    month = s.month_at(j)
    if month is None:
        return None
    after = s.at(j + 1)
    if after.isdigit() and int(after) <= 31 and i > 0 and s.at(i - 1) not in s.v.connectors:
        return None  # "Task 1 Nov 26 9am": the 1 is the title's, the date is Nov 26
    return _finish_date(s, i, j + 1, int(day_match["d"]), month)


def _finish_date(s: Scan, start: int, end: int, day: int, month: int) -> Hit:
    j = end + 1 if s.at(end) in ("de", "del", ",") else end
    year = s.year_at(j)
    if year is not None and (len(s.at(j)) == 4 or s.at(j).startswith("'")):
        found = safe_date(year, month, day) if MIN_YEAR <= year <= MAX_YEAR else None
        return _year_check(start, j + 1, year, found) or Hit(start, j + 1, Part(days=(found,)))  # type: ignore[arg-type]
    found = next_month_day(s.ctx.today, month, day)
    if found is None:
        return _bad(start, end, "that day does not exist")
    return Hit(start, end, Part(days=(found,)))


def read_numeric(s: Scan, i: int) -> Hit | None:
    """2027-03-15, 15.03., 15.03.2027, 2/15, 05/06, 10/31/74: in the business's date order."""
    word, tok = s.at(i), s.toks[i]
    if match := _ISO_RE.fullmatch(word):
        y, m, d = int(match["y"]), int(match["m"]), int(match["d"])
        return _year_check(
            i, i + 1, y, safe_date(y, m, d) if MIN_YEAR <= y <= MAX_YEAR else None
        ) or Hit(i, i + 1, Part(days=(date(y, m, d),)))
    if (match := _DOTS_RE.fullmatch(word + ("." if tok.dot else ""))) and (match["c"] or tok.dot):
        if s.at(i + 1) in s.v.hours_words and not match["c"]:
            return None  # "15.30 Uhr": a time
        return _dated(s, i, [(int(match["a"]), int(match["b"]))], match["c"])
    match = _SLASH_RE.fullmatch(word)
    if match is None:
        return None
    a, b = int(match["a"]), int(match["b"])
    order = s.ctx.order
    if order == "YMD" and match["c"] is None:
        order = "MDY"
    if order == "DMY":
        pairs = [(a, b), (b, a)]
    elif order == "MDY":
        pairs = [(b, a), (a, b)]
    else:
        pairs = [(a, b), (b, a)]
    return _dated(s, i, pairs, match["c"], prefer_first=order is not None)


def _dated(
    s: Scan,
    i: int,
    pairs: list[tuple[int, int]],
    year_text: str | None,
    *,
    prefer_first: bool = True,
) -> Hit:
    """(day, month) readings in order of preference: the first valid one, or both if unsure."""
    year = expand_year(year_text, s.ctx.today) if year_text else None
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        return _bad(i, i + 1, f"the year {year} is out of range")
    found: list[date] = []
    for day, month in dict.fromkeys(pairs):
        one = safe_date(year, month, day) if year else next_month_day(s.ctx.today, month, day)
        if one and one not in found:
            found.append(one)
    if not found:
        return _bad(i, i + 1, "that day does not exist")
    return Hit(i, i + 1, Part(days=tuple(found[:1] if prefer_first else found)))


def read_ordinal_day(s: Scan, i: int) -> Hit | None:
    """the 15th, on the 1st, am 15., le 15, el 15: the next such day of a month."""
    match = _DAYNUM_RE.fullmatch(s.at(i))
    if match is None or not 1 <= int(match["d"]) <= 31:
        return None
    before, suffix, tok = s.at(i - 1), match["suf"], s.toks[i]
    ordinal = bool(suffix) or tok.dot
    if suffix == "." or tok.dot:
        clear = before in ("am", "zum", "bis", "ab", "vom")
    elif ordinal:
        clear = before in ("the", "on", "by", "due") or before in s.v.connectors
        clear = clear or before in s.v.weekdays  # "Tuesday 19th"
    else:
        after_day = before in s.v.weekdays or before in s.v.weekday_abbr
        clear = (before in ("le", "el") or after_day) and s.at(i + 1) not in s.v.units
    if not clear:
        return None
    day = int(match["d"])
    today = s.ctx.today
    start = i - 1 if before == "the" else i
    if s.n[i + 1 : i + 4] == ["of", "next", "month"]:
        nxt = date(today.year, today.month, 1) + relativedelta(months=1)
        found = safe_date(nxt.year, nxt.month, day)
        return (
            Hit(start, i + 4, Part(days=(found,))) if found else _bad(start, i + 4, "no such day")
        )
    end = i + 3 if s.n[i + 1 : i + 3] == ["of", "month"] else i + 1
    end = i + 4 if s.n[i + 1 : i + 4] == ["of", "the", "month"] else end
    for ahead in range(13):
        first = date(today.year, today.month, 1) + relativedelta(months=ahead)
        found = safe_date(first.year, first.month, day)
        if found and found >= today:
            return Hit(start, end, Part(days=(found,)))
    return None


def read_offset(s: Scan, i: int) -> Hit | None:
    """in 3 days, in 2 business days, 3 days from now, in einer Woche, dans 3 jours ouvrés."""
    start = i
    if s.two(i) in s.v.in_words:
        i += 2
    elif s.at(i) in s.v.in_words:
        i += 1
    elif not _NUM_RE.fullmatch(s.at(i)):
        return None
    compact = _COMPACT_RE.fullmatch(s.at(i))
    if compact and start != i:
        return Hit(
            start, i + 1, _offset_part(s.ctx, int(compact["n"]), _COMPACT[compact["u"]], False)
        )
    count = s.number(i)
    if count is None and s.at(i) in s.v.units:
        count, i = 1, i - 1  # "in a week" without the article? ("dans semaine" is not French)
        return None
    if count is None:
        return None
    j = i + 1
    business = False
    if s.at(j) in s.v.business:
        business, j = True, j + 1
    unit_of = s.v.units.get(s.at(j))
    if unit_of is None:
        return None
    unit: str = unit_of
    j += 1
    if s.at(j) in s.v.business or s.two(j) in ("de trabajo",):
        business, j = True, j + (2 if s.two(j) == "de trabajo" else 1)
    if unit == "bdays":
        business, unit = True, "days"
    if start == i and s.two(j) not in s.v.from_now and s.at(j) not in s.v.from_now:
        return None  # a bare "3 days" is only a date in /snooze (see read_when)
    if start == i:
        j += 2 if s.two(j) in s.v.from_now else 1
    if s.at(j) == "time" and s.at(j - 1).endswith("s'"):
        j += 1
    return Hit(start, j, _offset_part(s.ctx, count, unit, business))


def _offset_part(ctx: Context, count: int, unit: str, business: bool) -> Part:
    if count > 5000:
        return Part(bad="that is too far ahead")
    if business and unit == "days":
        return Part(days=(ctx.business.add_business_days(ctx.today, count),))
    if unit in ("minutes", "hours"):
        return Part(moment=ctx.now + timedelta(**{unit: count}))
    step = {"days": relativedelta(days=1), "weeks": relativedelta(weeks=1),
            "fortnights": relativedelta(weeks=2), "months": relativedelta(months=1),
            "years": relativedelta(years=1)}[unit]  # fmt: skip
    target = ctx.today + step * count
    if not MIN_YEAR <= target.year <= MAX_YEAR:
        return Part(bad="that is too far ahead")
    return Part(days=(target,))


def read_next_period(s: Scan, i: int) -> Hit | None:
    """next week / month / year, nächste Woche, le mois prochain, la semana que viene, weekend."""
    today = s.ctx.today
    word = s.at(i)
    j = i
    mod = None
    if word in s.v.next_words | s.v.this_words:
        mod, j = word, i + 1
    j2 = s.skip_fillers(j, 1) if mod is None else j
    three = " ".join(s.n[j2 : j2 + 3])
    unit_word = three if three in s.v.weekend else s.at(j2)
    end = j2 + len(unit_word.split())
    if mod is None:
        if s.two(end) in s.v.after_next:
            mod, end = "next", end + 2
        elif s.at(end) in s.v.after_next:
            mod, end = "next", end + 1
    if unit_word in s.v.weekend:
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today
        if mod in s.v.next_words or mod == "next":
            saturday = today - timedelta(days=today.weekday()) + timedelta(days=12)
        elif mod is None and s.at(i - 1) not in (
            "am",
            "this",
            "ce",
            "este",
            "le",
            "el",
            "on",
            "over",
        ):
            return None
        return Hit(i, end, Part(days=(saturday,)))
    unit = s.v.units.get(unit_word)
    if mod is None or unit not in ("weeks", "months", "years"):
        return None
    if mod in s.v.this_words:
        return None
    step = {"weeks": relativedelta(weeks=1), "months": relativedelta(months=1),
            "years": relativedelta(years=1)}[unit]  # fmt: skip
    return Hit(i, end, Part(days=(today + step,)))


def read_end_of(s: Scan, i: int) -> Hit | None:
    """end of month / quarter / year / week, EOM, Monatsende, fin du mois, fin de mes; EOD, COB."""
    today = s.ctx.today
    word = s.at(i)
    single = {"eow": "weeks", "eom": "months", "eoq": "quarters", "eoy": "years",
              "monatsende": "months", "jahresende": "years", "quartalsende": "quarters",
              "wochenende": ""}  # fmt: skip
    if word in ("eod", "cob", "eob", "feierabend"):
        return Hit(i, i + 1, Part(hour=EOD[0], minute=EOD[1]))
    if s.n[i : i + 3] in (
        ["end", "of", "day"],
        ["close", "of", "business"],
        ["end", "of", "business"],
    ):
        return Hit(i, i + 3, Part(hour=EOD[0], minute=EOD[1]))
    if s.n[i : i + 3] in (["fin", "de", "journee"], ["fin", "del", "dia"]):
        return Hit(i, i + 3, Part(hour=EOD[0], minute=EOD[1]))
    if single.get(word):
        return Hit(i, i + 1, Part(days=(_period_end(s, single[word], today),)))
    if word not in s.v.end:
        return None
    j = s.skip_fillers(i + 1, 3)
    shift = 0
    if s.at(j) in s.v.next_words:
        shift, j = 1, j + 1
    elif s.at(j) in s.v.this_words:
        j += 1
    target = s.at(j)
    month = s.month_at(j)
    if month is not None:
        year = today.year + (1 if month < today.month else 0)
        return Hit(i, j + 1, Part(days=(date(year, month, calendar.monthrange(year, month)[1]),)))
    unit = s.v.units.get(target) or {"quarter": "quarters", "quartal": "quarters",
                                      "quartals": "quarters", "trimestre": "quarters",
                                      "monats": "months", "jahres": "years",
                                      "annee": "years"}.get(target)  # fmt: skip
    if unit not in ("weeks", "months", "years", "quarters"):
        return None
    end = j + 1
    if s.at(end) in s.v.after_next:
        shift, end = 1, end + 1
    base = today
    if shift:
        base = today + {"weeks": relativedelta(weeks=1), "months": relativedelta(months=1),
                        "quarters": relativedelta(months=3),
                        "years": relativedelta(years=1)}[unit]  # fmt: skip
    return Hit(i, end, Part(days=(_period_end(s, unit, base),)))


def _period_end(s: Scan, unit: str, base: date) -> date:
    if unit == "weeks":
        return s.ctx.business.end_of_week(base)
    month = {"months": base.month, "quarters": (base.month + 2) // 3 * 3, "years": 12}[unit]
    return date(base.year, month, calendar.monthrange(base.year, month)[1])


def read_nth(s: Scan, i: int) -> Hit | None:
    """first Monday of March, last business day of the month, 3rd working day of next month."""
    start = i
    if s.at(i) in ("the", "le", "el", "la", "der", "den", "am"):
        i += 1
    nth = s.v.ordinals.get(s.at(i))
    if nth is None:
        match = _DAYNUM_RE.fullmatch(s.at(i))
        if match is None or not match["suf"]:
            return None
        nth = int(match["d"])
    j = i + 1
    weekday = _weekday_of(s, j) if j < len(s.toks) else None
    if weekday is not None:
        j += 1
    elif s.at(j) in s.v.business and s.at(j + 1) in ("day", "days"):
        j += 2
    elif s.at(j) in ("werktag", "arbeitstag", "werktags"):
        j += 1
    elif s.at(j) in ("jour", "dia") and s.at(j + 1) in s.v.business:
        j += 2
    else:
        return None
    if s.at(j) not in ("of", "in", "im", "des", "de", "du", "del", "this", "next"):
        return None
    if s.at(j) not in ("this", "next"):
        j += 1
    j = s.skip_fillers(j, 2)
    today = s.ctx.today
    months: list[tuple[int, int]]
    month = s.month_at(j)
    if month is not None:
        year = s.year_at(j + 1)
        if year is not None and len(s.at(j + 1)) == 4:
            months, end = [(year, month)], j + 2
        else:
            y = today.year
            months, end = [(y, month), (y + 1, month)], j + 1
    elif s.at(j) in s.v.next_words and s.v.units.get(s.at(j + 1)) == "months":
        nxt = today + relativedelta(months=1)
        months, end = [(nxt.year, nxt.month)], j + 2
    elif s.v.units.get(s.at(j)) == "months" or s.at(j) == "monats":
        end = j + 1
        if s.at(end) in s.v.after_next:
            nxt = today + relativedelta(months=1)
            months, end = [(nxt.year, nxt.month)], end + 1
        else:
            later = today + relativedelta(months=1)
            months = [(today.year, today.month), (later.year, later.month)]
    elif s.at(j) in s.v.this_words and s.v.units.get(s.at(j + 1)) == "months":
        later = today + relativedelta(months=1)
        months, end = [(today.year, today.month), (later.year, later.month)], j + 2
    else:
        return None
    for year, mon in months:
        found = _nth_in(s, year, mon, nth, weekday)
        if found and found >= today:
            return Hit(start, end, Part(days=(found,)))
    return _bad(start, end, "that day does not exist")


def _nth_in(s: Scan, year: int, month: int, nth: int, weekday: int | None) -> date | None:
    if weekday is None:
        return s.ctx.business.nth_business_day(year, month, nth)
    days = [d for d in calendar.Calendar().itermonthdates(year, month)
            if d.month == month and d.weekday() == weekday]  # fmt: skip
    if nth == -1:
        return days[-1]
    return days[nth - 1] if 0 < nth <= len(days) else None


# --- times --------------------------------------------------------------------------------


def read_clock(s: Scan, i: int) -> Hit | None:
    """3pm, 3:20 pm, 15:30, 15h20, 15 Uhr, 9ish, at 9, um 9, à 9h, a las 3 y media."""
    start = i
    lead = False
    while s.at(i) in s.v.time_connectors or s.at(i) in s.v.approx:
        i, lead = i + 1, True
        if i - start > 3:
            return None
    word = s.at(i)
    end = i + 1
    if match := _AMPM_RE.fullmatch(word):
        return _clock(start, end, int(match["h"]), int(match["m"] or 0), match["ap"][0] == "p")
    if (match := _HHMM_RE.fullmatch(word)) or (
        (match := re.fullmatch(r"(?P<h>\d{1,2})\.(?P<m>\d{2})", word))
        and s.at(end) in s.v.hours_words
    ):
        h, m = int(match["h"]), int(match["m"])
        end += 1 if s.at(end) in s.v.hours_words else 0
        return _with_ampm(s, start, end, h, m, flexible=(h <= 12 and lead) or 1 <= h < 8)
    if match := _FR_H_RE.fullmatch(word):
        h, m = int(match["h"]), int(match["m"] or 0)
        return _clock_fr(s, start, end, h, m)
    if match := _ISH_RE.fullmatch(word):
        return _with_ampm(s, start, end, int(match["h"]), int(match["m"] or 0), flexible=True)
    hour = s.number(i) if word and (word.isdigit() or word in s.v.numbers) else None
    if hour is None:
        return None
    if s.at(end) in s.v.hours_words:  # 15 Uhr, 3 heures, 3 o'clock
        end += 1
        if extra := _minutes_after(s, end):
            return _with_ampm(s, start, extra[1], hour, extra[0], flexible=hour <= 12)
        return _with_ampm(s, start, end, hour, 0, flexible=hour <= 12)
    if s.at(end) in ("pm", "am") or (
        s.at(end) in ("p", "a") and end < len(s.toks) and s.toks[end].dot
    ):
        return _clock(start, end + 1, hour, 0, s.at(end).startswith("p"))
    if s.at(end) in ("ish",):
        return _with_ampm(s, start, end + 1, hour, 0, flexible=True)
    if not lead and 1 <= hour <= 12 and _period_follows(s, end):
        return _with_ampm(s, start, end, hour, 0, flexible=True)  # "8 tonight"
    if not lead or not 0 <= hour <= 23:
        return None
    after = s.at(end)
    if after in s.v.units or after in s.v.months:
        return None
    if after and not after.isdigit() and _DAYNUM_RE.fullmatch(after):
        return None  # "at 3 15th"
    if extra := _minutes_after(s, end):
        return _with_ampm(s, start, extra[1], hour, extra[0], flexible=hour <= 12)
    return _with_ampm(s, start, end, hour, 0, flexible=hour <= 12)


def _period_follows(s: Scan, i: int) -> bool:
    """ "tonight", "this evening", "in the morning", "heute Abend", "ce soir" at i."""
    if s.at(i) == "tonight":
        return True
    if s.at(i) in s.v.this_words | {"heute", "cet"}:
        return s.at(i + 1) in s.v.periods
    if s.at(i) in ("de", "del", "du") and s.at(i + 1) in ("la", "le"):
        return s.at(i + 2) in s.v.periods  # "6 de la mañana"
    if s.at(i) in ("du", "del"):
        return s.at(i + 1) in s.v.periods  # "6h du soir"
    return s.at(i) == "in" and s.at(i + 1) == "the" and s.at(i + 2) in s.v.periods


def _minutes_after(s: Scan, i: int) -> tuple[int, int] | None:
    """ "et quart", "et demie", "y media", "y cuarto", "moins le quart", "menos cuarto", "30"."""
    two, three = s.two(i), " ".join(s.n[i : i + 3])
    if two in ("et quart", "y cuarto"):
        return 15, i + 2
    if two in ("et demie", "et demi", "y media"):
        return 30, i + 2
    if three == "moins le quart":
        return -15, i + 3
    if two == "menos cuarto":
        return -15, i + 2
    if re.fullmatch(r"\d{2}", s.at(i)) and int(s.at(i)) < 60:
        return int(s.at(i)), i + 1
    return None


def _clock(start: int, end: int, h: int, m: int, pm: bool) -> Hit:
    if not (1 <= h <= 12 and 0 <= m < 60):
        return _bad(start, end, "that time does not exist")
    return Hit(start, end, Part(hour=h % 12 + (12 if pm else 0), minute=m, pm=pm))


def _with_ampm(s: Scan, start: int, end: int, h: int, m: int, *, flexible: bool) -> Hit:
    if m < 0:
        h, m = h - 1, 60 + m
    if s.at(end) in ("am", "pm"):
        return _clock(start, end + 1, h, m, s.at(end) == "pm")
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        return _bad(start, end, "that time does not exist")
    return Hit(start, end, Part(hour=h % 24, minute=m, flexible=flexible and 1 <= h <= 12))


def _clock_fr(s: Scan, start: int, end: int, h: int, m: int) -> Hit:
    if m == 0 and (extra := _minutes_after(s, end)) and not s.at(end).isdigit():
        return _with_ampm(s, start, extra[1], h, extra[0], flexible=h <= 12)
    return _with_ampm(s, start, end, h, m, flexible=False)


def read_spoken_clock(s: Scan, i: int) -> Hit | None:
    """quarter past 3, half past 4, quarter to 5, Viertel nach 3, halb fünf, a quarter past 3pm."""
    start = i
    while s.at(i) in s.v.time_connectors or s.at(i) in s.v.approx:
        i += 1
    if s.at(i) == "a" and s.at(i + 1) == "quarter":
        i += 1
    word = s.at(i)
    if word in ("quarter", "half", "viertel") and s.at(i + 1) in (
        "past",
        "after",
        "to",
        "nach",
        "vor",
        "before",
        "til",
        "till",
    ):
        minutes = 15 if word in ("quarter", "viertel") else 30
        if s.at(i + 1) in ("to", "vor", "before", "til", "till"):
            minutes = -minutes
        hour = s.number(i + 2)
        ampm = _AMPM_RE.fullmatch(s.at(i + 2))
        if hour is None and ampm and not ampm["m"]:
            hour = int(ampm["h"])
        if hour is None or not 0 <= hour <= 24:
            return None
        h, m = (hour, minutes) if minutes > 0 else (hour - 1, 60 + minutes)
        if ampm and not ampm["m"]:
            return _clock(start, i + 3, h, m, ampm["ap"][0] == "p")
        return _with_ampm(s, start, i + 3, h, m, flexible=True)
    if word == "halb":
        hour = s.number(i + 1)
        if hour is None or not 1 <= hour <= 24:
            return None
        return _with_ampm(s, start, i + 2, hour - 1 if hour > 1 else 12, 30, flexible=True)
    if word in ("las", "la") and s.at(i - 1) == "a" and start == i:
        return None
    return None


def read_period(s: Scan, i: int) -> Hit | None:
    """this afternoon, in the morning, tonight, heute Abend, ce soir, esta noche, noon, Mittag."""
    start = i
    day: tuple[date, ...] = ()
    word = s.at(i)
    if word in s.v.this_words | {"cet", "heute"}:
        day, i = (s.ctx.today,), i + 1
    elif word in ("in", "am", "le", "en", "por", "de", "dans", "au") and s.at(i + 1) in (
        "the",
        "la",
        "le",
    ):
        i += 2
    elif word in (
        "in",
        "am",
        "le",
        "en",
        "por",
        "de",
        "dans",
        "au",
        "at",
        "a",
        "al",
        "um",
        "gegen",
    ):
        i += 1
    word = s.at(i)
    alone = start == i and word not in s.v.clock_words and word != "tonight"
    noon_said = s.v.periods.get(word) == "noon" and (
        len(s.toks) <= 2 or _minutes_after(s, i + 1) is not None  # "midi", "midi et quart"
    )
    if alone and not noon_said and s.at(i - 1) not in s.v.days | s.v.weekdays.keys():
        return None  # "morning", "lunch" alone are title words; "Friday night" is a time
    if word in s.v.clock_words:
        h, m = s.v.clock_words[word]
        return Hit(start, i + 1, Part(days=day, hour=h, minute=m))
    period = s.v.periods.get(word)
    if period is None or (word == "manana" and s.at(i - 1) not in ("la",)):
        return None
    if period == "noon":
        extra = _minutes_after(s, i + 1)
        if extra and extra[0] > 0:
            return Hit(start, extra[1], Part(days=day, hour=12, minute=extra[0]))
        return Hit(start, i + 1, Part(days=day, hour=12, minute=0))
    return Hit(start, i + 1, Part(days=day, period=period))


READERS: tuple[Reader, ...] = (
    read_named_day,
    read_weekday,
    read_month_day,
    read_numeric,
    read_ordinal_day,
    read_offset,
    read_next_period,
    read_end_of,
    read_nth,
    read_clock,
    read_spoken_clock,
    read_period,
)


# --- the whole text -----------------------------------------------------------------------


def find_hits(s: Scan) -> list[Hit]:
    hits: list[Hit] = []
    i = 0
    while i < len(s.toks):
        best: Hit | None = None
        for reader in READERS:
            hit = reader(s, i)
            if hit and hit.end > hit.start and (best is None or hit.end > best.end):
                best = hit
        if best is None:
            i += 1
            continue
        best = replace(best, end=min(best.end, len(s.toks)))
        hits.append(best)
        i = best.end
    return hits


def _glue(s: Scan, a: int, b: int) -> bool:
    """Only connectors (or nothing) between token a and token b."""
    between = s.n[a:b]
    allowed = (
        s.v.connectors | s.v.time_connectors | s.v.fillers | {"and", "at", "um", "y", "et", "und"}
    )
    return len(between) <= 3 and all(w in allowed for w in between)


def group_hits(s: Scan, hits: list[Hit]) -> list[Group]:
    groups: list[Group] = []
    for hit in hits:
        if groups and _glue(s, groups[-1].last, hit.start):
            groups[-1].hits.append(hit)
            groups[-1].last = hit.end
        else:
            groups.append(Group(hit.start, hit.end, [hit]))
    return groups


def _lead(s: Scan, first: int) -> int:
    """Connectors right before a group go with it ("due", "bis zum", "el", "le")."""
    lead = s.v.connectors | s.v.time_connectors | {"the", "el", "le", "la", "der", "den", "on"}
    if s.at(first) in s.v.days and s.at(first - 1) == "on":
        return first  # "Turn the lights on tomorrow"
    while first > 0 and s.at(first - 1) in lead:
        if s.toks[first - 1].raw.lower() == "a":
            break  # the English article; "à" (French) does go with the date
        first -= 1
    return first


def readings_of(s: Scan, group: Group) -> tuple[list[Reading], str | None]:
    """The readings of a group, or the reason it can't be read."""
    parts = [hit.part for hit in group.hits]
    for part in parts:
        if part.bad:
            return [], part.bad
    moments = [p.moment for p in parts if p.moment]
    if moments:
        return ([Reading(moments[0], True)], None) if len(parts) == 1 else ([], "two dates in one")
    days = _merge_days(parts)
    if not days and sum(1 for p in parts if p.days) > 1:
        return [], "two weekdays in one"
    clocks = [p for p in parts if p.hour is not None]
    periods = [p.period for p in parts if p.period]
    if len({(c.hour, c.minute) for c in clocks}) > 1:
        return [], "two times in one"
    clock = clocks[0] if clocks else None
    period = periods[0] if periods else None
    if clock is None and period is None:
        return [Reading(datetime.combine(d, time(s.ctx.default_hour)), False) for d in days], None
    at = _time_of(clock, period)
    if not days:
        moment = datetime.combine(s.ctx.today, at)
        if moment < s.ctx.now:
            moment += timedelta(days=1)
        return [Reading(moment, True)], None
    out = []
    today, week = s.ctx.today, s.ctx.today + timedelta(days=7)
    if any(p.weekday is not None for p in parts) and days == [today, week]:
        # "friday 3pm" said on a Friday: today while 3pm is ahead, else next week
        moment = datetime.combine(today, at)
        return [Reading(moment if moment >= s.ctx.now else moment + timedelta(days=7), True)], None
    for d in days:
        out.append(Reading(datetime.combine(d, at), True))
    return out, None


def _merge_days(parts: list[Part]) -> list[date]:
    sets = [p for p in parts if p.days]
    if not sets:
        return []
    if len(sets) == 1:
        return list(sets[0].days)
    plain = [p for p in sets if p.weekday is not None]
    dated = [p for p in sets if p.weekday is None]
    if len(plain) > 1:
        return []
    if plain and dated and all(len(p.days) == 1 for p in dated):
        days = {p.days[0] for p in dated}
        if len(days) == 1 and all(next(iter(days)).weekday() == p.weekday for p in plain):
            return list(days)
    found: list[date] = []
    for p in sets:
        found += [d for d in p.days if d not in found]
    return found


def _time_of(clock: Part | None, period: str | None) -> time:
    if clock is None:
        return time(PERIOD_TIMES[period or "morning"])
    hour = clock.hour or 0
    if clock.pm is None and hour < 12:
        if period in ("afternoon", "evening", "night"):
            hour += 12
        elif period is None and clock.flexible and 1 <= hour <= 7:
            hour += 12  # "at 3": 15:00, in business hours
    return time(hour, clock.minute)


def read(text: str, ctx: Context) -> Found:
    """The title and reading of a text, or a question when it reads more than one way."""
    s = Scan(text, ctx)
    groups = group_hits(s, find_hits(s))
    if not groups:
        bad = _DATELIKE_RE.search(text)
        if bad:
            return _ask(text, [], f"I couldn't read “{bad[0]}” as a date or time.", bad.span())
        typo = _misspelled(s)
        if typo is not None:
            shown = typo.raw
            return _ask(
                text, [], f"Is “{shown}” a date? I couldn't read it.", (typo.start, typo.end)
            )
        return Found(_tidy(text), None)
    if len(groups) > MAX_GROUPS:
        return Found(_tidy(text), None, question="too many")
    options: list[tuple[Reading, tuple[int, int]]] = []
    unsure = False
    for group in groups:
        span = (s.toks[_lead(s, group.first)].start, s.toks[group.last - 1].end)
        if any(t.possessive for t in s.toks[group.first : group.last]):
            unsure, span = True, (0, 0)  # "Monday's pitch": ask, and keep the words
        readings, why = readings_of(s, group)
        if why:
            shown = text[s.toks[group.first].start : span[1]]
            return _ask(text, [], f"I couldn't read “{shown}” as a date: {why}.", span)
        options += [(r, span) for r in readings]
    first_span = (min(o[1][0] for o in options), max(o[1][1] for o in options))
    distinct = list(dict.fromkeys(r for r, _ in options))
    typo = _misspelled(s)
    if typo is not None:  # "on Frdiay 3pm": the day is unread, the time alone is not the date
        question = f"I couldn't read “{typo.raw}”: is it part of the date?"
        return _ask(text, options, question, first_span)
    if len(distinct) == 1 and not unsure:
        title = text
        for span in sorted({o[1] for o in options}, reverse=True):
            title = title[: span[0]] + " " + title[span[1] :]
        words = " ".join(text[a:b] for a, b in sorted({o[1] for o in options}))
        dayless = all(
            not (hit.part.days or hit.part.moment) for group in groups for hit in group.hits
        )
        return Found(_tidy(title), distinct[0], words=words, time_only=dayless)
    words = text[first_span[0] : first_span[1]]
    if unsure:
        return _ask(text, options, "Is that the task's due date?", first_span)
    return _ask(text, options, f"Which date do you mean by “{_short(words)}”?", first_span)


def _ask(
    text: str,
    options: Sequence[tuple[Reading, tuple[int, int]]],
    question: str,
    span: tuple[int, int],
) -> Found:
    choices = [Choice(r, _tidy(text[: sp[0]] + " " + text[sp[1] :])) for r, sp in options]
    unique = list({c.reading: c for c in choices}.values())
    no_date = Choice(None, _tidy(text))
    return Found(_tidy(text), None, question=question, choices=(*unique, no_date),
                 words=text[span[0] : span[1]])  # fmt: skip


def _misspelled(s: Scan) -> Token | None:
    """A word right after "on", "by", "bis", "le" … that is nearly a weekday or month name."""
    names = [w for w in (*s.v.weekdays, *s.v.months) if len(w) >= 4]
    for i, tok in enumerate(s.toks):
        if i == 0 or s.at(i - 1) not in s.v.connectors or len(tok.norm) < 4:
            continue
        known = s.v.units.keys() | s.v.days.keys() | s.v.weekdays.keys() | s.v.months.keys()
        if not tok.norm.isalpha() or tok.norm in known:
            continue
        if any(_near(tok.norm, name) for name in names if abs(len(name) - len(tok.norm)) <= 1):
            return tok
    return None


def _near(word: str, name: str) -> bool:
    """One typo apart (a letter changed, added, dropped, or two swapped), for words of 5+."""
    if word == name or len(name) < 5:
        return False
    rows = [list(range(len(name) + 1))]
    for i, a in enumerate(word, 1):
        row = [i]
        for j, b in enumerate(name, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a != b)))
            if i > 1 and j > 1 and a == name[j - 2] and word[i - 2] == b:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1] <= 1


def _short(words: str) -> str:
    return words if len(words) <= 40 else words[:39] + "…"


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:-–—")
