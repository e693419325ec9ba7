"""The guardrail: every AI action is a proposal row until the owner approves it.

    pending ──approve──▶ executing ──▶ done | failed
       │  ╲──reject──▶ rejected       (an edit rejects the old card and makes a new one)
       ╰──(24 h)──▶ expired
    pending ──claim──▶ executing ──(send)──▶ settle: done | failed | unknown

Approval is claimed with one conditional UPDATE, so a double tap, two devices or a replayed
update execute a proposal once; for database actions the claim, the action and the final
status commit together. Only :meth:`ProposalService.approve` executes anything in the
database. A send to someone else (a client reply) uses :meth:`~ProposalService.claim` (committed
before the send) and :meth:`~ProposalService.settle`; a proposal still ``executing`` when the
bot starts may or may not have been sent, so :meth:`~ProposalService.interrupted` marks it
``unknown`` and it is never sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.proposals import (
    DONE,
    EXECUTING,
    EXPIRED,
    FAILED,
    PENDING,
    REJECTED,
    UNKNOWN,
    AuditEntry,
    PendingEdit,
    Proposal,
)
from bot.db.team import ACTIVE, TEAM, Contractor
from bot.errors import NotFoundError, UserInputError
from bot.services.audit import AI, PROPOSALS
from bot.services.delivery.outbox import Outgoing, queue
from bot.services.proposals import payloads as p
from bot.services.tasks.dates import Due
from bot.services.tasks.service import TaskChange, TaskDraft, TaskService
from bot.services.team import render as team_render

TTL = timedelta(hours=24)
EDIT_WINDOW = timedelta(minutes=30)
MAX_REPLY = p.MAX_REPLY_CHARS
MAX_TO_CONTRACTOR = 2000
INTERRUPTED = "Interrupted by a restart between Approve and the end of the send."
Announce = Callable[[Proposal], Outgoing]  # the card to queue for a new proposal (its id set)


@dataclass(frozen=True)
class Outcome:
    proposal: Proposal
    ok: bool
    message: str


class ProposalService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        tasks: TaskService,
        ttl: timedelta = TTL,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._tasks = tasks
        self._ttl = ttl

    # --- making proposals (never executes) ---------------------------------------------------

    def propose(
        self,
        payload: p.Payload,
        origin: str,
        *,
        actor: str = "assistant",
        replaces: int | None = None,
        announce: Announce | None = None,
    ) -> Proposal:
        """A pending proposal; with `announce`, its card is queued in the outbox in the same
        transaction (a card the scheduler sends, not one shown as the answer to a message)."""
        now = self._clock.now()
        row = Proposal(
            kind=payload.kind,
            payload=p.dump(payload),
            origin=origin,
            status=PENDING,
            created_at=now,
            expires_at=now + self._ttl,
            replaces_id=replaces,
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            self._audit(session, actor, "proposed", row.id, payload.kind)
            if announce is not None:
                queue(session, announce(row), now)
        return row

    def task_from_draft(self, draft: TaskDraft) -> p.NewTask:
        due = draft.due
        return p.NewTask(
            title=draft.title,
            due_at=due.at_utc if due else None,
            has_time=due.has_time if due else False,
            rule=draft.rule,
            assignee=draft.assignee,
        )

    def change_from(self, task_id: int, change: TaskChange) -> p.ChangeTask:
        task = self._tasks.get(task_id)
        due = change.due
        return p.ChangeTask(
            task_id=task_id,
            title=change.title,
            due_at=due.at_utc if due else None,
            has_time=due.has_time if due else False,
            was_title=task.title,
        )

    def message_to(self, name: str, text: str) -> p.ContractorMessage:
        """A message for the active contractor @name, named from their stored record."""
        who = name.strip().lstrip("@").lower()
        text = text.strip()
        if not text or len(text) > MAX_TO_CONTRACTOR:
            raise UserInputError(f"A message needs 1 to {MAX_TO_CONTRACTOR} characters.")
        with self._sessions() as session:
            row = session.scalars(
                select(Contractor).where(Contractor.name == who, Contractor.status == ACTIVE)
            ).first()
        if row is None:
            raise UserInputError(f"@{who[:64]} is not on your team")
        return p.ContractorMessage(contractor_id=row.id, name=row.name, text=text)

    def finish_of(self, task_id: int) -> p.FinishTask:
        task = self._tasks.get(task_id)
        if task.status != "open":
            raise UserInputError(f"Task #{task_id} is already done.")
        return p.FinishTask(task_id=task.id, title=task.title, due_at=task.due_at)

    # --- reading -----------------------------------------------------------------------------

    def get(self, proposal_id: int) -> Proposal:
        with self._sessions() as session:
            row = session.get(Proposal, proposal_id)
        if row is None:
            raise NotFoundError(f"There is no proposal #{proposal_id}.")
        return row

    def pending(self) -> Sequence[Proposal]:
        now = self._clock.now()
        query = select(Proposal).where(Proposal.status == PENDING, Proposal.expires_at > now)
        with self._sessions() as session:
            return session.scalars(query.order_by(Proposal.id)).all()

    def waiting(self, proposal_id: int) -> bool:
        """Still pending and not expired: the owner can decide on it."""
        with self._sessions() as session:
            row = session.get(Proposal, proposal_id)
        return row is not None and row.status == PENDING and row.expires_at > self._clock.now()

    def in_status(self, status: str) -> Sequence[Proposal]:
        query = select(Proposal).where(Proposal.status == status).order_by(Proposal.id)
        with self._sessions() as session:
            return session.scalars(query).all()

    def audit(self, limit: int = 20) -> Sequence[AuditEntry]:
        """The proposals' own trail, newest first (the whole log: bot.services.audit)."""
        query = (
            select(AuditEntry)
            .where(AuditEntry.area == PROPOSALS)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        with self._sessions() as session:
            return session.scalars(query).all()

    # --- the owner's decisions ---------------------------------------------------------------

    def approve(self, proposal_id: int) -> Outcome:
        """Claim atomically, execute, record; a second approval of the same card does nothing."""
        now = self._clock.now()
        try:
            with self._sessions.begin() as session:
                if not _claim_pending(session, proposal_id, now):
                    raise _NotClaimable()
                row = session.get(Proposal, proposal_id)
                assert row is not None
                self._audit(session, "owner", "approved", row.id, row.kind)
                message = self._execute(session, p.load(row.payload), row.id)
                row.status, row.result = DONE, message
                self._audit(session, "system", "executed", row.id, message)
                return Outcome(row, True, message)
        except _NotClaimable:
            raise UserInputError(self._why_not(proposal_id)) from None
        except UserInputError as exc:
            return Outcome(self._fail(proposal_id, str(exc)), False, str(exc))

    def claim(self, proposal_id: int) -> Proposal:
        """Move a pending proposal to executing, committed, before anything is sent; once."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            claimed = _claim_pending(session, proposal_id, now)
            if claimed:
                self._audit(session, "owner", "approved", proposal_id, "")
        if not claimed:
            raise UserInputError(self._why_not(proposal_id))
        return self.get(proposal_id)

    def settle(self, proposal_id: int, status: str, result: str, detail: str = "") -> Proposal:
        """Record how a claimed proposal ended: done, failed or unknown (`detail`: for the log)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == EXECUTING)
                .values(status=status, result=result)
            )
            self._audit(session, "system", status, proposal_id, detail or result)
        return self.get(proposal_id)

    def interrupted(self) -> list[Proposal]:
        """At start: proposals left executing by a stop are marked unknown (never re-run)."""
        with self._sessions.begin() as session:
            rows = list(session.scalars(select(Proposal).where(Proposal.status == EXECUTING)))
            for row in rows:
                row.status, row.result = UNKNOWN, INTERRUPTED
                self._audit(session, "system", UNKNOWN, row.id, INTERRUPTED)
        return rows

    def withdraw(self, proposal_id: int, reason: str) -> bool:
        """Close a pending proposal a newer one supersedes (the system's call, not the owner's)."""
        with self._sessions.begin() as session:
            closed = session.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == PENDING)
                .values(status=REJECTED, decided_at=self._clock.now(), result=reason)
            )
            if closed.rowcount == 1:  # type: ignore[attr-defined]
                self._audit(session, "system", "withdrawn", proposal_id, reason)
        return bool(closed.rowcount == 1)  # type: ignore[attr-defined]

    def note(
        self, proposal_id: int, action: str, detail: str = "", *, message: Outgoing | None = None
    ) -> None:
        """An entry in the audit trail (e.g. that the owner was asked about an unknown send);
        `message` (the question) is queued in the outbox in the same transaction."""
        with self._sessions.begin() as session:
            self._audit(session, "system", action, proposal_id, detail)
            if message is not None:
                queue(session, message, self._clock.now())

    def noted(self, proposal_id: int, action: str) -> bool:
        query = select(AuditEntry.id).where(
            AuditEntry.proposal_id == proposal_id, AuditEntry.action == action
        )
        with self._sessions() as session:
            return session.scalars(query.limit(1)).first() is not None

    def reject(self, proposal_id: int) -> Proposal:
        return self._close(proposal_id, REJECTED, "rejected", "Rejected by the owner.")

    def start_edit(self, proposal_id: int) -> Proposal:
        row = self._pending(proposal_id)
        if row.kind == "complete_task":
            raise UserInputError("There is nothing to edit in this one: approve or reject it.")
        with self._sessions.begin() as session:
            session.execute(delete(PendingEdit))
            session.add(PendingEdit(proposal_id=row.id, started_at=self._clock.now()))
            self._audit(session, "owner", "edit started", row.id, "")
        return row

    def editing(self) -> Proposal | None:
        """The proposal whose new content the owner's next message is, if any."""
        since = self._clock.now() - EDIT_WINDOW
        with self._sessions() as session:
            edit = session.scalars(
                select(PendingEdit).where(PendingEdit.started_at > since)
            ).first()
            if edit is None:
                return None
            row = session.get(Proposal, edit.proposal_id)
        return row if row is not None and row.status == PENDING else None

    def apply_edit(self, text: str) -> Proposal:
        """The owner's message becomes the new content: the old card is closed, a new one made."""
        old = self.editing()
        if old is None:
            raise UserInputError("There is no proposal being edited.")
        payload = self._edited(p.load(old.payload), text)
        with self._sessions.begin() as session:
            session.execute(delete(PendingEdit))
        self._close(old.id, REJECTED, "edited", "Replaced by an edit.")
        return self.propose(payload, old.origin, actor="owner", replaces=old.id)

    def expire_due(self) -> list[int]:
        """Close every pending proposal past its expiry; the ids closed."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            ids = list(
                session.scalars(
                    select(Proposal.id).where(
                        Proposal.status == PENDING, Proposal.expires_at <= now
                    )
                )
            )
            for proposal_id in ids:
                session.execute(
                    update(Proposal)
                    .where(Proposal.id == proposal_id, Proposal.status == PENDING)
                    .values(status=EXPIRED, decided_at=now, result="Expired without a decision.")
                )
                self._audit(session, "system", "expired", proposal_id, "")
        return ids

    # --- internals ---------------------------------------------------------------------------

    def _execute(self, session: Session, payload: p.Payload, proposal_id: int) -> str:
        if isinstance(payload, p.NewTask):
            due = _due(payload.due_at, payload.has_time)
            draft = TaskDraft(payload.title, due, payload.rule, payload.assignee)
            task = self._tasks.create_in(session, draft, AI)
            return f"Task #{task.id} saved."
        if isinstance(payload, p.ChangeTask):
            change = TaskChange(payload.title, _due(payload.due_at, payload.has_time))
            task = self._tasks.change_in(session, payload.task_id, change, AI)
            return f"Task #{task.id} changed."
        if isinstance(payload, p.FinishTask):
            current = self._tasks.get(payload.task_id)
            if current.due_at != payload.due_at:
                raise UserInputError("That task has changed since this card; nothing was done.")
            self._tasks.complete_in(session, payload.task_id, AI)
            return f"Task #{payload.task_id} marked done."
        if isinstance(payload, p.ContractorMessage):
            return self._to_contractor(session, payload, proposal_id)
        return "Approved: here is the final text to copy."

    def _edited(self, payload: p.Payload, text: str) -> p.Payload:
        text = text.strip()
        if not text:
            raise UserInputError("Send the new text as a message.")
        if isinstance(payload, p.NewTask):
            return self.task_from_draft(self._tasks.draft(text))
        if isinstance(payload, p.ChangeTask):
            return self.change_from(payload.task_id, self._tasks.read_change(text))
        if isinstance(payload, p.ContractorMessage):
            if len(text) > MAX_TO_CONTRACTOR:
                raise UserInputError(f"A message can be at most {MAX_TO_CONTRACTOR} characters.")
            return payload.model_copy(update={"text": text})
        if isinstance(payload, p.ReplyDraft):
            if len(text) > MAX_REPLY:
                raise UserInputError(f"A reply can be at most {MAX_REPLY} characters.")
            return payload.model_copy(update={"text": text})
        raise UserInputError("There is nothing to edit in this one: approve or reject it.")

    def _to_contractor(
        self, session: Session, payload: p.ContractorMessage, proposal_id: int
    ) -> str:
        """Queue the approved message for the contractor's chat (sent once, never re-sent)."""
        who = session.get(Contractor, payload.contractor_id)
        if who is None or who.status != ACTIVE:
            raise UserInputError(f"@{payload.name} no longer has access; nothing was sent.")
        text = "💬 " + team_render.esc(payload.text)
        key = f"{TEAM}:{who.id}:proposal:{proposal_id}"
        queue(session, Outgoing(key, TEAM, text), self._clock.now())
        return f"Queued for @{who.name}; it goes out with the next scheduled send."

    def _pending(self, proposal_id: int) -> Proposal:
        row = self.get(proposal_id)
        if row.status != PENDING or row.expires_at <= self._clock.now():
            raise UserInputError(self._why_not(proposal_id))
        return row

    def _close(self, proposal_id: int, status: str, action: str, result: str) -> Proposal:
        now = self._clock.now()
        with self._sessions.begin() as session:
            closed = session.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == PENDING)
                .values(status=status, decided_at=now, result=result)
            )
            if closed.rowcount == 1:  # type: ignore[attr-defined]
                self._audit(session, "owner", action, proposal_id, "")
        if closed.rowcount != 1:  # type: ignore[attr-defined]
            raise UserInputError(self._why_not(proposal_id))  # a replayed Reject: one sentence
        return self.get(proposal_id)

    def _fail(self, proposal_id: int, reason: str) -> Proposal:
        with self._sessions.begin() as session:
            session.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id)
                .values(status=FAILED, decided_at=self._clock.now(), result=reason)
            )
            self._audit(session, "system", "failed", proposal_id, reason)
        return self.get(proposal_id)

    def _why_not(self, proposal_id: int) -> str:
        row = self.get(proposal_id)
        if row.status == PENDING:
            return f"Proposal #{proposal_id} has expired; nothing was done."
        words = {
            EXECUTING: "is already being carried out",
            DONE: "was already approved and done",
            FAILED: "was approved but failed",
            REJECTED: "was rejected",
            EXPIRED: "has expired",
            UNKNOWN: "was sent but its outcome is unknown",
        }
        return (
            f"Proposal #{proposal_id} {words.get(row.status, 'is closed')}; nothing more was done."
        )

    def _audit(
        self, session: Session, actor: str, action: str, pid: int | None, detail: str
    ) -> None:
        session.add(
            AuditEntry(
                at=self._clock.now(),
                actor=actor,
                area=PROPOSALS,
                action=action,
                proposal_id=pid,
                detail=detail[:500],
            )
        )


class _NotClaimable(Exception):
    """The proposal is not pending (or has expired)."""


def _due(at: datetime | None, has_time: bool) -> Due | None:
    return Due(at, has_time) if at is not None else None


def _claim_pending(session: Session, proposal_id: int, now: datetime) -> bool:
    """pending (and not expired) → executing, in one conditional UPDATE; False if not pending."""
    claimed = session.execute(
        update(Proposal)
        .where(
            Proposal.id == proposal_id,
            Proposal.status == PENDING,
            Proposal.expires_at > now,
        )
        .values(status=EXECUTING, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
