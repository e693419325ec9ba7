"""Telegram Business as the adapter hands it over: the connection, client chats, the transport.

The adapter (bot.tg.business) only turns Telegram's updates into :class:`ConnectionInfo` and
:class:`IncomingMessage` and calls here; what is stored, what the owner hears and which
connection counts is decided here and in :mod:`bot.services.clients`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.commands.clients import connection_notice
from bot.commands.reply import Reply
from bot.services.clients.replies import Transport
from bot.services.clients.service import ConnectionInfo, IncomingMessage

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


class BusinessCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def open(self, transport: Transport) -> None:
        """Client chats are served from now on: approved replies go out through `transport`.
        Called before any update runs, so a reply still marked as sending was interrupted."""
        self.s.replies.open(transport)
        interrupted = self.s.replies.interrupted()
        if interrupted:
            log.warning("%d approved replies were interrupted by a stop", len(interrupted))

    def connected(self, info: ConnectionInfo) -> Reply | None:
        """The connection was made, changed or turned off: what the owner hears, if anything."""
        return connection_notice(self.s.clients.connect(info))

    def knows(self, connection_id: str) -> bool:
        """Is this the owner's connection, as stored?"""
        return self.s.clients.knows(connection_id)

    def learn(self, info: ConnectionInfo) -> bool:
        """A connection not seen yet, as Telegram describes it: stored if it is the owner's."""
        self.s.clients.connect(info)
        return self.s.clients.knows(info.id)

    def received(self, message: IncomingMessage) -> bool:
        """A message in a client chat (the client's, or the owner's own): stored, never
        answered. Whether it belonged to a client."""
        return self.s.clients.receive(message) is not None

    def edited(self, chat_id: int, message_id: int, text: str, at: datetime) -> None:
        self.s.clients.edit(chat_id, message_id, text, at)

    def deleted(self, chat_id: int, message_ids: list[int]) -> None:
        self.s.clients.delete(chat_id, message_ids)
