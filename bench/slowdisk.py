"""A slow disk: every durable commit waits 50 ms more, as a sync does on an SD card or a NAS.

The delay is injected where the disk would be waited for: in SQLAlchemy's ``commit`` event of
the services' (durable, ``synchronous=FULL``) engine, for a transaction that wrote something,
in whichever thread commits, holding SQLite's write lock as a real sync does. The inbox's
relaxed engine does not sync and is not delayed.

Measured on the real Application over the fake Bot API (real HTTP on 127.0.0.1), scheduler
ticking every 50 ms:

- one update's own work: an ``/add`` round trip on an idle bot;
- a reminder: from its due instant to the fake receiving it, idle, and while a burst of
  ``/add`` is handled (enqueued just before it falls due);
- an update during a tick: an ``/add`` round trip sent as reminders fall due.

Off the event loop, a reminder waits at most for one update's commit (SQLite has one writer at
a time), and an update for the tick's commits that hold the lock when it wants to write.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bench.common import OWNER, TOKEN, Timings, bench_settings
from bench.roundtrip import ADD_PHRASES, Driver
from bot.app import Services, build_services
from bot.db.models import OPEN, ReminderLog, Task
from bot.tg.app import TelegramAdapter
from tests.fakes.botapi import FakeBotAPI

DELAY = 0.05  # seconds added to each durable commit that wrote


@dataclass
class SlowDisk:
    own: list[float] = field(default_factory=list)  # /add round trips, idle
    reminder_idle: list[float] = field(default_factory=list)
    reminder_burst: list[float] = field(default_factory=list)
    add_in_tick: list[float] = field(default_factory=list)
    burst: int = 0
    due_at_once: int = 0

    def timings(self, name: str) -> Timings:
        return Timings.of(getattr(self, name))


def slow_commits(engine: Engine, delay: float = DELAY) -> None:
    """Each commit of `engine` that wrote waits `delay` seconds first (the injected sync)."""

    @event.listens_for(engine, "after_cursor_execute")
    def _wrote(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "PRAGMA")):
            conn.info["wrote"] = True

    @event.listens_for(engine, "commit")
    def _sync(conn: Any) -> None:
        if conn.info.pop("wrote", False):
            time.sleep(delay)


def due_task(services: Services, title: str, seconds: float) -> float:
    """An open task due in `seconds` whose earlier rungs are recorded: only "due" is left.
    Its due instant on the monotonic clock."""
    now = datetime.now(UTC)
    due = now + timedelta(seconds=seconds)
    with services.sessions.begin() as session:
        task = Task(title=title, due_at=due, has_time=True, status=OPEN)
        task.created_at = task.updated_at = now
        session.add(task)
        session.flush()
        for rung in ("7d", "1d"):
            session.add(
                ReminderLog(task_id=task.id, due_at=due, rung=rung, status="queued", at=now)
            )
    return time.monotonic() + (due - datetime.now(UTC)).total_seconds()


async def said(driver: Driver, title: str, kind: str) -> float:
    """When the fake received the bot's message about `title` that holds `kind`."""
    while True:
        for call in reversed(driver.log):
            text = str(call.params.get("text", ""))
            if call.method == "sendMessage" and title in text and kind in text:
                return call.at
        await asyncio.sleep(0.005)


async def reminded(driver: Driver, title: str, due: float) -> float:
    """Seconds from `due` until the fake received the reminder of `title`."""
    return await said(driver, title, "Reminder") - due


async def run(rounds: int = 5, burst: int = 20, due_at_once: int = 10) -> SlowDisk:
    out = SlowDisk(burst=burst, due_at_once=due_at_once)
    with tempfile.TemporaryDirectory(prefix="microdesk-slowdisk-") as tmp:
        async with FakeBotAPI(token=TOKEN) as api:
            services = build_services(bench_settings(Path(tmp), api.base_url))
            adapter = TelegramAdapter(services, tick_seconds=0.05)
            await adapter.startup(poll_timeout=10)
            slow_commits(services.engine)
            driver = Driver(api)
            try:
                await driver.idle()
                await asyncio.sleep(0.5)  # the first tick's briefing is out
                await driver.idle()
                for i in range(rounds):
                    await _round(driver, services, out, i, burst, due_at_once)
            finally:
                await adapter.shutdown()
                services.close()
    return out


async def _round(
    driver: Driver, services: Services, out: SlowDisk, i: int, burst: int, due_at_once: int
) -> None:
    api = driver.api
    phrase = ADD_PHRASES[i % len(ADD_PHRASES)].format(i=i)
    added = await driver.request(partial(api.send_message, f"/add {phrase}", user_id=OWNER))
    out.own.append(added.first)

    title = f"Idle reminder {i}"
    due = due_task(services, title, 0.5)
    out.reminder_idle.append(await reminded(driver, title, due))
    await driver.idle()

    title = f"Busy reminder {i}"
    due = due_task(services, title, 0.5)
    await asyncio.sleep(max(0.0, due - time.monotonic() - 0.1))
    for n in range(burst):
        api.send_message(f"/add Burst {i}.{n} tomorrow", user_id=OWNER)
    out.reminder_burst.append(await reminded(driver, title, due))
    await driver.idle()

    dues = [due_task(services, f"Tick {i}.{n}", 0.5) for n in range(due_at_once)]
    await asyncio.sleep(max(0.0, dues[0] - time.monotonic()))
    sent = time.monotonic()
    api.send_message(f"/add Added during a tick {i} tomorrow", user_id=OWNER)
    out.add_in_tick.append(await said(driver, f"during a tick {i}", "Added") - sent)
    await said(driver, f"Tick {i}.{due_at_once - 1}", "Reminder")
    await driver.idle()


if __name__ == "__main__":
    result = asyncio.run(run())
    for name in ("own", "reminder_idle", "reminder_burst", "add_in_tick"):
        print(f"{name:16} {result.timings(name).text()}")
