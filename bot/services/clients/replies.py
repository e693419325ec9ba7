"""Approved replies into client chats: claimed, sent once, recorded — or handed back to copy.

    Approve ──claim (pending → executing, committed)──▶ send ──▶ done (Telegram's message id)
                  │                                        ├──▶ failed  (refused: 403, rights)
                  │                                        ╰──▶ unknown (timed out after it left)
                  ╰── can't be sent (no right, window closed, no transport) ──▶ done: text to copy

The recipient (chat and connection) comes from the stored client record named by the payload's
``client_id``, never from model output. An unknown outcome is never retried: the owner is asked
to look. A proposal found ``executing`` at start was interrupted between claim and the end of
the send: it is marked unknown and the owner asked, too. A 429 is honoured once (the request was
refused, so nothing went out).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.db.clients import Client
from bot.db.proposals import DONE, FAILED, UNKNOWN, Proposal
from bot.errors import UserInputError
from bot.services.audit import AI, SENDS, AuditLog
from bot.services.clients.drafts import ReplyDrafter
from bot.services.clients.service import ClientService
from bot.services.delivery.outbox import Outgoing
from bot.services.delivery.send_errors import SendRateLimited, SendRefused, SendUnknown
from bot.services.proposals import payloads as p
from bot.services.proposals.approval import Outcome, ProposalService

log = logging.getLogger(__name__)
MAX_RETRY_AFTER = 30.0  # seconds; a longer wait fails the send instead of blocking the chat
ASKED = "owner asked"


@dataclass(frozen=True)
class Sent:
    message_id: int
    at: datetime


class Transport(Protocol):
    """Sends plain text into a client chat through the owner's business connection."""

    async def send(self, connection_id: str, chat_id: int, text: str) -> Sent: ...


@dataclass(frozen=True)
class Delivery:
    """How an approved reply ended: sent, handed back to copy, failed or unknown."""

    outcome: Outcome
    client_name: str
    copy: bool = False  # the owner should send the text themselves


class ReplyDelivery:
    def __init__(
        self,
        proposals: ProposalService,
        clients: ClientService,
        drafter: ReplyDrafter,
        audit: AuditLog,
        transport: Transport | None = None,
    ) -> None:
        self._audit = audit
        self._proposals = proposals
        self._clients = clients
        self._drafter = drafter
        self.transport = transport

    async def approve(self, proposal_id: int) -> Delivery:
        """The owner's Approve of a client reply: at most one send, whatever happens."""
        payload = p.load(self._proposals.get(proposal_id).payload)
        if not isinstance(payload, p.ReplyDraft) or payload.client_id is None:
            raise UserInputError(f"Proposal #{proposal_id} is not a reply to a client.")
        client = self._clients.get(payload.client_id)
        reason = self._clients.blocked(client) if self.transport else "I can't send from here."
        row = self._proposals.claim(proposal_id)  # UserInputError on a second tap
        self._drafter.learn(row)
        if reason is not None or client is None or self.transport is None:
            message = f"Not sent: {reason} Here is the text to copy."
            return Delivery(self._settle(row.id, DONE, message, ok=True), _name(client), copy=True)
        return await self._send(row, client, payload.text)

    def open(self, transport: Transport) -> None:
        """Client chats are served from now on: approved replies go out through `transport`
        (the Telegram adapter's; the terminal has none)."""
        self.transport = transport

    def interrupted(self) -> list[Proposal]:
        """At start: sends a stop interrupted between claim and result become unknown."""
        return self._proposals.interrupted()

    def unasked(self) -> list[Proposal]:
        """Replies whose outcome is unknown and about which the owner was not asked yet."""
        rows = self._proposals.in_status(UNKNOWN)
        return [row for row in rows if not self._proposals.noted(row.id, ASKED)]

    def asked(self, proposal_id: int, question: Outgoing | None = None) -> None:
        """Record that the owner was asked; `question` goes into the outbox in that record."""
        self._proposals.note(proposal_id, ASKED, message=question)

    # --- internals ---------------------------------------------------------------------------

    async def _send(self, row: Proposal, client: Client, text: str) -> Delivery:
        name = client.name
        try:
            sent = await self._send_once_more_on_429(client, text)
        except SendUnknown:
            log.warning("reply %s: outcome unknown", row.id)
            message = (
                f"I couldn't tell whether the reply reached {name}: please check your chat "
                "with them before sending it again."
            )
            self.asked(row.id)
            return Delivery(self._settle(row.id, UNKNOWN, message, ok=False), name)
        except (SendRefused, SendRateLimited) as exc:
            log.warning("reply %s refused: %s", row.id, type(exc).__name__)
            message = _refused(exc, name)
            return Delivery(self._settle(row.id, FAILED, message, ok=False), name)
        note = f"telegram message {sent.message_id}"
        outcome = self._settle(row.id, DONE, f"Sent to {name}.", ok=True, note=note)
        self._clients.record_sent(client, sent.message_id, text, sent.at)
        self._audit.record(AI, SENDS, "sent a reply", f"to {name}: {text}", proposal_id=row.id)
        return Delivery(outcome, name)

    async def _send_once_more_on_429(self, client: Client, text: str) -> Sent:
        assert self.transport is not None
        try:
            return await self.transport.send(client.connection_id, client.chat_id, text)
        except SendRateLimited as exc:
            if exc.retry_after > MAX_RETRY_AFTER:
                raise
            await asyncio.sleep(exc.retry_after)
        return await self.transport.send(client.connection_id, client.chat_id, text)

    def _settle(
        self, proposal_id: int, status: str, message: str, *, ok: bool, note: str = ""
    ) -> Outcome:
        row = self._proposals.settle(proposal_id, status, message, note or message)
        return Outcome(row, ok, message)


def _refused(exc: Exception, name: str) -> str:
    if isinstance(exc, SendRateLimited):
        return f"Telegram is limiting how fast I send; nothing was sent to {name}."
    return f"Telegram refused the reply to {name} ({exc}); nothing was sent."


def _name(client: Client | None) -> str:
    return client.name if client is not None else "the client"
