"""The sync round in a worker thread, every CALDAV_POLL, beside the scheduler tick.

    tick (each scheduler tick) ─▶ a round due and none running? start one in a thread
                               ─▶ return at once: how many notices finished rounds queued

The tick never waits for the calendar server: a server that hangs until its time-out holds only
its own thread, and reminders go out on time. The notices a round queued in the outbox are sent
by the tick that collects the round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from bot.services.calendar_sync.records import Round
from bot.services.calendar_sync.sync import CalendarSync

log = logging.getLogger(__name__)


class CalendarRunner:
    def __init__(self, sync: CalendarSync, poll: timedelta) -> None:
        self.sync = sync
        self.poll = poll.total_seconds()
        self.last: Round | None = None
        self.rounds = 0  # rounds ended, for the curious (and the tests)
        self._task: asyncio.Task[Round] | None = None
        self._next = 0.0  # monotonic time of the next round
        self._queued = 0

    @property
    def running(self) -> bool:
        """A round is in flight."""
        return self._task is not None and not self._task.done()

    async def tick(self) -> int:
        """Start a round when one is due (never waiting for it); notices queued since last time."""
        self._collect()
        if self._task is None and time.monotonic() >= self._next:
            self._task = asyncio.create_task(self.run_now(), name="microdesk-calendar-sync")
        queued, self._queued = self._queued, 0
        return queued

    async def run_now(self) -> Round:
        """One round now, in a worker thread; the next is due CALDAV_POLL after it ends."""
        try:
            done = await asyncio.to_thread(self.sync.run)
        finally:
            self._next = time.monotonic() + self.poll
        self.last, self.rounds = done, self.rounds + 1
        return done

    def _collect(self) -> None:
        task = self._task
        if task is None or not task.done():
            return
        self._task = None
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("calendar sync round failed", exc_info=task.exception())
            return
        self._queued += task.result().queued

    async def stop(self, grace: float = 5.0) -> None:
        """Wait a little for a round in flight (its thread can't be cancelled), then leave it."""
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            self._task = None
        if not self.running:
            self.sync.close()
