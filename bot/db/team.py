"""Contractors: who they are, their invites, and what they did (the owner's news of it).

    invite ──opened by someone──▶ contractor (active) ──/revoke──▶ revoked
      │  ╲──/invite again──▶ replaced
      ╰──7 days──▶ (expired: refused like a forged token)

An invite's token is never stored: only its SHA-256. A contractor is linked to one Telegram
user id; a revoked one stays revoked (a restore of an older backup carries revocations over).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

ACTIVE = "active"
REVOKED = "revoked"
INVITED = "pending"
USED = "used"
REPLACED = "replaced"
TEAM = "team"  # the outbox kind of a message to a contractor (key "team:<contractor>:...")


class Contractor(Base):
    __tablename__ = "contractors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # the @NAME on tasks, lower case
    tg_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    status: Mapped[str] = mapped_column(String(16))  # active | revoked
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: not answered yet
    daily: Mapped[bool] = mapped_column(Boolean, default=False)  # the short daily list, opted in
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TeamInvite(Base):
    __tablename__ = "team_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    status: Mapped[str] = mapped_column(String(16))  # pending | used | replaced | revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TeamEvent(Base):
    """Something a contractor did (joined, done, note, snooze) or that was done to them
    (revoked); `source` names the Telegram message it came from, so a replay adds nothing."""

    __tablename__ = "team_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contractor_id: Mapped[int] = mapped_column(ForeignKey("contractors.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    task_title: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")  # a note: the contractor's words (data)
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    source: Mapped[str | None] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
