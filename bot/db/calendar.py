"""What the calendar sync remembers: one link per event it put on the server, and its state.

A link is what microdesk last wrote (or last accepted) for one event: where it lives (``href``),
the server's ``etag`` for it, the task's fingerprint at that moment and the start it carried.
A different etag on the server means the owner changed the event; a different fingerprint here
means the task changed in microdesk. Both at once is a conflict.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

STATE_ID = 1


class CalendarLink(Base):
    __tablename__ = "calendar_links"

    uid: Mapped[str] = mapped_column(String(200), primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: a deleted task's event
    href: Mapped[str] = mapped_column(Text)  # must still be found to be deleted
    etag: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    start: Mapped[str] = mapped_column(String(64), default="")  # pushed start of the due event
    carries_due: Mapped[bool] = mapped_column(Boolean, default=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarState(Base):
    """One row: which calendar the links belong to, the sync token, the feed's secret."""

    __tablename__ = "calendar_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str | None] = mapped_column(Text)  # URL, user and calendar name the links use
    calendar_url: Mapped[str | None] = mapped_column(Text)
    sync_token: Mapped[str | None] = mapped_column(Text)
    failing: Mapped[str | None] = mapped_column(String(32))  # the kind of error already told
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feed_token: Mapped[str | None] = mapped_column(String(64))
