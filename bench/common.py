"""Rows of the result table, percentiles, and the settings every bench uses."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings, load_settings

OWNER = 1001
TOKEN = "4242:fake-token-for-bench"
PASS, MISS, INFO = "pass", "MISS", "—"


@dataclass(frozen=True)
class Row:
    """One line of the table: what, how much, against what, and whether it met it."""

    section: str
    metric: str
    value: str
    target: str = ""
    ratio: str = ""
    verdict: str = INFO


@dataclass(frozen=True)
class Timings:
    """Milliseconds of repeated measurements."""

    ms: tuple[float, ...]

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timings:
        return cls(tuple(s * 1000 for s in seconds))

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        """Nearest-rank 95th percentile."""
        ordered = sorted(self.ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def n(self) -> int:
        return len(self.ms)

    def text(self) -> str:
        return f"{fmt_ms(self.p50)} / {fmt_ms(self.p95)} ms"


def fmt_ms(ms: float) -> str:
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


def bench_settings(data_dir: Path, api_base_url: str, **extra: str) -> Settings:
    """Settings for a bot on the fake Bot API, with its data in a temporary folder."""
    values = {
        "DATA_DIR": str(data_dir),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api_base_url,
        "OWNER_TELEGRAM_ID": str(OWNER),
        "TIMEZONE": "Europe/Berlin",
        "KNOWLEDGE_DIR": str(data_dir / "knowledge"),
    }
    values.update(extra)
    return load_settings(values)
