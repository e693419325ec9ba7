"""The python-telegram-bot Application: access guard, one handler per kind of update.

Handlers only read the update, hand it to the conversation router and render the replies.
Only the owner's private chat is served; groups and channels are ignored; anyone else gets one
polite refusal and nothing else runs for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from functools import partial
from typing import Any, Protocol

from telegram import (
    BotCommand,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.app import Services
from bot.commands.build import Conversation, build_conversation
from bot.commands.reply import Reply
from bot.crashpoints import crash_point
from bot.services.delivery.loop import Loops
from bot.tg import business, documents, render, team
from bot.tg.feed import FeedServer
from bot.tg.polling import DurablePoller
from bot.tg.retry import with_retries
from bot.tg.webhook import LISTEN_ALL, WebhookServer

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]
Ctx = ContextTypes.DEFAULT_TYPE
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", *business.UPDATES]
STOP_GRACE_SECONDS = 30.0
# `run` holds the first scheduler tick and the background indexing back this long, so the first
# getUpdates leaves at once instead of after a briefing, a reminder sweep or a model load
BACKGROUND_DELAY_SECONDS = 1.0
REFUSAL = "Sorry, this is a private assistant: it only works for its owner."


class Intake(Protocol):
    """How updates arrive: our long-polling loop or the webhook server, both into the inbox."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class TelegramAdapter:
    """Builds the Application for the owner and runs the scheduled sends beside it."""

    def __init__(
        self, services: Services, *, tick_seconds: float = 20.0, webhook_host: str = LISTEN_ALL
    ) -> None:
        settings = services.settings
        if settings.TELEGRAM_BOT_TOKEN is None or settings.OWNER_TELEGRAM_ID is None:
            raise ValueError("TELEGRAM_BOT_TOKEN and OWNER_TELEGRAM_ID are required")
        self.s = services
        self.owner = settings.OWNER_TELEGRAM_ID
        self.conversation: Conversation = build_conversation(services)
        self.tick_seconds = tick_seconds
        self.webhook_host = webhook_host
        self._background: Loops | None = None  # the scheduler tick and the drafting
        self._receiver: asyncio.Task[None] | None = None
        self._indexer: asyncio.Task[None] | None = None
        self._intake: Intake | None = None
        self.failure: BaseException | None = None  # why updates stopped coming in, if they did
        self._feed: FeedServer | None = None  # the calendar feed on FEED_PORT
        self.app = self._build(settings.TELEGRAM_BOT_TOKEN.get_secret_value())

    def _build(self, token: str) -> App:
        root = self.s.settings.TELEGRAM_API_BASE_URL
        app: App = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .updater(None)  # our poller or webhook persists updates before confirming them
            .build()
        )
        owner_private = (
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.User(self.owner)
        )
        business.install(
            app, self.conversation.business, self.owner
        )  # group -2: client chats never pass the guard
        # group -3: a contractor's private chat is served there and never passes the guard
        team.TeamHandlers(self.s, self.conversation.desk, self.owner).install(app)
        app.add_handler(TypeHandler(Update, self.guard), group=-1)
        app.add_handler(MessageHandler(owner_private & filters.COMMAND, self.on_command))
        app.add_handler(MessageHandler(owner_private & filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(owner_private & filters.Document.ALL, self.on_document))
        app.add_handler(MessageHandler(owner_private, self.on_other))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_error_handler(self.on_error)
        return app

    # --- lifecycle ---------------------------------------------------------------------------

    async def _started(self, app: App, delay: float) -> None:
        commands = [
            BotCommand(c.name, c.description[:256])
            for c in self.conversation.router.commands.values()
        ]
        await app.bot.set_my_commands(commands)
        self.conversation.team.connect(app.bot.username, partial(render.send_tracked, app.bot))
        self._background = Loops(self.tick, self.conversation.clients.draft_due, self.tick_seconds)
        self._background.start(delay)
        self._indexer = asyncio.create_task(self._index_knowledge(delay), name="microdesk-ingest")
        if self.s.settings.FEED_PORT is not None:
            self._feed = FeedServer(self.s.feed, self.webhook_host, self.s.settings.FEED_PORT)
            await self._feed.start()

    async def startup(self, *, poll_timeout: int = 30, background_delay: float = 0.0) -> None:
        """Start the bot inside a running event loop: updates coming in first, so the owner is
        served at once; then the command menu, and after `background_delay` seconds the
        scheduler, the drafting of replies to clients and the indexing of the knowledge folder."""
        await self.app.initialize()
        await self.app.start()
        self._intake = await self._open_intake(poll_timeout)
        self._receiver = asyncio.create_task(self._intake.run(), name="microdesk-intake")
        await self._started(self.app, background_delay)

    async def _open_intake(self, poll_timeout: int) -> Intake:
        """The webhook when WEBHOOK_URL is set, else long polling (after removing any webhook)."""
        settings = self.s.settings
        if settings.WEBHOOK_URL is None:
            info = await self.app.bot.get_webhook_info()
            if info.url:  # getUpdates answers 409 Conflict while a webhook is set
                log.info("a webhook was set; deleting it to poll (pending updates are kept)")
                await self.app.bot.delete_webhook(drop_pending_updates=False)
            return DurablePoller(self.app, self.s.inbox, ALLOWED_UPDATES, timeout=poll_timeout)
        assert settings.WEBHOOK_SECRET is not None  # the settings require it with WEBHOOK_URL
        return WebhookServer(
            self.app,
            self.s.inbox,
            ALLOWED_UPDATES,
            url=settings.WEBHOOK_URL,
            secret=settings.WEBHOOK_SECRET.get_secret_value(),
            port=settings.WEBHOOK_PORT,
            host=self.webhook_host,
            feed=self.s.feed if settings.FEED_PORT is None else None,
        )

    async def shutdown(self) -> None:
        if self._receiver is not None and self._intake is not None:
            self._intake.stop()  # the update being handled finishes first
            done, _ = await asyncio.wait({self._receiver}, timeout=STOP_GRACE_SECONDS)
            if not done:
                self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._receiver
            self._receiver = None
        if self.app.running:
            await self.app.stop()
        await self._stopped(self.app)
        await self.app.shutdown()

    def run(self) -> bool:
        """Serve until SIGINT or SIGTERM (the `run` verb); False if updates stopped coming in."""
        return asyncio.run(self.serve())

    async def serve(self) -> bool:
        """Start, then stop cleanly on SIGINT / SIGTERM or when updates stop coming in."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.startup(background_delay=BACKGROUND_DELAY_SECONDS)
        assert self._receiver is not None
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, self._receiver}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        failed = self._receiver.done()  # e.g. Telegram refused the token or WEBHOOK_URL (logged)
        if failed and not self._receiver.cancelled():
            self.failure = self._receiver.exception()  # `run` says it in one line
        await self.shutdown()
        return not failed

    async def _stopped(self, app: App) -> None:
        if self._feed is not None:
            await self._feed.stop()
            self._feed = None
        if self._indexer is not None:
            self._indexer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._indexer
            self._indexer = None
        if self._background is not None:
            await self._background.stop()
            self._background = None
        await self.s.aclose()

    async def _index_knowledge(self, delay: float = 0.0) -> None:
        """Read new or changed files in KNOWLEDGE_DIR in the background, then warm the index."""
        await asyncio.sleep(delay)
        if not self.s.settings.KNOWLEDGE_DIR.is_dir():
            return
        try:
            report = await self.s.knowledge.aingest_dir()
            log.info("knowledge folder: %s", report.summary)
            if await self.s.knowledge.alist_documents():
                await self.s.knowledge.awarm_up()
        except Exception:
            log.exception("indexing the knowledge folder failed")

    async def tick(self) -> int:
        """One scheduler tick: what is due goes to the owner."""
        return await self.conversation.run_tick(self.send_to_owner)

    async def send_to_owner(self, reply: Reply) -> int | None:
        """A scheduled message to the owner; its message id, or a bot.services.delivery.send_errors
        error."""
        return await render.send_tracked(self.app.bot, self.owner, reply)

    # --- handlers ----------------------------------------------------------------------------

    async def guard(self, update: Update, context: Ctx) -> None:
        """Let the owner's private updates through; refuse or ignore everything else."""
        chat, user = update.effective_chat, update.effective_user
        if chat is not None and chat.type != "private":
            raise ApplicationHandlerStop
        if business.is_business(update):  # handled (or ignored) in bot.tg.business, never here
            raise ApplicationHandlerStop
        if user is not None and user.id == self.owner:
            return
        log.info("refused update %s from a non-owner", update.update_id)
        if update.callback_query is not None:
            await update.callback_query.answer(REFUSAL)
        elif update.message is not None and chat is not None:
            await context.bot.send_message(chat.id, REFUSAL)
        raise ApplicationHandlerStop

    async def on_command(self, update: Update, context: Ctx) -> None:
        """A /command from the owner."""
        message = update.message
        assert message is not None and message.text is not None
        head, _, args = message.text.partition(" ")
        name = head[1:].split("@", 1)[0]
        replies = await self.conversation.router.run_command(name, args)
        await self._deliver(message.chat_id, replies)

    async def on_text(self, update: Update, context: Ctx) -> None:
        """Plain text from the owner goes to the assistant."""
        message = update.message
        assert message is not None and message.text is not None
        router = self.conversation.router
        sender = forward_sender(message)
        if sender is not None:
            replies = await router.forwarded(sender, message.text)
        else:
            replies = await router.text(message.text)
        await self._deliver(message.chat_id, replies)

    async def on_document(self, update: Update, context: Ctx) -> None:
        """A document from the owner: indexed, then cited in answers."""
        await documents.on_document(update, context, self.conversation.knowledge)

    async def on_other(self, update: Update, context: Ctx) -> None:
        """Stickers, photos, voice: say what works."""
        assert update.message is not None
        text = "I read text and documents (PDF, Word, text, HTML, CSV, email); send /help."
        await self._deliver(update.message.chat_id, [Reply(text)])

    async def on_button(self, update: Update, context: Ctx) -> None:
        """A press on one of our inline buttons."""
        query = update.callback_query
        assert query is not None
        replies = await self.conversation.router.press(query.data)
        toast = next((r.toast for r in replies if r.toast), None)
        await with_retries(partial(query.answer, toast[:200] if toast else None))
        message = query.message
        if message is None:
            return
        for reply in replies:
            if reply.edit and message.is_accessible:
                await render.edit(context.bot, message, reply)  # type: ignore[arg-type]
            else:
                await render.send(context.bot, message.chat.id, reply)

    async def _deliver(self, chat_id: int, replies: list[Reply]) -> None:
        crash_point("mid_handler")  # the handler's change committed, the reply not sent yet
        for reply in replies:
            await render.send(self.app.bot, chat_id, reply)

    async def on_error(self, update: object, context: Ctx) -> None:
        log.error("handler failed: %s", type(context.error).__name__, exc_info=context.error)


def forward_sender(message: Message) -> str | None:
    """The display name of whoever wrote a forwarded message, as Telegram reports it."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title or "a chat"
    if isinstance(origin, MessageOriginChannel):
        return origin.chat.title or "a channel"
    return None
