"""Telegram Business: the connection, client chats, and sending approved replies into them.

Business updates are handled here, in a handler group before the access guard, and each
handler stops the update there: a client's ``/tasks`` never reaches the owner's commands, and
nothing in a client chat is ever answered by itself. Only the owner's own connection counts
(anyone else who connects the bot to their account is ignored). Approved replies go out as
plain text with ``business_connection_id``; Telegram's errors become the outcomes of
:mod:`bot.services.clients.replies` (a time-out: unknown, never retried).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import BusinessConnection, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BusinessConnectionHandler,
    BusinessMessagesDeletedHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.commands.business import BusinessCommands
from bot.services.clients.replies import Sent
from bot.services.clients.service import ConnectionInfo, IncomingMessage
from bot.services.delivery.send_errors import SendRateLimited, SendRefused, SendUnknown
from bot.tg import render

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]
Ctx = ContextTypes.DEFAULT_TYPE
GROUP = -2  # before the access guard (-1): business updates stop here
UPDATES = [
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
]
SEND_TIMEOUT = 15.0  # seconds to wait for Telegram's answer to an approved reply
ATTACHMENTS = ("photo", "document", "voice", "video", "video_note", "audio", "sticker")


@dataclass
class TelegramTransport:
    """Sends approved replies into client chats; Telegram's answers mapped to outcomes."""

    bot: ExtBot[None]
    read_timeout: float = SEND_TIMEOUT

    async def send(self, connection_id: str, chat_id: int, text: str) -> Sent:
        try:
            message = await self.bot.send_message(
                chat_id,
                text,
                business_connection_id=connection_id,
                read_timeout=self.read_timeout,
            )
        except RetryAfter as exc:
            raise SendRateLimited(render.retry_after_seconds(exc)) from exc
        except TimedOut as exc:  # the request left; Telegram may have delivered it
            raise SendUnknown() from exc
        except Forbidden as exc:
            raise SendRefused("the bot may not write in this chat any more") from exc
        except BadRequest as exc:
            raise SendRefused(_bad_request(exc)) from exc
        except NetworkError as exc:  # a dropped connection or a 5xx: it may have gone out
            raise SendUnknown() from exc
        return Sent(message.message_id, message.date)


class BusinessHandlers:
    """One callback per kind of business update; each stores, then stops the update."""

    def __init__(self, business: BusinessCommands, owner: int) -> None:
        self.business = business
        self.owner = owner
        self._foreign: set[str] = set()  # connections of other accounts: ignored

    def install(self, app: App) -> None:
        app.add_handler(BusinessConnectionHandler(self.on_connection), group=GROUP)
        business = filters.UpdateType.BUSINESS_MESSAGE
        edited = filters.UpdateType.EDITED_BUSINESS_MESSAGE
        app.add_handler(MessageHandler(business, self.on_message), group=GROUP)
        app.add_handler(MessageHandler(edited, self.on_edited), group=GROUP)
        app.add_handler(BusinessMessagesDeletedHandler(self.on_deleted), group=GROUP)

    async def on_connection(self, update: Update, context: Ctx) -> None:
        """The owner connected the bot in Telegram Business, changed its rights or turned it off."""
        connection = update.business_connection
        assert connection is not None
        notice = self.business.connected(connection_info(connection))
        if notice is not None:
            await render.send(context.bot, self.owner, notice)
        raise ApplicationHandlerStop

    async def on_message(self, update: Update, context: Ctx) -> None:
        """A message in a client chat (the client's, or the owner's own): stored, never answered."""
        message = update.business_message
        assert message is not None
        if await self._ours(message.business_connection_id, context.bot):
            stored = self.business.received(incoming(message))
            log.info("business message %s stored: %s", message.message_id, stored)
        raise ApplicationHandlerStop

    async def on_edited(self, update: Update, context: Ctx) -> None:
        """A client chat message was edited: the stored thread follows."""
        message = update.edited_business_message
        assert message is not None
        if await self._ours(message.business_connection_id, context.bot):
            at = message.edit_date or message.date
            self.business.edited(message.chat.id, message.message_id, text_of(message), at)
        raise ApplicationHandlerStop

    async def on_deleted(self, update: Update, context: Ctx) -> None:
        """Messages were deleted in a client chat: they leave the stored thread."""
        deleted = update.deleted_business_messages
        assert deleted is not None
        if await self._ours(deleted.business_connection_id, context.bot):
            self.business.deleted(deleted.chat.id, list(deleted.message_ids))
        raise ApplicationHandlerStop

    async def _ours(self, connection_id: str | None, bot: ExtBot[None]) -> bool:
        """Is this the owner's connection? Asks Telegram once about one not seen yet."""
        if connection_id is None or connection_id in self._foreign:
            return False
        if self.business.knows(connection_id):
            return True
        try:
            connection = await bot.get_business_connection(connection_id)
        except TelegramError:
            log.warning("business connection %s could not be read", connection_id)
            return False
        if not self.business.learn(connection_info(connection)):
            log.info("ignoring business connection %s of another account", connection_id)
            self._foreign.add(connection_id)
            return False
        return True


def install(app: App, business: BusinessCommands, owner: int) -> BusinessHandlers:
    """Handlers for business updates, and the transport for approved replies."""
    handlers = BusinessHandlers(business, owner)
    handlers.install(app)
    business.open(TelegramTransport(app.bot))  # before any update runs: none is in flight
    return handlers


def is_business(update: Update) -> bool:
    return any(getattr(update, kind) is not None for kind in UPDATES)


def connection_info(connection: BusinessConnection) -> ConnectionInfo:
    rights = connection.rights
    can_reply = rights.can_reply if rights is not None else connection.api_kwargs.get("can_reply")
    return ConnectionInfo(
        id=connection.id,
        user_id=connection.user.id,
        user_chat_id=connection.user_chat_id,
        can_reply=bool(can_reply),
        is_enabled=connection.is_enabled,
    )


def incoming(message: Message) -> IncomingMessage:
    sender = message.from_user
    return IncomingMessage(
        connection_id=message.business_connection_id or "",
        chat_id=message.chat.id,
        message_id=message.message_id,
        sender_id=sender.id if sender is not None else 0,
        chat_name=message.chat.full_name or "a client",
        text=text_of(message),
        sent_at=message.date,
    )


def text_of(message: Message) -> str:
    """The text, or the caption, or what kind of message it was."""
    if message.text or message.caption:
        return message.text or message.caption or ""
    kind = next((name for name in ATTACHMENTS if getattr(message, name)), "message")
    return f"({kind.replace('_', ' ')} without text)"


def _bad_request(exc: BadRequest) -> str:
    text = exc.message.lower()
    if "business_connection" in text or "business connection" in text:
        return "the Telegram Business connection is not valid any more"
    if "peer" in text or "chat not found" in text:
        return "it doesn't let me write in this chat now"
    return "it rejected the message"
