"""The monthly token budget: checked before each call, every call recorded, /usage reported.

Months are calendar months in UTC (a call at 23:30 on the 31st in UTC+2 counts for the next
month). The check and the record run in a worker thread (``asyncio.to_thread``): each is one
short SQLite transaction, kept off the event loop because commits fsync (``synchronous=FULL``).
Two calls racing past the check can overshoot the budget by one answer; that is accepted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.llm import LLMUsage, UsageRepo
from bot.llm.completion import Usage
from bot.llm.errors import BudgetExceeded


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


class UsageLedger:
    """Reads and writes ``llm_usage`` rows; owns its short transactions."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, budget: int) -> None:
        self._sessions = sessions
        self._clock = clock
        self.budget = budget

    def report(self, now: datetime | None = None) -> UsageReport:
        start, end = month_bounds(now or self._clock.now())
        with self._sessions() as session:
            used, calls = UsageRepo(session).totals_between(start, end)
        return UsageReport(month_start=start, used=used, budget=self.budget, calls=calls)

    def check(self) -> None:
        """Raise BudgetExceeded when this month's tokens have reached the budget."""
        report = self.report()
        if report.exhausted:
            raise BudgetExceeded(budget=self.budget, used=report.used)

    def record(self, *, model: str, purpose: str, usage: Usage, ok: bool) -> None:
        row = LLMUsage(
            at=self._clock.now(),
            model=model[:200],
            purpose=purpose[:64],
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            ok=ok,
        )
        with self._sessions() as session, session.begin():
            UsageRepo(session).add(row)

    async def check_async(self) -> None:
        await asyncio.to_thread(self.check)

    async def record_async(self, *, model: str, purpose: str, usage: Usage, ok: bool) -> None:
        await asyncio.to_thread(self.record, model=model, purpose=purpose, usage=usage, ok=ok)
