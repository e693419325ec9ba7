"""The words of what the bot sends on its own, and how an outbox message becomes a Reply.

The tick itself — its order, recovery, jobs and the outbox keys — is bot.services.delivery;
:class:`TickWording` is the :class:`bot.services.delivery.tick.Wording` it renders through.
The single re-send after an unknown outcome starts with the AGAIN marker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.commands.reply import Button, Reply, esc
from bot.services.delivery.outbox import Buttons
from bot.services.delivery.tick import Message

if TYPE_CHECKING:
    from bot.commands.tasks.briefing import BriefingCommands
    from bot.services.delivery.reminders import DueReminder

Send = Callable[[Reply], Awaitable[int | None]]  # Telegram's message id (None in the terminal)
AGAIN = (
    "<i>(sent again: I was interrupted while sending this — ignore it if you already have it)</i>"
)


def stored(reply: Reply) -> Buttons:
    """A reply's buttons as the outbox keeps them."""
    return tuple(tuple((b.text, b.data) for b in row) for row in reply.buttons)


def message(reply: Reply) -> Message:
    return Message(reply.text, stored(reply))


def as_reply(item: Message) -> Reply:
    """An outbox message as the adapters send it; a re-send says so."""
    text = f"{AGAIN}\n{item.text}" if item.again else item.text
    buttons = tuple(tuple(Button(label, data) for label, data in row) for row in item.buttons)
    return Reply(text, buttons=buttons)


def sending(send: Send) -> Callable[[Message], Awaitable[int | None]]:
    """The adapter's `send` as the tick's :data:`bot.services.delivery.tick.Send`."""

    async def send_message(item: Message) -> int | None:
        return await send(as_reply(item))

    return send_message


class TickWording:
    """Reminders, the briefing and backup notices in Telegram's HTML subset."""

    def __init__(self, briefing: BriefingCommands) -> None:
        self._briefing = briefing

    def reminder(self, due: DueReminder) -> Message:
        return message(self._briefing.reminder(due))

    def briefing(self, *, late: bool) -> Message:
        return message(self._briefing.render(late=late))

    def backup_failed(self, text: str) -> Message:
        return Message(esc(text))
