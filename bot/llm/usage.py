"""The monthly token budget as the model client sees it: checked before each call, each call
recorded. The ledger behind it (rows in the database, the /usage report) is
:class:`bot.services.usage.UsageLedger`, built once in :mod:`bot.app`.

Months are calendar months in UTC (a call at 23:30 on the 31st in UTC+2 counts for the next
month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.llm.completion import Usage


class Budget(Protocol):
    """Raises :class:`bot.llm.errors.BudgetExceeded` in `check_async` once the month's tokens
    reached the budget; `record_async` books one call."""

    async def check_async(self) -> None: ...

    async def record_async(self, *, model: str, purpose: str, usage: Usage, ok: bool) -> None: ...

    def report(self, now: datetime | None = None) -> UsageReport: ...


@dataclass(frozen=True)
class UsageReport:
    """Tokens and calls of the calendar month (UTC) that contains ``month_start``."""

    month_start: datetime
    used: int
    budget: int
    calls: int

    @property
    def remaining(self) -> int:
        return max(self.budget - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.budget


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[first instant of the UTC month containing `now`, first instant of the next)."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start.month == 12:
        return start, start.replace(year=start.year + 1, month=1)
    return start, start.replace(month=start.month + 1)
