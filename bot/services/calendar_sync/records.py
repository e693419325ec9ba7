"""What a round reports (:class:`Round`) and the calendar links it reads, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.calendar import CalendarLink


@dataclass
class Round:
    """What one round did (for the log, the tests and the bench)."""

    pulled: int = 0  # events read back from the server (changed there, not by us)
    applied: int = 0  # moves and deletes made in the calendar, now in microdesk
    conflicts: int = 0
    written: int = 0
    deleted: int = 0
    queued: int = 0  # notices for the owner
    error: str | None = None
    kinds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Link:
    """A calendar link as plain values, to read after its session closed."""

    uid: str
    task_id: int
    href: str
    etag: str | None
    fingerprint: str
    start: str
    carries_due: bool


def read_links(session: Session) -> list[Link]:
    columns = [getattr(CalendarLink, f.name) for f in fields(Link)]
    return [Link(*row) for row in session.execute(select(*columns))]
