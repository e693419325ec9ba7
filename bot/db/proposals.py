"""Proposals (what the AI wants to do, waiting for the owner) and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

PENDING = "pending"
APPROVED = "approved"
EXECUTING = "executing"
DONE = "done"
FAILED = "failed"
REJECTED = "rejected"
EXPIRED = "expired"
UNKNOWN = "unknown"  # a send whose outcome is unknown: the owner is asked, never retried blindly
OPEN_STATES = (PENDING,)
FINAL_STATES = (DONE, FAILED, REJECTED, EXPIRED, UNKNOWN)


class Proposal(Base):
    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # JSON: exactly what Approve will do
    origin: Mapped[str] = mapped_column(String(32))  # assistant | forward | parser | business
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))


class AuditEntry(Base):
    """Who changed what (bot.services.audit writes it); `area` is what /audit filters on."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_area_id", "area", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(32))  # see bot.services.audit: owner, ai, …
    area: Mapped[str] = mapped_column(String(16), default="ai", server_default="ai")
    action: Mapped[str] = mapped_column(String(32))
    proposal_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class PendingEdit(Base):
    """The owner pressed Edit: their next message becomes the proposal's new content."""

    __tablename__ = "pending_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
