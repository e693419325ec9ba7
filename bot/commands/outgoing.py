"""Messages the bot sends on its own: the outbox keys that name each once, and how a row goes out.

    reminder:<task>:<due instant>:<rung>, briefing:<local date>    (bot.services.delivery.reminders)
    card:<proposal>            a drafted reply's card, queued with the proposal
    question:<proposal>        "did your approved reply go out?", queued with the "asked" note
    backup:<ISO week>          that week's scheduled backup failed
    client:<client>:<message>  a client's burst that got no draft (AI off, or drafting failed)

The single re-send after an unknown outcome starts with the AGAIN marker. A card goes out only
while its proposal still waits for the owner; one approved, rejected, replaced or expired in the
meantime is dropped, since its buttons could only answer "nothing more was done".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.commands.reply import Button, Reply
from bot.db.outbox import CARD, NOTICE, QUESTION
from bot.services.delivery.outbox import Buttons, Claimed, NotWanted, Outgoing

if TYPE_CHECKING:
    from bot.services.proposals.approval import ProposalService

Send = Callable[[Reply], Awaitable[int | None]]  # Telegram's message id (None in the terminal)
AGAIN = (
    "<i>(sent again: I was interrupted while sending this — ignore it if you already have it)</i>"
)


def stored(reply: Reply) -> Buttons:
    """A reply's buttons as the outbox keeps them."""
    return tuple(tuple((b.text, b.data) for b in row) for row in reply.buttons)


def card(proposal_id: int, reply: Reply) -> Outgoing:
    return Outgoing(f"{CARD}:{proposal_id}", CARD, reply.text, stored(reply))


def question(proposal_id: int, reply: Reply) -> Outgoing:
    return Outgoing(f"{QUESTION}:{proposal_id}", QUESTION, reply.text)


def backup_failed(week: str, reply: Reply) -> Outgoing:
    return Outgoing(f"backup:{week}", NOTICE, reply.text)


def no_draft(client_id: int, last_message_id: int, reply: Reply) -> Outgoing:
    return Outgoing(f"client:{client_id}:{last_message_id}", NOTICE, reply.text)


async def deliver(send: Send, proposals: ProposalService, item: Claimed) -> int | None:
    """One outbox row as a reply; the single re-send after an unknown outcome says so."""
    if item.kind == CARD:
        proposal_id = int(item.key.split(":", 1)[1])
        if not proposals.waiting(proposal_id):
            raise NotWanted(f"proposal #{proposal_id} no longer waits for a decision")
    text = f"{AGAIN}\n{item.text}" if item.again else item.text
    buttons = tuple(tuple(Button(label, data) for label, data in row) for row in item.buttons)
    return await send(Reply(text, buttons=buttons))
