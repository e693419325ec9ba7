"""Documents the owner sends: downloaded, indexed, progress shown by editing one message."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.commands.knowledge import KnowledgeCommands
from bot.commands.reply import bold, esc

MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB to bots
EDIT_EVERY = 1.0  # seconds between progress edits (Telegram rate-limits edits)
TOO_BIG = (
    "That file is over 20 MB, the most a bot can download; put it in your knowledge folder "
    "and run <code>microdesk ingest</code> instead."
)


class ProgressMessage:
    """One status message, edited at most once a second while work goes on."""

    def __init__(self, message: Message, name: str) -> None:
        self.message = message
        self.name = name
        self._last = 0.0
        self._pending: set[asyncio.Task[Any]] = set()

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        if now - self._last < EDIT_EVERY or total <= 0:
            return
        self._last = now
        text = f"📄 Reading {bold(self.name)}… {done}/{total} {esc(label)}"
        task = asyncio.create_task(self.edit(text))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def edit(self, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.message.edit_text(text, parse_mode=ParseMode.HTML)

    async def finish(self, text: str) -> None:
        for task in list(self._pending):
            task.cancel()
        await self.edit(text)


async def on_document(
    update: Update, context: ContextTypes.DEFAULT_TYPE, knowledge: KnowledgeCommands
) -> None:
    """Index a document the owner sent; one message shows progress and the outcome."""
    message = update.message
    assert message is not None and message.document is not None
    document = message.document
    name = document.file_name or "document"
    if (document.file_size or 0) > MAX_DOWNLOAD:
        await message.reply_text(TOO_BIG, parse_mode=ParseMode.HTML)
        return
    status = await message.reply_text(f"📄 Reading {bold(name)}…", parse_mode=ParseMode.HTML)
    progress = ProgressMessage(status, name)
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError:
        await progress.finish(f"📄 I couldn't download {bold(name)} from Telegram; send it again.")
        return
    reply = await knowledge.upload(name, data, progress)
    await progress.finish(reply.text)
