"""Contractors' private chats: their own handler group, before the access guard.

Every update from an active contractor's private chat is handled here and stops here: it can
never fall through to the owner's commands, the assistant or the owner's buttons. Anyone else
(the owner, a business update, a group) passes on untouched; a non-owner's ``/start TOKEN``
with a valid invite joins, and every other update of a stranger, a revoked contractor, or a
reused, expired or forged token goes on to the guard's one refusal, with nothing stored.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Message, Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.app import Services
from bot.commands.reply import Reply
from bot.commands.team_desk import COMMANDS, ContractorDesk, Incoming
from bot.crashpoints import crash_point
from bot.db.team import Contractor
from bot.services.team.service import MAX_FILE, NoteFile
from bot.tg import business, render
from bot.tg.retry import with_retries

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]
Ctx = ContextTypes.DEFAULT_TYPE
GROUP = -3  # before business (-2) and the guard (-1)
TOO_BIG = "That file is over 10 MB; send a link in a /note instead."


class TeamHandlers:
    def __init__(self, services: Services, desk: ContractorDesk, owner: int) -> None:
        self.s = services
        self.desk = desk
        self.owner = owner

    def install(self, app: App) -> None:
        app.add_handler(TypeHandler(Update, self.route), group=GROUP)

    async def route(self, update: Update, context: Ctx) -> None:
        """A contractor's update is handled and stopped here; anyone else's passes on."""
        chat, user = update.effective_chat, update.effective_user
        if user is None or user.id == self.owner or chat is None or chat.type != "private":
            return
        if business.is_business(update):
            return
        member = self.s.team.member(user.id)
        if member is None:
            if await self._joined(update, context, user.id):
                raise ApplicationHandlerStop
            if await asyncio.to_thread(self.s.team.was_revoked, user.id):
                await self._unmenu(context, chat.id)  # their menu offered what they lost
            return  # the guard refuses: a stranger, revoked, or a bad token all alike
        try:
            await self._serve(member, update, context)
        except Exception:  # logged; still never passed on to the owner's handlers
            log.exception("a contractor's update %s failed", update.update_id)
        raise ApplicationHandlerStop

    async def _joined(self, update: Update, context: Ctx, user_id: int) -> bool:
        message = update.message
        if message is None or not message.text or not message.text.startswith("/start "):
            return False
        token = message.text.split(" ", 1)[1].strip()
        member = self.s.team.accept(token, user_id)
        if member is None:
            log.info("update %s: an invite that is not valid", update.update_id)
            return False
        log.info("contractor %s joined", member.id)
        await self._menu(context, message.chat_id)
        replies = await self.desk.command(member, "start", "", Incoming(_source(message)))
        await self._deliver(context, message.chat_id, replies)
        return True

    async def _serve(self, member: Contractor, update: Update, context: Ctx) -> None:
        if update.callback_query is not None:
            await self._press(member, update, context)
            return
        message = update.message
        if message is None:  # an edit, or anything else: nothing to do
            return
        incoming = await self._incoming(message, context)
        if isinstance(incoming, Reply):
            await self._deliver(context, message.chat_id, [incoming])
            return
        if message.text and message.text.startswith("/"):
            head, _, args = message.text.partition(" ")
            name = head[1:].split("@", 1)[0]
            replies = await self.desk.command(member, name, args, incoming)
        else:
            replies = await self.desk.text(member, incoming)
        await self._deliver(context, message.chat_id, replies)

    async def _incoming(self, message: Message, context: Ctx) -> Incoming | Reply:
        """The message as the desk reads it; a file is fetched here (or refused as too big)."""
        replied = message.reply_to_message
        replied_text = None
        if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
            replied_text = replied.text or replied.caption or ""
        file: NoteFile | None = None
        attached = _attachment(message)
        if attached is not None:
            file_id, name, size = attached
            if size > MAX_FILE:
                return Reply(TOO_BIG)
            got = await with_retries(lambda: context.bot.get_file(file_id))
            file = NoteFile(name, bytes(await got.download_as_bytearray()))
        elif message.text is None and message.caption is None:
            return Reply("I pass on text and files; send /help for what you can do.")
        text = message.text or message.caption or ""
        return Incoming(_source(message), text, replied_text, file)

    async def _press(self, member: Contractor, update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query is not None
        replies = await self.desk.press(member, query.data, f"q:{query.id}")
        crash_point("mid_handler")  # the change committed, the answer not sent yet
        toast = next((r.toast for r in replies if r.toast), None)
        await with_retries(lambda: query.answer(toast[:200] if toast else None))
        message = query.message
        if message is None or message.chat.id != query.from_user.id:
            return  # a button of someone else's chat: the toast is the whole answer
        for reply in replies:
            if reply.edit and message.is_accessible:
                await render.edit(context.bot, message, reply)  # type: ignore[arg-type]
            else:
                await render.send(context.bot, message.chat.id, reply)

    async def _deliver(self, context: Ctx, chat_id: int, replies: list[Reply]) -> None:
        crash_point("mid_handler")  # the change committed, the answer not sent yet
        for reply in replies:
            await render.send(context.bot, chat_id, reply)

    @staticmethod
    async def _menu(context: Ctx, chat_id: int) -> None:
        """The contractor's own command menu (the owner's is not theirs to see)."""
        commands = [BotCommand(name, text) for name, text in COMMANDS.items()]
        try:
            await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
        except Exception:  # a menu is a nicety: joining does not depend on it
            log.warning("could not set a contractor's command menu", exc_info=True)

    @staticmethod
    async def _unmenu(context: Ctx, chat_id: int) -> None:
        """A revoked contractor's chat goes back to no command menu."""
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        except Exception:
            log.warning("could not clear a revoked contractor's command menu", exc_info=True)


def _attachment(message: Message) -> tuple[str, str, int] | None:
    """A document or a photo (its largest size): file id, a name, its declared size."""
    if message.document is not None:
        doc = message.document
        return doc.file_id, doc.file_name or "file", doc.file_size or 0
    if message.photo:
        photo = message.photo[-1]
        return photo.file_id, f"photo-{message.message_id}.jpg", photo.file_size or 0
    return None


def _source(message: Message) -> str:
    return f"m:{message.chat_id}:{message.message_id}"
