"""Drafted replies to clients: one per burst of messages, in the owner's voice, as a proposal.

A background job (never the scheduler tick: a slow model must not hold reminders back) takes
each client whose quiet period has passed (an atomic claim, so two runs never draft the same
burst), and the AI drafts a reply from the documents, the client's recent thread and the
owner's latest corrections of earlier drafts. A newer draft for the same client withdraws the
older card. A run stopped mid-draft hands the bursts it had taken back (:meth:`release`).
Nothing here sends anything: the draft is a pending proposal, its card queued in the outbox
with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.clients import FROM_CLIENT, Client, ClientMessage, ClientRepo, ReplyEdit
from bot.db.proposals import Proposal
from bot.services.clients.service import ClientService
from bot.services.proposals import payloads as p
from bot.services.proposals.approval import Announce, ProposalService

if TYPE_CHECKING:
    from bot.services.proposals.ai_turn import AIAssistant

EXAMPLES = 3  # the owner's latest edits shown to the model as examples of their voice
ORIGIN = "business"
MAX_INCOMING = 2000


@dataclass(frozen=True)
class DueDraft:
    """A client whose burst of messages is waiting for a draft."""

    client: Client
    messages: list[ClientMessage]
    due_at: datetime  # the quiet period's end that was claimed

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)


class ReplyDrafter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        clients: ClientService,
        proposals: ProposalService,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._clients = clients
        self._proposals = proposals

    def take_due(self) -> list[DueDraft]:
        """Claim every client quiet long enough; those with messages still unanswered."""
        with self._sessions.begin() as session:
            repo = ClientRepo(session)
            due = [(c, c.draft_due_at) for c in repo.due_for_draft(self._clock.now())]
            taken = [(c, at) for c, at in due if at is not None and repo.take_due(c.id, at)]
        drafts = [DueDraft(c, self._clients.unanswered(c.id), at) for c, at in taken]
        return [d for d in drafts if d.messages]

    def release(self, drafts: Sequence[DueDraft]) -> None:
        """Hand taken bursts back undrafted (a stop mid-run); a newer message's period stays."""
        with self._sessions.begin() as session:
            for due in drafts:
                session.execute(
                    update(Client)
                    .where(Client.id == due.client.id, Client.draft_due_at.is_(None))
                    .values(draft_due_at=due.due_at)
                )

    async def draft(
        self, ai: AIAssistant, due: DueDraft, announce: Announce | None = None
    ) -> Proposal:
        """The AI's reply to the burst, stored as a pending proposal (the older card withdrawn);
        `announce` makes its card, queued in the outbox with the proposal."""
        client = due.client
        first = due.messages[0].id
        earlier = [m for m in self._clients.thread(client.id) if m.id < first]
        thread = [(client.name if m.sender == FROM_CLIENT else "Owner", m.text) for m in earlier]
        draft = await ai.draft_reply(client.name, due.text, thread, self.examples())
        payload = p.ReplyDraft(
            text=draft.text,
            recipient=client.name,
            client_id=client.id,
            incoming=due.text[:MAX_INCOMING],
            sources=draft.sources,
        )
        self._withdraw_older(client.id)
        return self._proposals.propose(payload, ORIGIN, announce=announce)

    def examples(self) -> list[tuple[str, str]]:
        with self._sessions() as session:
            return ClientRepo(session).examples(EXAMPLES)

    def learn(self, approved: Proposal) -> None:
        """Keep the AI's first draft beside the text the owner approved, when they differ."""
        final = p.load(approved.payload)
        first = approved
        while first.replaces_id is not None:
            first = self._proposals.get(first.replaces_id)
        draft = p.load(first.payload)
        if not isinstance(final, p.ReplyDraft) or not isinstance(draft, p.ReplyDraft):
            return
        if draft.text.strip() == final.text.strip():
            return
        with self._sessions.begin() as session:
            session.add(
                ReplyEdit(
                    client_id=final.client_id,
                    proposal_id=approved.id,
                    draft=draft.text,
                    final=final.text,
                    at=self._clock.now(),
                )
            )

    def _withdraw_older(self, client_id: int) -> None:
        for row in self._proposals.pending():
            payload = p.load(row.payload)
            if isinstance(payload, p.ReplyDraft) and payload.client_id == client_id:
                self._proposals.withdraw(row.id, "Replaced by a newer draft.")
