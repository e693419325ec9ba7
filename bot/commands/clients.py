"""Clients over Telegram Business: /clients, /autodraft, Approve of a reply, drafting replies.

Drafting runs in its own loop (bot.services.delivery.drafting, worded here), never inside the
scheduler tick, so a slow model never holds a reminder back; the questions about interrupted
sends (:meth:`ClientCommands.ask_unknown`) are a quick tick job. Both only queue messages in the
outbox; the tick sends them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.commands import outgoing
from bot.commands.callbacks import Callback
from bot.commands.proposals import ProposalCommands
from bot.commands.render import when
from bot.commands.reply import Reply, bold, esc
from bot.db.proposals import DONE, UNKNOWN, Proposal
from bot.services.clients import service as c
from bot.services.clients.drafts import DueDraft
from bot.services.clients.replies import Delivery
from bot.services.delivery import keys
from bot.services.delivery.tick import Message
from bot.services.proposals import payloads as p

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

log = logging.getLogger(__name__)
PREVIEW = 80
NO_CLIENTS = (
    "No clients yet. Connect me in Telegram: Settings → Telegram Business → Chatbots, and allow "
    "me to reply; your clients' messages then get drafted replies here."
)
NOTICES = {
    c.CONNECTED: "🔌 Connected to your Telegram Business account: clients' messages will get "
    "drafted replies here, sent only when you tap Approve.",
    c.NO_REPLY: "🔌 Connected to your Telegram Business account, but without the right to reply: "
    "I'll draft replies for you to copy. Allow replies in Telegram Business → Chatbots to send "
    "them on Approve.",
    c.DISABLED: "🔌 The Telegram Business connection is off: I can't send replies to clients "
    "until you turn it on again.",
}


def connection_notice(state: str | None) -> Reply | None:
    """What the owner hears when the business connection is made, changed or turned off."""
    return Reply(esc(NOTICES[state])) if state in NOTICES else None


class ClientCommands:
    def __init__(self, services: Services, cards: ProposalCommands) -> None:
        self.s = services
        self.cards = cards
        self._drafting = asyncio.Lock()  # one draft run at a time

    def register(self, router: Router) -> None:
        router.command(
            "clients", "your Telegram Business clients, waiting ones first", self.clients
        )
        router.command("autodraft", "draft replies to clients: on or off", self.autodraft)
        router.on_callback("ca", self.press_approve)

    async def clients(self, args: str) -> list[Reply]:
        """Every client, those waiting for a reply first."""
        summaries = self.s.clients.summaries()
        if not summaries:
            return [Reply(esc(NO_CLIENTS))]
        return [Reply("\n".join(["<b>Clients</b>", *(self._line(s) for s in summaries)]))]

    def _line(self, summary: c.Summary) -> str:
        now, tz = self.s.clock.now(), self.s.prefs.tz
        last = summary.last
        said = f": “{esc(_preview(last.text))}”" if last is not None else ""
        if summary.waiting_since is not None:
            since = when(summary.waiting_since, True, tz, now)
            return f"⏳ {bold(summary.client.name)} — waiting since {since}{said}"
        return f"✓ {bold(summary.client.name)}{said}"

    async def autodraft(self, args: str) -> list[Reply]:
        """Turn drafted replies to clients on or off, or show the setting."""
        choice = args.strip().lower()
        if choice in ("on", "off"):
            self.s.clients.set_autodraft(choice == "on")
        state = "on" if self.s.clients.autodraft else "off"
        hint = "" if choice in ("on", "off") else " Change it with /autodraft on or /autodraft off."
        return [Reply(f"Drafting replies to clients is <b>{state}</b>.{hint}")]

    async def press_approve(self, cb: Callback) -> list[Reply]:
        """Approve of a client reply: sent into the client chat once, or handed back to copy."""
        delivery = await self.s.replies.approve(cb.int_arg())
        return self._delivered(delivery)

    def _delivered(self, delivery: Delivery) -> list[Reply]:
        outcome = delivery.outcome
        row, payload = outcome.proposal, p.load(outcome.proposal.payload)
        mark = _mark(row, delivery)
        text = f"{mark} · proposal #{row.id}\n{self.cards.describe(payload)}"
        text += f"\n<i>{esc(outcome.message)}</i>"
        replies = [Reply(text, edit=True, toast=outcome.message[:190])]
        if delivery.copy and isinstance(payload, p.ReplyDraft):
            replies.append(Reply(esc(payload.text)))  # the final text alone, to copy
        return replies

    # --- scheduled work ----------------------------------------------------------------------

    async def ask_unknown(self) -> int:
        """Queue one question about each approved reply a stop interrupted mid-send."""
        rows = self.s.replies.unasked()
        for row in rows:
            self.s.replies.asked(row.id, keys.question(row.id, self._ask(row).text))
        return len(rows)

    async def draft_due(self) -> int:
        """Draft for clients quiet long enough (bot.services.delivery.drafting); how many cards
        and notes were queued."""
        return await self.s.drafting.run(self)

    # --- the words of drafting (bot.services.delivery.drafting.DraftWording) ---------------

    def card(self, row: Proposal) -> Message:
        return outgoing.message(self.cards.card(row))

    def ai_off(self, due: DueDraft) -> str:
        return (
            f"💬 {bold(due.client.name)} wrote: “{esc(_preview(due.text, 300))}”\n"
            "<i>AI drafting is off, so there is no draft; answer them in Telegram.</i>"
        )

    def not_drafted(self, due: DueDraft, reason: str | None) -> str:
        name = due.client.name
        if reason is not None:
            return f"I couldn't draft a reply to {bold(name)}: {esc(reason)}"
        return f"I couldn't draft a reply to {bold(name)}; answer them in Telegram."

    def _ask(self, row: Proposal) -> Reply:
        payload = p.load(row.payload)
        name = payload.recipient if isinstance(payload, p.ReplyDraft) else "your client"
        text = payload.text if isinstance(payload, p.ReplyDraft) else ""
        return Reply(
            f"❓ I was stopped while sending your approved reply #{row.id} to {bold(name)}, so I "
            f"can't tell whether it went out. Please check your chat with them; if it is "
            f"missing, send this yourself:\n<blockquote>{esc(text)}</blockquote>"
        )


def _mark(row: Proposal, delivery: Delivery) -> str:
    if delivery.copy:
        return "📋 Approved, not sent"
    if row.status == DONE:
        return "✅ Sent"
    if row.status == UNKNOWN:
        return "❓ Approved, outcome unknown"
    return "⚠️ Approved, but not sent"


def _preview(text: str, limit: int = PREVIEW) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
