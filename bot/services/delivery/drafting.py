"""Drafting replies to clients: the delivery job that runs in its own loop, never in the tick.

Each run takes every client quiet long enough (an atomic claim: two runs never draft the same
burst) and queues, per burst, the draft's card with its proposal, or a note saying why there
is none (drafting off is silent; AI off or a failed draft is told). One run at a time; a run
cancelled mid-draft (the bot stopping) hands its untouched bursts back for the next start.
Client chats are Telegram's only: without a transport (the terminal) nothing is drafted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from bot.db.proposals import Proposal
from bot.errors import MicrodeskError
from bot.services.clients.drafts import DueDraft, ReplyDrafter
from bot.services.clients.replies import ReplyDelivery
from bot.services.clients.service import ClientService
from bot.services.delivery import keys
from bot.services.delivery.outbox import OutboxService, Outgoing
from bot.services.delivery.tick import Message

if TYPE_CHECKING:
    from bot.services.proposals.ai_turn import AIAssistant

log = logging.getLogger(__name__)


class DraftWording(Protocol):
    """The words of a drafted reply's card and of the notes (implemented in commands/)."""

    def card(self, row: Proposal) -> Message: ...

    def ai_off(self, due: DueDraft) -> str: ...

    def not_drafted(self, due: DueDraft, reason: str | None) -> str: ...


class Drafting:
    def __init__(
        self,
        drafts: ReplyDrafter,
        clients: ClientService,
        replies: ReplyDelivery,
        outbox: OutboxService,
        ai: AIAssistant | None,
    ) -> None:
        self._drafts = drafts
        self._clients = clients
        self._replies = replies
        self._outbox = outbox
        self._ai = ai
        self._lock = asyncio.Lock()  # one run at a time

    async def run(self, wording: DraftWording) -> int:
        """Draft for clients quiet long enough; how many cards and notes were queued."""
        if self._replies.transport is None:  # client chats are served by the Telegram bot only
            return 0
        async with self._lock:
            taken = self._drafts.take_due()
            queued = 0
            for n, due in enumerate(taken):
                try:
                    queued += await self._draft(due, wording)
                except asyncio.CancelledError:
                    self._drafts.release(taken[n:])
                    raise
            return queued

    async def _draft(self, due: DueDraft, wording: DraftWording) -> int:
        """The burst's card, queued with its proposal; or a note saying why there is none."""
        if not self._clients.autodraft:
            return 0
        if self._ai is None:
            return self._note(due, wording.ai_off(due))

        def card(row: Proposal) -> Outgoing:
            message = wording.card(row)
            return keys.card(row.id, message.text, message.buttons)

        try:
            await self._drafts.draft(self._ai, due, announce=card)
        except MicrodeskError as exc:
            return self._note(due, wording.not_drafted(due, str(exc)))
        except Exception:
            log.exception("drafting a reply to client %s failed", due.client.id)
            return self._note(due, wording.not_drafted(due, None))
        return 1

    def _note(self, due: DueDraft, text: str) -> int:
        item = keys.no_draft(due.client.id, due.messages[-1].id, text)
        return int(self._outbox.put(item))
