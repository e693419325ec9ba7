"""The durable inbox: every update is a row before Telegram is told it arrived."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

NEW = "new"
HANDLING = "handling"
DONE = "done"


class InboxUpdate(Base):
    __tablename__ = "inbox"
    bookkeeping = True

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class UpdateEffect(Base):
    """Written in the same transaction as any change an update's handler makes.

    After a crash mid-handler, its presence says the change committed: the update is not run
    again. Its absence says nothing committed: running it again is safe.
    """

    __tablename__ = "update_effects"
    bookkeeping = True

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
