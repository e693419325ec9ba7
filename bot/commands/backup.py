"""/backup sends a backup file (the weekly backup runs in the tick: bot.services.delivery)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.commands.reply import Document, Reply, esc

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

TELEGRAM_LIMIT = 50 * 1000 * 1000  # bots may send documents up to 50 MB


def human_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


class BackupCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def register(self, router: Router) -> None:
        router.command("backup", "a backup file of your data", self.backup)

    async def backup(self, args: str) -> list[Reply]:
        """A fresh backup, sent as one document (also kept in the backups folder)."""
        info = await self.s.backups.acreate()
        name, size = info.path.name, human_size(info.size)
        if info.size > TELEGRAM_LIMIT:
            return [
                Reply(
                    f"The backup is {size}, over Telegram's 50 MB limit for bots; it is kept on "
                    f"the server in the backups folder as {esc(name)}."
                )
            ]
        where = info.path.absolute()
        caption = f"🗄 Backup of your data ({size}). To restore it: microdesk restore {where}"
        content = await asyncio.to_thread(info.path.read_bytes)
        return [Reply(esc(caption), document=Document(name, content, caption))]
