"""The date reader against tests/eval/dates.jsonl: accuracy per language and class, parse time.

Each phrase is read at a fixed moment (Wednesday 2027-03-10 10:00 in Europe/Berlin, COUNTRY DE,
DATE_ORDER DMY unless the phrase says otherwise). An outcome is ``right`` (the expected reading,
or a question where one is expected), ``ask`` (a question where a reading was expected: not
wrong, not right), ``wrong`` (another reading) or ``drop`` (no date where one was expected).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.common import Row, Timings, verdict
from bot.dates import BusinessCalendar, Context, Found, read

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval" / "dates.jsonl"
NOW = datetime(2027, 3, 10, 10, 0)
LANGUAGES = ("en", "de", "fr", "es")


def load(path: Path = EVAL) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def context(case: dict[str, str]) -> Context:
    """The reading context of a case: its own "now" and "order" when it gives them."""
    order = case.get("order", "DMY")
    now = datetime.fromisoformat(case["now"]) if "now" in case else NOW
    return Context(now, LANGUAGES, order or None, BusinessCalendar(case.get("country", "DE")))


def shown(found: Found) -> str:
    if found.question:
        return "ask"
    if found.reading is None:
        return "none"
    at = found.reading.at
    return f"{at:%Y-%m-%d %H:%M}" if found.reading.has_time else f"{at:%Y-%m-%d}"


def outcome(case: dict[str, str], found: Found) -> str:
    got, want = shown(found), case["expect"]
    if got == want and ("title" not in case or found.title == case["title"]):
        return "right"
    if got == "ask":
        return "ask"
    if got == "none" and want != "none":
        return "drop"
    return "wrong"


@dataclass
class Score:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    ms: list[float] = field(default_factory=list)
    misses: list[tuple[dict[str, str], str]] = field(default_factory=list)

    def share(self, key: str, what: str = "right") -> float:
        total = sum(self.counts[key].values())
        return self.counts[key][what] / total if total else 0.0


def run(cases: list[dict[str, str]] | None = None) -> Score:
    score = Score()
    for case in cases or load():
        started = time.perf_counter()
        found = read(case["text"], context(case))
        score.ms.append((time.perf_counter() - started) * 1000)
        result = outcome(case, found)
        for key in ("all", f"lang:{case['lang']}", f"class:{case['class']}"):
            score.counts[key][result] += 1
        if result != "right":
            score.misses.append((case, f"{result}: {shown(found)} / {found.title!r}"))
    return score


if __name__ == "__main__":
    s = run()
    for case, why in s.misses:
        print(
            f"{case['lang']} {case['class']:10} {case['text']!r:50} want {case['expect']:17} {why}"
        )
    for key in sorted(s.counts):
        c = s.counts[key]
        print(
            f"{key:18} n={sum(c.values()):4} right {s.share(key):.1%} ask {s.share(key, 'ask'):.1%}"
            f" wrong {s.share(key, 'wrong'):.1%} drop {s.share(key, 'drop'):.1%}"
        )


def dateparser_share(cases: list[dict[str, str]]) -> tuple[dict[str, float], list[float]]:
    """The same set through dateparser's ``search_dates`` (first date found), for comparison."""
    from dateparser.search import search_dates

    right: dict[str, Counter[str]] = defaultdict(Counter)
    ms: list[float] = []
    for case in cases:
        if case["expect"] in ("ask", "none"):
            continue
        ctx = context(case)
        settings = {"RELATIVE_BASE": ctx.now, "PREFER_DATES_FROM": "future",
                    "DATE_ORDER": ctx.order or "DMY"}  # fmt: skip
        started = time.perf_counter()
        found = search_dates(case["text"], languages=[case["lang"]], settings=settings)  # type: ignore[arg-type]
        ms.append((time.perf_counter() - started) * 1000)
        got = found[0][1] if found else None
        want = case["expect"]
        ok = got is not None and (
            f"{got:%Y-%m-%d %H:%M}" == want if " " in want else f"{got:%Y-%m-%d}" == want
        )
        for key in ("all", f"lang:{case['lang']}"):
            right[key]["right" if ok else "other"] += 1
    return {k: c["right"] / sum(c.values()) for k, c in right.items()}, ms


def dateutil_share(cases: list[dict[str, str]]) -> dict[str, float]:
    """The same set through python-dateutil's ``parser.parse(fuzzy=True)``, for comparison."""
    from dateutil import parser

    right: dict[str, Counter[str]] = defaultdict(Counter)
    for case in cases:
        if case["expect"] in ("ask", "none"):
            continue
        ctx = context(case)
        try:
            got: datetime | None = parser.parse(
                case["text"], fuzzy=True, default=ctx.now.replace(hour=0, minute=0),
                dayfirst=ctx.order == "DMY",
            )  # fmt: skip
        except (ValueError, OverflowError):
            got = None
        want = case["expect"]
        ok = got is not None and (
            f"{got:%Y-%m-%d %H:%M}" == want if " " in want else f"{got:%Y-%m-%d}" == want
        )
        for key in ("all", f"lang:{case['lang']}"):
            right[key]["right" if ok else "other"] += 1
    return {k: c["right"] / sum(c.values()) for k, c in right.items()}


def add_parse_ms(cases: list[dict[str, str]], rounds: int = 3) -> list[float]:
    """Milliseconds of the whole /add parse (title, repeat, @name, date) per phrase."""
    from zoneinfo import ZoneInfo

    from bot.services.tasks.dates import DateParseError, parse_task_text

    tz = ZoneInfo("Europe/Berlin")
    now = NOW.replace(tzinfo=tz)
    ms: list[float] = []
    for _ in range(rounds):
        for case in cases:
            started = time.perf_counter()
            with contextlib.suppress(DateParseError):
                parse_task_text(case["text"], now, tz, context(case))
            ms.append((time.perf_counter() - started) * 1000)
    return ms


def rows() -> list[Row]:
    """Accuracy per language and class, wrong and dropped readings, parse time, and dateparser."""
    cases = load()
    score = run(cases)
    section = f"Dates: tests/eval/dates.jsonl (n={len(cases)}; read at Wed 2027-03-10 10:00)"
    out = []
    for lang, target in (("en", 0.95), ("de", 0.85), ("fr", 0.85), ("es", 0.85)):
        share = score.share(f"lang:{lang}")
        out.append(Row(section, f"right, {lang}", f"{share:.1%}", f"≥ {target:.0%}",
                       f"{share / target:.2f}×", verdict(share >= target)))  # fmt: skip
    for key in sorted(k for k in score.counts if k.startswith("class:")):
        out.append(Row(section, f"right, {key[6:]}", f"{score.share(key):.1%}"))
    wrong, drops = score.share("all", "wrong"), score.counts["all"]["drop"]
    out.append(Row(section, "wrong readings", f"{wrong:.1%}", "≤ 2 %", "", verdict(wrong <= 0.02)))
    out.append(Row(section, "silent drops", str(drops), "0", "", verdict(drops == 0)))
    asked = score.share("all", "ask")
    out.append(Row(section, "asked where a reading was expected", f"{asked:.1%}"))
    parse = Timings.of([ms / 1000 for ms in add_parse_ms(cases)])
    out.append(Row(section, "/add parse, p50 / p95", parse.text(), "p95 ≤ 5 ms",
                   f"{parse.p95 / 5:.2f}×", verdict(parse.p95 <= 5)))  # fmt: skip
    theirs, ms = dateparser_share(cases)
    base = Timings.of([m / 1000 for m in ms])
    out.append(Row(section, "for comparison: dateparser search_dates, right (en/de/fr/es)",
                   " / ".join(f"{theirs[f'lang:{k}']:.0%}" for k in LANGUAGES)))  # fmt: skip
    out.append(Row(section, "for comparison: dateparser search_dates, p50 / p95", base.text()))
    fuzzy = dateutil_share(cases)
    out.append(Row(section, "for comparison: dateutil parse(fuzzy=True), right (en/de/fr/es)",
                   " / ".join(f"{fuzzy[f'lang:{k}']:.0%}" for k in LANGUAGES)))  # fmt: skip
    return out
