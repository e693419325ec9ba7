"""The outbox: one row per message the bot sends the owner on its own — a reminder rung, a
day's briefing, a drafted reply's card, a question about an unknown send, a backup failure.

    pending ──claim──▶ sending ──▶ sent      (Telegram's message id recorded)
       ▲                  │  ├──▶ failed    (refused: nothing went out)
       │                  │  ├──▶ dropped   (no longer wanted: the card's proposal was decided)
       ╰── rate limited ──╯  ╰──▶ unknown   (a time-out after the request left, or a crash
                                              between claim and settle)
    unknown ──claim once, marked "sent again"──▶ sending ──▶ sent | failed | dropped | unknown

Every transition is a conditional UPDATE committed before the next step, so two workers, a
crash or a restart never send one row twice unmarked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
DROPPED = "dropped"
REMINDER = "reminder"
BRIEFING = "briefing"
CARD = "card"  # a drafted reply to a client, with its Approve / Edit / Reject buttons
QUESTION = "question"  # "did your approved reply go out?" after a stop mid-send
NOTICE = "notice"  # a weekly backup that failed; a client message that got no draft


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "briefing:2026-11-25"
    kind: Mapped[str] = mapped_column(String(16))  # REMINDER, BRIEFING, CARD, QUESTION, NOTICE
    text: Mapped[str] = mapped_column(Text)  # Telegram HTML, exactly as first sent
    buttons: Mapped[str] = mapped_column(Text, default="[]")  # JSON rows of [label, data]
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resent: Mapped[bool] = mapped_column(Boolean, default=False)  # the one marked re-send
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
