"""Handle what the inbox holds: each stored update once, in order, across crashes.

Both ways updates arrive — our long-polling loop (:mod:`bot.tg.polling`) and the webhook
(:mod:`bot.tg.webhook`) — store an update first and then ask this worker to drain the inbox.

One update at a time: the next is taken only when the last one's handling (its database work,
run in a worker thread by :mod:`bot.commands.router`, and its replies) has ended. Meanwhile the
event loop is free for the scheduler tick, drafting and the poller, so a slow disk delays only
the update whose commit waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.crashpoints import crash_point
from bot.services.inbox import CURRENT_UPDATE, Inbox, Pending

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]
BATCH = 100  # stored updates read per query


class InboxWorker:
    def __init__(self, app: App, inbox: Inbox) -> None:
        self.app = app
        self.inbox = inbox
        self.stopping = False
        self._lock = asyncio.Lock()

    def stop(self) -> None:
        """Stop after the update being handled."""
        self.stopping = True

    async def drain(self, parsed: Sequence[Update] = ()) -> None:
        """Handle every stored update not handled yet, in order (one drain at a time).

        Whoever stores an update calls this afterwards: an update stored while a drain runs
        is handled by that later call, which waits for this one. `parsed`: updates the caller
        already holds as objects (the poller's batch), handled as they are instead of being
        parsed again from the stored copy.
        """
        known = {update.update_id: update for update in parsed}
        async with self._lock:
            while not self.stopping:
                taken = await asyncio.to_thread(self.inbox.take, BATCH)
                for pending in taken:
                    if self.stopping:
                        return  # the rest stay taken: the next start runs them (recover)
                    await self._handle(pending, known.pop(pending.update_id, None))
                if len(taken) < BATCH:  # that was all; no need to ask again
                    break
            if not self.stopping and self.inbox.prune_due():  # once a day: a week is kept
                await asyncio.to_thread(self.inbox.prune)

    async def _handle(self, pending: Pending, update: Update | None) -> None:
        update_id = pending.update_id
        crash_point("after_claim")
        token = CURRENT_UPDATE.set(update_id)
        try:
            if update is None:
                update = Update.de_json(pending.payload, self.app.bot)
            await self.app.process_update(update)
        except Exception:
            log.exception("update %s could not be handled", update_id)
        finally:
            CURRENT_UPDATE.reset(token)
        crash_point("after_handler")
        await asyncio.to_thread(self.inbox.finish, update_id)
