"""The audit log: every change, who made it, and what changed, recorded with one call.

    audit.record(OWNER, TASKS, "added", "#3 File VAT return · due 2027-01-31")
    audit.record(AI, TASKS, "added", "#4 …", session=session)   # inside the change's transaction
    audit.record(contractor("maria"), TASKS, "marked done", "#5 Edit promo video")

`by` says who: the owner, the AI through the owner's approval, the scheduler, a contractor
(`contractor("name")`), or the system. `area` is what `/audit AREA` filters on. Pass the
`session` that makes the change, so the change and its record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.proposals import AuditEntry

OWNER = "owner"
AI = "ai"  # the AI's proposal, carried out on the owner's approval
SCHEDULER = "scheduler"
SYSTEM = "system"

TASKS = "tasks"
SETTINGS = "settings"
BACKUPS = "backups"
SENDS = "sends"
PROPOSALS = "ai"  # the proposals' own trail: proposed, approved, rejected, expired …
CONTRACTORS = "contractors"
CALENDAR = "calendar"
DOCUMENTS = "documents"
AREAS = (TASKS, SETTINGS, BACKUPS, SENDS, PROPOSALS, CONTRACTORS, CALENDAR, DOCUMENTS)
MAX_DETAIL = 500


def contractor(name: str) -> str:
    """`by` for a change a contractor made."""
    return f"contractor:@{name.lstrip('@')}"


@dataclass(frozen=True)
class AuditPage:
    entries: Sequence[AuditEntry]  # newest first
    more: bool  # older entries exist past this page


class AuditLog:
    """Writes and reads the audit log."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def record(
        self,
        by: str,
        area: str,
        action: str,
        detail: str = "",
        *,
        proposal_id: int | None = None,
        session: Session | None = None,
    ) -> None:
        """One entry; in `session` when given (committed with the change), else on its own."""
        if area not in AREAS:
            raise ValueError(f"unknown audit area {area!r}")
        entry = AuditEntry(
            at=self._clock.now(),
            actor=by[:32],
            area=area,
            action=action[:32],
            proposal_id=proposal_id,
            detail=detail[:MAX_DETAIL],
        )
        if session is not None:
            session.add(entry)
            return
        with self._sessions.begin() as own:
            own.add(entry)

    def page(self, area: str | None, before: int | None, size: int) -> AuditPage:
        """`size` entries older than id `before` (None: the newest), of `area` (None: all).

        The area "ai" also holds every change the AI made through an approval."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(size + 1)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        if area == PROPOSALS:
            query = query.where(or_(AuditEntry.area == PROPOSALS, AuditEntry.actor == AI))
        elif area is not None:
            query = query.where(AuditEntry.area == area)
        with self._sessions() as session:
            rows = session.scalars(query).all()
        return AuditPage(rows[:size], len(rows) > size)
