"""The date reader against tests/eval/dates.jsonl: accuracy per language and class, parse time.

Each phrase is read at a fixed moment (Wednesday 2027-03-10 10:00 in Europe/Berlin, COUNTRY DE,
DATE_ORDER DMY unless the phrase says otherwise). An outcome is ``right`` (the expected reading,
or a question where one is expected), ``ask`` (a question where a reading was expected: not
wrong, not right), ``wrong`` (another reading) or ``drop`` (no date where one was expected).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.dates import BusinessCalendar, Context, Found, read

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval" / "dates.jsonl"
NOW = datetime(2027, 3, 10, 10, 0)
LANGUAGES = ("en", "de", "fr", "es")


def load(path: Path = EVAL) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def context(case: dict[str, str]) -> Context:
    order = case.get("order", "DMY")
    return Context(NOW, LANGUAGES, order or None, BusinessCalendar("DE"))


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
