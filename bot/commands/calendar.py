"""/feed: the secret calendar feed link, and `/feed revoke` to replace it; the sync's job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.reply import Reply, esc

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

NOT_SERVED = (
    "The calendar feed needs an HTTP server: set FEED_PORT (or run in webhook mode) and "
    "restart, then send /feed again."
)
HOW = (
    "Subscribe to it in Google Calendar (Other calendars → From URL) or any calendar app. "
    "Anyone with this link can read your deadlines: /feed revoke makes a new one and "
    "the old one stops working."
)


class CalendarCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def register(self, router: Router) -> None:
        router.command(
            "feed", "calendar feed link (read-only); /feed revoke replaces it", self.feed
        )

    async def feed(self, args: str) -> list[Reply]:
        """The feed's secret URL; `revoke` rotates its token first."""
        word = args.strip().lower()
        if word not in ("", "revoke"):
            return [Reply("Use /feed for the link, or /feed revoke for a new one.")]
        if word == "revoke":
            self.s.feed.rotate()
        if not self.s.feed.served:
            return [Reply(NOT_SERVED)]
        head = "🔑 New calendar feed link" if word else "📅 Your calendar feed"
        note = ""
        if self.s.settings.FEED_PORT is not None:
            note = "\n(Put this machine's address in place of THIS-MACHINE.)"
        url = esc(self.s.feed.url())
        return [Reply(f"{head}:\n<code>{url}</code>{note}\n{HOW}")]

    async def sync_due(self) -> int:
        """The scheduler's job: a calendar round when one is due; notices queued meanwhile."""
        return await self.s.calendar.tick() if self.s.calendar is not None else 0
