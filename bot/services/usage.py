"""The monthly token budget's ledger: checked before each call, every call recorded, /usage.

One ledger, built in :mod:`bot.app` and handed to the model client (:class:`bot.llm.usage.Budget`).
Months are calendar months in UTC (:func:`bot.llm.usage.month_bounds`). The check and the record
run in a worker thread (``asyncio.to_thread``): each is one short SQLite transaction, kept off
the event loop because commits fsync (``synchronous=FULL``). Two calls racing past the check can
overshoot the budget by one answer; that is accepted.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.llm import LLMUsage, UsageRepo
from bot.llm.completion import Usage
from bot.llm.errors import BudgetExceeded
from bot.llm.usage import UsageReport, month_bounds


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
