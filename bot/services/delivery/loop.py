"""The supervised loops both adapters run: the scheduler tick, and drafting replies to clients.

    tick     every `seconds`, or at once when woken: :meth:`bot.services.delivery.tick.Tick.run`
    drafts   every `seconds`: draft for clients who have been quiet long enough; a run that
             queued a card or a note wakes the tick, so it goes out at once

Each loop is its own task: a model taking its full time-out to answer never holds a reminder
back. An error is logged and the next round runs all the same; :meth:`Loops.stop` cancels both
and waits for them (a draft cut short hands its client back for the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Round = Callable[[], Awaitable[object]]


class Loops:
    def __init__(self, tick: Round, drafts: Round | None, seconds: float) -> None:
        self._tick = tick
        self._drafts = drafts
        self.seconds = seconds
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, delay: float = 0.0) -> None:
        """The loops, after `delay` seconds."""
        tick = every(self.seconds, self._tick, "scheduled send", delay=delay, wake=self._wake)
        self._tasks = [asyncio.create_task(tick, name="microdesk-scheduler")]
        if self._drafts is not None:
            drafts = every(self.seconds, self.drafts, "drafting replies to clients", delay=delay)
            self._tasks.append(asyncio.create_task(drafts, name="microdesk-drafts"))

    async def stop(self) -> None:
        """Cancel the loops and wait until they have ended."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def drafts(self) -> None:
        """Draft what is due; wake the tick to send the cards."""
        assert self._drafts is not None
        if await self._drafts():
            self._wake.set()


async def every(
    seconds: float,
    job: Round,
    what: str,
    *,
    delay: float = 0.0,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `job` after `delay`, then `seconds` after each run ends (at once when `wake` is set
    meanwhile), until cancelled; an error is logged and the next round comes all the same."""
    await asyncio.sleep(delay)
    while True:
        if wake is not None:
            wake.clear()  # a wake-up while the job runs means one more round at once
        try:
            await job()
        except Exception:
            log.exception("%s failed; trying again on the next round", what)
        if wake is None:
            await asyncio.sleep(seconds)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
