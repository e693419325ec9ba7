"""The backup ledger: one row per BACKUP_EVERY period whose scheduled backup was written and
verified (on `target`: BACKUP_TARGET without credentials, or the backups folder)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime


class BackupLog(Base):
    """The scheduled backup of one period (``2026-W48``, ``2026-11-25`` or ``2026-11``, in the
    business's time zone)."""

    __tablename__ = "backup_log"

    week: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    file_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(512), default=None)
