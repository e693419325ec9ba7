"""Persist updates before they are confirmed; handle each once, across crashes and power cuts.

    fetch ──▶ store ──▶ take (new → handling) ──▶ handler ──▶ finish (done) ──▶ next fetch
                                                                                 (confirms)

While a handler runs, :data:`CURRENT_UPDATE` holds its update id; every transaction of the
app's sessionmaker that changes a row in that context also writes an :class:`UpdateEffect` row
(hooks on that sessionmaker, :func:`track_effects`), atomically with the change. Rows of models
marked ``bookkeeping`` (the inbox's own, LLM usage) do not count: the rule and the mark live
with the models, in :mod:`bot.db.base`. At start, :meth:`Inbox.recover` closes as done every update
not done whose effect committed, and runs the others again.

One disk sync per update. A durable commit (SQLite ``synchronous=FULL``, PostgreSQL
``synchronous_commit=on``; every service's) waits for a sync of the write-ahead log,
milliseconds on a real disk. The inbox's own engine is relaxed: its commits do not wait. Both
kinds survive this process being killed; a power cut (or an OS crash) loses only relaxed
commits, and only those after the last durable one, since syncing the log covers every frame
written before, by any connection. After a power cut the database holds a prefix of the
committed transactions that reaches at least the last durable one. So:

- A handler's changes commit durably, with their effect row, as before: "Added" is sent after
  the task is on disk; a proposal's send is claimed on disk before it goes out.
- ``take`` is relaxed, and so is ``finish`` when the handler committed an effect: recovery
  decides by effect rows, never by status, and an effect row is on disk exactly when its
  change is. A lost ``take`` or ``finish`` only leaves a status behind that recovery corrects.
- ``finish`` of an update whose handler changed nothing is durable: it is that update's sync.
- The poller stores a batch relaxed (``durable=False``): Telegram forgets a batch only at the
  next getUpdates, which the poller sends after the worker drained the inbox, and every update
  drained ended in a durable commit (its handler's, or its ``finish``) made after the store.
  A webhook confirms by answering the request, so it keeps the default: a durable store.

Kill -9 at the crash points (every commit survives): ``after_fetch`` — nothing stored or
confirmed; Telegram sends the batch again. ``after_persist`` — stored, not confirmed: the
restart drains it; Telegram's second copy is dropped by id. ``after_claim`` — ``handling``
without an effect: run again. ``mid_handler`` — the change and its effect row committed
together: closed as done; the reply is lost, never doubled. ``after_handler`` — as
``mid_handler``; an update that changed nothing is answered again (it changed nothing).
Power cut: if the batch's store was lost, no update of it had finished (each finished update
synced the disk after the store) and none was confirmed, so Telegram sends the batch again; a
reply already sent for an update that changed nothing is sent again, as at ``after_handler``.
Otherwise recovery proceeds as after a kill.

Kept a week, not forever. An update holds what someone wrote, strangers' messages included;
once it is done it is needed only to drop a second copy, and Telegram keeps an update for 24
hours at most. :meth:`Inbox.prune` deletes updates done more than :data:`KEEP` ago, with their
effect rows, but never the highest id (the poller's next offset is one past it).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Result, bindparam, delete, event, func, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from bot.clock import Clock
from bot.db.base import is_effect
from bot.db.inbox import DONE, HANDLING, NEW, InboxUpdate, UpdateEffect

KEEP = timedelta(days=7)  # how long a handled update is kept (Telegram resends within 24 h)
PRUNE_EVERY = timedelta(days=1)
CURRENT_UPDATE: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "microdesk_current_update", default=None
)


@dataclass(frozen=True)
class Pending:
    update_id: int
    payload: dict[str, Any]


def _mark_effect(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: objects of a model that is not bookkeeping are about to change."""
    changed = [*session.new, *session.dirty, *session.deleted]
    if any(is_effect(getattr(type(obj), "__table__", None)) for obj in changed):
        _add_effect(session)


def _mark_statement_effect(state: ORMExecuteState) -> Result[Any] | None:
    """An ORM ``update`` / ``delete`` / ``insert`` statement changes rows without a flush: it
    counts once it changed a row of a model that is not bookkeeping."""
    if CURRENT_UPDATE.get() is None or not (state.is_update or state.is_delete or state.is_insert):
        return None
    mapper = state.bind_mapper
    if not is_effect(mapper.local_table if mapper is not None else None):
        return None
    result = state.invoke_statement()
    if getattr(result, "rowcount", -1) != 0:  # -1: the driver can't tell; count it
        _add_effect(state.session)
    return result


def _add_effect(session: Session) -> None:
    update_id = CURRENT_UPDATE.get()
    if update_id is None:
        return
    if any(isinstance(obj, UpdateEffect) for obj in session.new):
        return  # added earlier in this transaction (not flushed: get() would not see it)
    with session.no_autoflush:
        if session.get(UpdateEffect, update_id) is None:
            session.add(UpdateEffect(update_id=update_id))


def track_effects(sessions: sessionmaker[Session]) -> None:
    """Hook `sessions` (the app's sessionmaker, and no other) so that a transaction that
    changes a row of a model not marked ``bookkeeping`` (:mod:`bot.db.base`) while an update
    is handled writes that update's effect row in the same commit."""
    for name, hook in (("before_flush", _mark_effect), ("do_orm_execute", _mark_statement_effect)):
        if not event.contains(sessions, name, hook):
            event.listen(sessions, name, hook)


# built once: each update would otherwise pay SQLAlchemy's statement construction again
_TAKE = (
    update(InboxUpdate)
    .where(
        InboxUpdate.update_id.in_(
            select(InboxUpdate.update_id)
            .where(InboxUpdate.status == NEW)
            .order_by(InboxUpdate.update_id)
            .limit(bindparam("limit"))
        )
    )
    .values(status=HANDLING, attempts=InboxUpdate.attempts + 1)
    .returning(InboxUpdate.update_id, InboxUpdate.payload)
)
_KNOWN = select(InboxUpdate.update_id).where(
    InboxUpdate.update_id.in_(bindparam("ids", expanding=True))
)
_STORE = insert(InboxUpdate)
_EFFECT = select(UpdateEffect.update_id).where(UpdateEffect.update_id == bindparam("id"))
_DONE = (
    update(InboxUpdate)
    .where(InboxUpdate.update_id == bindparam("id"))
    .values(status=DONE, handled_at=bindparam("now", type_=InboxUpdate.handled_at.type))
)


class Inbox:
    def __init__(
        self, sessions: sessionmaker[Session], engine: Engine, relaxed: Engine, clock: Clock
    ) -> None:
        """`sessions`: the app's sessionmaker, whose transactions record effects (see
        :func:`track_effects`); `relaxed`: an engine on the same database whose commits do
        not wait for the disk (:func:`bot.db.engine.relaxed_engine`); the inbox disposes of
        it on :meth:`close`."""
        self._engine = engine
        self._relaxed = relaxed
        self._clock = clock
        self._pruned_at: datetime | None = None
        track_effects(sessions)

    def close(self) -> None:
        if self._relaxed is not self._engine:
            self._relaxed.dispose()

    def store(self, updates: Sequence[dict[str, Any]], *, durable: bool = True) -> int:
        """Persist fetched updates (ignoring ids already seen); how many were new.

        ``durable=False`` only when the updates are confirmed after the worker drained them
        (see the module docstring): the drain's syncs then cover this write.
        """
        if not updates:
            return 0
        now = self._clock.now()
        ids = [u["update_id"] for u in updates]
        with (self._engine if durable else self._relaxed).begin() as conn:
            seen = set(conn.scalars(_KNOWN, {"ids": ids}))
            fresh = [u for u in updates if u["update_id"] not in seen]
            if fresh:
                conn.execute(_STORE, [_row(item, now) for item in fresh])
        return len(fresh)

    def next_offset(self) -> int | None:
        """One past the highest stored id (Telegram confirms everything below the offset)."""
        with self._engine.connect() as conn:
            highest = conn.scalar(select(func.max(InboxUpdate.update_id)))
        return None if highest is None else int(highest) + 1

    def recover(self) -> None:
        """After a crash or power cut: an update not done whose effect committed is done; the
        others run again."""
        handled = select(UpdateEffect.update_id)
        with self._engine.begin() as conn:
            conn.execute(
                update(InboxUpdate)
                .where(InboxUpdate.status != DONE, InboxUpdate.update_id.in_(handled))
                .values(status=DONE, handled_at=self._clock.now())
            )
            conn.execute(
                update(InboxUpdate).where(InboxUpdate.status == HANDLING).values(status=NEW)
            )

    def waiting(self, limit: int = 100) -> list[Pending]:
        """The next stored updates not taken yet, in order (nothing changes)."""
        query = (
            select(InboxUpdate.update_id, InboxUpdate.payload)
            .where(InboxUpdate.status == NEW)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [Pending(row.update_id, json.loads(row.payload)) for row in conn.execute(query)]

    def take(self, limit: int = 100) -> list[Pending]:
        """Claim the next stored updates not taken yet (new → handling), in order: each is
        handed out once. Any not finished when the process stops run after the next start."""
        with self._relaxed.begin() as conn:
            rows = conn.execute(_TAKE, {"limit": limit}).all()
        return [Pending(r.update_id, json.loads(r.payload)) for r in sorted(rows)]

    def finish(self, update_id: int) -> None:
        """Mark a taken update done; durably only when its handler committed nothing (a
        commit of the handler's would have synced the disk already)."""
        done = {"id": update_id, "now": self._clock.now()}
        with self._relaxed.begin() as conn:
            if conn.scalar(_EFFECT, {"id": update_id}) is not None:
                conn.execute(_DONE, done)
                return
        with self._engine.begin() as conn:
            conn.execute(_DONE, done)

    def prune_due(self) -> bool:
        """True when :meth:`prune` has not run in this process for a day."""
        return self._pruned_at is None or self._clock.now() - self._pruned_at >= PRUNE_EVERY

    def prune(self) -> int:
        """Delete updates done more than :data:`KEEP` ago and their effect rows (never the
        highest id: it is the poller's offset); how many updates went."""
        now = self._clock.now()
        self._pruned_at = now
        highest = select(func.max(InboxUpdate.update_id)).scalar_subquery()
        old = select(InboxUpdate.update_id).where(
            InboxUpdate.status == DONE,
            InboxUpdate.handled_at < now - KEEP,
            InboxUpdate.update_id < highest,
        )
        with self._engine.begin() as conn:
            ids = list(conn.scalars(old))
            for start in range(0, len(ids), 500):  # SQLite caps a statement's parameters
                chunk = ids[start : start + 500]
                conn.execute(delete(UpdateEffect).where(UpdateEffect.update_id.in_(chunk)))
                conn.execute(delete(InboxUpdate).where(InboxUpdate.update_id.in_(chunk)))
        return len(ids)


def _row(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "update_id": item["update_id"],
        "payload": json.dumps(item, separators=(",", ":")),
        "status": NEW,
        "received_at": now,
        "attempts": 0,
    }
