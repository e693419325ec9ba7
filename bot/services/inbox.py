"""Persist updates before they are confirmed; handle each once, across crashes.

    fetch ──▶ store (fsync'd; dedupe by update id) ──▶ confirm (next getUpdates offset)
                 │
                 ╰──▶ claim (new → handling) ──▶ handler ──▶ done

While a handler runs, :data:`CURRENT_UPDATE` holds its update id; every database transaction
that changes something in that context also writes an :class:`UpdateEffect` row (a session
hook), atomically with the change. At start, an update left ``handling`` by a crash is run
again only if no effect of it committed; otherwise it is closed as done.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.inbox import DONE, HANDLING, NEW, InboxUpdate, UpdateEffect

CURRENT_UPDATE: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "microdesk_current_update", default=None
)


@dataclass(frozen=True)
class Pending:
    update_id: int
    payload: dict[str, Any]


# bookkeeping that is not an effect of handling an update (LLM usage is recorded even when
# the turn then fails; it must not make a crashed update look handled)
NOT_EFFECTS = frozenset({"inbox", "update_effects", "llm_usage"})


def _mark_effect(session: Session, _context: Any, _instances: Any) -> None:
    update_id = CURRENT_UPDATE.get()
    if update_id is None:
        return
    changed = [*session.new, *session.dirty, *session.deleted]
    if not any(getattr(obj, "__tablename__", "") not in NOT_EFFECTS for obj in changed):
        return
    with session.no_autoflush:
        if session.get(UpdateEffect, update_id) is None:
            session.add(UpdateEffect(update_id=update_id))


def track_effects() -> None:
    """Install the session hook once per process."""
    if not event.contains(Session, "before_flush", _mark_effect):
        event.listen(Session, "before_flush", _mark_effect)


class Inbox:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        track_effects()

    def store(self, updates: Sequence[dict[str, Any]]) -> int:
        """Persist fetched updates (ignoring ids already seen); how many were new."""
        if not updates:
            return 0
        now = self._clock.now()
        with self._sessions.begin() as session:
            seen = set(
                session.scalars(
                    select(InboxUpdate.update_id).where(
                        InboxUpdate.update_id.in_([u["update_id"] for u in updates])
                    )
                )
            )
            fresh = [u for u in updates if u["update_id"] not in seen]
            for item in fresh:
                session.add(
                    InboxUpdate(
                        update_id=item["update_id"],
                        payload=json.dumps(item, separators=(",", ":")),
                        status=NEW,
                        received_at=now,
                        attempts=0,
                    )
                )
        return len(fresh)

    def next_offset(self) -> int | None:
        """One past the highest stored id (Telegram confirms everything below the offset)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(InboxUpdate.update_id).order_by(InboxUpdate.update_id.desc()).limit(1)
            ).all()
        return rows[0] + 1 if rows else None

    def recover(self) -> None:
        """After a crash: an update whose effect committed is done; the others run again."""
        with self._sessions.begin() as session:
            stuck = session.scalars(select(InboxUpdate).where(InboxUpdate.status == HANDLING))
            for row in stuck:
                done = session.get(UpdateEffect, row.update_id) is not None
                row.status = DONE if done else NEW
                if done:
                    row.handled_at = self._clock.now()

    def waiting(self, limit: int = 100) -> list[Pending]:
        query = (
            select(InboxUpdate)
            .where(InboxUpdate.status == NEW)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        with self._sessions() as session:
            return [Pending(r.update_id, json.loads(r.payload)) for r in session.scalars(query)]

    def claim(self, update_id: int) -> bool:
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id, InboxUpdate.status == NEW)
                .values(status=HANDLING, attempts=InboxUpdate.attempts + 1)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def finish(self, update_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id)
                .values(status=DONE, handled_at=self._clock.now())
            )
