"""The weekly-backup ledger: one row per ISO week in which the scheduled backup was written."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class BackupLog(Base):
    """The scheduled backup of one ISO week (``2026-W48``, in the business's time zone)."""

    __tablename__ = "backup_log"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    file_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
