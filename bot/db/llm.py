"""LLM usage: one row per model call, summed per calendar month for the token budget."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class LLMUsage(Base):
    """One call to the LLM endpoint: what it cost and whether it gave a usable answer.

    Bookkeeping: usage is recorded even when the turn then fails, so it must not make a
    crashed update look handled.
    """

    __tablename__ = "llm_usage"
    bookkeeping = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    model: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(64))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool] = mapped_column(Boolean)


class UsageRepo:
    """Usage rows; never commits (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: LLMUsage) -> None:
        self.session.add(row)

    def totals_between(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(tokens, calls) of the rows with ``start <= at < end``."""
        query = select(func.coalesce(func.sum(LLMUsage.total_tokens), 0), func.count()).where(
            LLMUsage.at >= start, LLMUsage.at < end
        )
        tokens, calls = self.session.execute(query).one()
        return int(tokens), int(calls)
