"""Our own long-polling loop: persist each update before Telegram may forget it, then handle.

python-telegram-bot's Updater confirms an update (the next getUpdates offset) before its
handlers run, so a crash in between loses it. Here the Application is built without an
Updater; this loop fetches, stores, drains, and only then moves the offset on. The store does
not wait for the disk: the drain ends each update in a durable commit, which covers the store
before the next getUpdates confirms the batch (see :mod:`bot.services.inbox`).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.crashpoints import crash_point
from bot.services.inbox import Inbox
from bot.tg.worker import InboxWorker

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]


class DurablePoller:
    def __init__(
        self, app: App, inbox: Inbox, allowed_updates: list[str], *, timeout: int = 30
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.worker = InboxWorker(app, inbox)
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self._backoff = 1.0
        self._stopping = False
        self._fetching: asyncio.Task[tuple[Update, ...] | None] | None = None

    def stop(self) -> None:
        """Stop after the update being handled (an idle long poll is cut short)."""
        self._stopping = True
        self.worker.stop()
        if self._fetching is not None:
            self._fetching.cancel()

    async def run(self) -> None:
        """Finish what a crash left, then poll until stopped."""
        await asyncio.to_thread(self.inbox.recover)
        await self.worker.drain()
        offset = await asyncio.to_thread(self.inbox.next_offset)
        while not self._stopping:
            self._fetching = asyncio.create_task(self._fetch(offset))
            try:
                updates = await self._fetching
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            finally:
                self._fetching = None
            if updates is None:
                continue
            crash_point("after_fetch")
            batch = [u.to_dict() for u in updates]
            await asyncio.to_thread(partial(self.inbox.store, batch, durable=False))
            crash_point("after_persist")
            if updates:
                offset = max(u.update_id for u in updates) + 1
            await self.worker.drain(updates)

    async def _fetch(self, offset: int | None) -> tuple[Update, ...] | None:
        try:
            updates: tuple[Update, ...] = await self.app.bot.get_updates(
                offset=offset,
                timeout=self.timeout,
                allowed_updates=self.allowed_updates,
                read_timeout=self.timeout + 10,
            )
        except RetryAfter as exc:
            await asyncio.sleep(_seconds(exc.retry_after))
            return None
        except InvalidToken:
            log.error("Telegram refused the bot token; stopping the poller")
            raise
        except (Conflict, TimedOut, NetworkError) as exc:
            log.warning(
                "getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, self._backoff
            )
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, 30.0)
            return None
        self._backoff = 1.0
        return updates


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
