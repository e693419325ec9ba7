"""The outbox: what the bot sends the owner on its own is queued, claimed, sent and settled.

    queue    inside the transaction that records it as handled — the reminder or briefing
             ledger, the proposal a drafted reply's card shows, the "owner asked" note of an
             unknown reply — so that record and the outbox never disagree; a key names each
             message once (a backup failure's key, its ISO week, is its only record)
    claim    a conditional UPDATE (pending → sending), committed before the send
    settle   sent (with Telegram's message id) | failed (refused, logged) | unknown
             | dropped (the deliver function raised :class:`NotWanted`: e.g. a card whose
             proposal was approved, rejected or expired before it went out)

An ``unknown`` row (a time-out after the request left, or a crash between claim and settle,
found ``sending`` at start) is sent once more, marked as a repeat, and never again: for the
owner's own reminders a missed tax deadline is worse than a marked duplicate, and a card sent
twice is harmless (both carry the same buttons; a proposal is approved once). Client replies
never come here; they are never resent automatically (:mod:`bot.services.clients.replies`).
Messages to contractors (kind ``team``) are drained apart, by their own sender, and an unknown
one is never sent again by itself: it is listed in the owner's briefing instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.crashpoints import crash_point
from bot.db.outbox import DROPPED, FAILED, PENDING, SENDING, SENT, UNKNOWN, OutboxMessage
from bot.db.team import TEAM
from bot.services.delivery.send_errors import SendRateLimited, SendRefused, SendUnknown

log = logging.getLogger(__name__)
Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)
MAX_ATTEMPTS = 5  # rate-limited tries before a message is given up as failed
INTERRUPTED = "interrupted between claim and result"
TIMED_OUT = "no answer from Telegram after the request left"


class NotWanted(Exception):
    """Raised by a deliver function: the message is moot now; nothing was sent (one sentence)."""


@dataclass(frozen=True)
class Outgoing:
    key: str  # unique: "reminder:<task>:<due instant>:<rung>", "briefing:<local date>", ...
    kind: str
    text: str
    buttons: Buttons = ()


@dataclass(frozen=True)
class Claimed:
    """A row claimed for one send; `again` marks the single re-send after an unknown outcome."""

    id: int
    key: str
    kind: str
    text: str
    buttons: Buttons
    again: bool


Deliver = Callable[[Claimed], Awaitable[int | None]]  # Telegram's message id (None: terminal)


@dataclass(frozen=True)
class Undelivered:
    kind: str
    status: str
    text: str
    created_at: datetime
    key: str = ""


def queue(session: Session, item: Outgoing, now: datetime) -> bool:
    """Add `item` in the caller's transaction; False if its key was queued before."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == item.key)):
        return False
    session.add(
        OutboxMessage(
            key=item.key,
            kind=item.kind,
            text=item.text,
            buttons=json.dumps([[list(b) for b in row] for row in item.buttons]),
            status=PENDING,
            attempts=0,
            resent=False,
            created_at=now,
            updated_at=now,
        )
    )
    return True


class OutboxService:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def put(self, item: Outgoing) -> bool:
        """Queue `item` in a transaction of its own; False if its key was queued before."""
        try:
            with self._sessions.begin() as session:
                return queue(session, item, self._clock.now())
        except IntegrityError:  # another process queued the same key first
            return False

    def recover(self) -> int:
        """At start: rows left ``sending`` by a stop may or may not have gone out: unknown."""
        with self._sessions.begin() as session:
            done = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == SENDING)
                .values(status=UNKNOWN, error=INTERRUPTED, updated_at=self._clock.now())
            )
        count = int(done.rowcount)  # type: ignore[attr-defined]
        if count:
            log.warning(
                "%d scheduled sends were interrupted; each is sent once more, marked", count
            )
        return count

    def ready(self, kind: str | None = None) -> list[int]:
        """Rows to send now: pending ones, and unknown ones not yet sent again; the owner's
        (every kind but ``team``), or those of `kind`."""
        which = OutboxMessage.kind == kind if kind else OutboxMessage.kind != TEAM
        with self._sessions() as session:
            query = select(OutboxMessage.id).where(_ready(), which).order_by(OutboxMessage.id)
            return list(session.scalars(query))

    def claim(self, row_id: int) -> Claimed | None:
        """pending → sending, or unknown → sending as the one marked re-send; None if taken."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            for again, where in ((False, _pending()), (True, _resendable())):
                done = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id, where)
                    .values(
                        status=SENDING,
                        resent=again,
                        attempts=OutboxMessage.attempts + 1,
                        updated_at=now,
                    )
                )
                if done.rowcount == 1:  # type: ignore[attr-defined]
                    row = session.get_one(OutboxMessage, row_id)
                    return _claimed(row, again)
        return None

    async def drain(self, deliver: Deliver, kind: str | None = None) -> int:
        """Send every ready row (of `kind`: see :meth:`ready`), each claimed first and settled
        after; how many went out."""
        sent = 0
        for row_id in self.ready(kind):
            item = self.claim(row_id)
            if item is None:
                continue
            try:
                message_id = await deliver(item)
            except SendRateLimited:
                self._release(item)
                break  # Telegram asked us to wait: the rest go on the next tick
            except SendRefused as exc:
                log.warning("outbox %s (%s) refused: %s", item.id, item.kind, exc)
                self._settle(item.id, FAILED, error=str(exc))
            except NotWanted as exc:
                log.info("outbox %s (%s) dropped: %s", item.id, item.kind, exc)
                self._settle(item.id, DROPPED, error=str(exc))
            except SendUnknown:
                log.warning("outbox %s (%s): outcome unknown", item.id, item.kind)
                self._settle(item.id, UNKNOWN, error=TIMED_OUT)
            except Exception:
                log.exception("outbox %s (%s): the send failed unexpectedly", item.id, item.kind)
                self._settle(item.id, UNKNOWN, error="an unexpected error during the send")
            else:
                crash_point("after_send")  # it went out; the record of it not written yet
                self._settle(item.id, SENT, message_id=message_id)
                sent += 1
        return sent

    def undelivered(self, since: datetime) -> list[Undelivered]:
        """Since `since`: what was refused, or may be missing after its one re-send."""
        final_unknown = and_(
            OutboxMessage.status == UNKNOWN, or_(OutboxMessage.resent, OutboxMessage.kind == TEAM)
        )
        with self._sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.created_at >= since,
                    or_(OutboxMessage.status == FAILED, final_unknown),
                )
                .order_by(OutboxMessage.id)
            )
            return [Undelivered(r.kind, r.status, r.text, r.created_at, r.key) for r in rows]

    # --- internals ---------------------------------------------------------------------------

    def _settle(
        self, row_id: int, status: str, *, message_id: int | None = None, error: str | None = None
    ) -> None:
        now = self._clock.now()
        values: dict[str, object] = {"status": status, "updated_at": now, "error": error}
        if status == SENT:
            values.update(message_id=message_id, sent_at=now)
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == SENDING)
                .values(**values)
            )

    def _release(self, item: Claimed) -> None:
        """Rate limited: nothing went out; back to where it was, or failed after many tries."""
        with self._sessions.begin() as session:
            row = session.get_one(OutboxMessage, item.id)
            if row.status != SENDING:
                return
            row.updated_at = self._clock.now()
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.error = FAILED, "Telegram kept asking me to slow down"
                log.warning(
                    "outbox %s (%s): rate limited %d times", item.id, item.kind, MAX_ATTEMPTS
                )
            else:
                row.status, row.resent = (UNKNOWN, False) if item.again else (PENDING, False)


def _pending() -> ColumnElement[bool]:
    return OutboxMessage.status == PENDING


def _resendable() -> ColumnElement[bool]:
    return and_(
        OutboxMessage.status == UNKNOWN,
        OutboxMessage.resent.is_(False),
        OutboxMessage.kind != TEAM,  # a message to a contractor is never re-sent by itself
    )


def _ready() -> ColumnElement[bool]:
    return or_(_pending(), _resendable())


def _claimed(row: OutboxMessage, again: bool) -> Claimed:
    buttons = tuple(tuple((str(b[0]), str(b[1])) for b in r) for r in json.loads(row.buttons))
    return Claimed(row.id, row.key, row.kind, row.text, buttons, again)
