"""kill -9 while a contractor joins, marks a task done and sends a note: after the restarts,
one contractor, one completion, one note (none lost, none doubled), and the database intact."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.crash_helpers import Bot, integrity, offline_services
from tests.fakes.botapi import FakeBotAPI
from tests.team_helpers import MARIA, buttons

pytestmark = pytest.mark.asyncio
POINTS = ["after_claim", "mid_handler", "after_handler"]


@pytest.fixture
async def bot_proc(tmp_path: Path, botapi: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(tmp_path, botapi)
    yield bot
    await bot.kill()


def counts(data: Path) -> dict[str, int]:
    with sqlite3.connect(data / "microdesk.db") as db:
        found = dict(db.execute("SELECT kind, count(*) FROM team_events GROUP BY kind").fetchall())
        found["contractors"] = db.execute("SELECT count(*) FROM contractors").fetchone()[0]
        found["completions"] = db.execute("SELECT count(*) FROM task_completions").fetchone()[0]
    return found


async def until(check: object, api: FakeBotAPI, timeout: float = 40) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while api.pending_updates or not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"not settled; pending {api.pending_updates}")
        await asyncio.sleep(0.1)


async def quiet_kill(bot: Bot, api: FakeBotAPI) -> None:
    """Stop the bot once it is idle (its last update finished), so the next start owes
    nothing but what the test sends next."""
    await api.wait_idle(quiet=0.5)
    await asyncio.sleep(0.5)
    await bot.kill()


async def killed_at(bot: Bot, point: str, after: int) -> None:
    await bot.start(point, after=after)
    assert await bot.wait_killed() == -signal.SIGKILL


@pytest.mark.parametrize("point", POINTS)
async def test_kill_during_join_done_and_note_loses_and_doubles_nothing(
    tmp_path: Path, botapi: FakeBotAPI, bot_proc: Bot, point: str
) -> None:
    services = offline_services(tmp_path)
    try:
        token = services.team.invite("@maria")
        services.tasks.add("Promo cut in 3 days @maria")
        services.tasks.add("Invoice in 4 days @maria")
    finally:
        services.close()
    # each action alone, killed at the point, then served by a clean start
    botapi.send_message(f"/start {token}", user_id=MARIA, first_name="Maria")
    await killed_at(bot_proc, point, 1)
    await bot_proc.start()
    await until(lambda: counts(tmp_path).get("joined") == 1, botapi)
    botapi.send_message("/tasks", user_id=MARIA, first_name="Maria")
    listed = await botapi.wait_for_message(MARIA, contains="Your open tasks", timeout=20)
    await quiet_kill(bot_proc, botapi)
    done = next(d for t, d in buttons(listed) if t.startswith("✓ #2"))
    botapi.press_button(listed, done, user_id=MARIA, first_name="Maria")
    await killed_at(bot_proc, point, 1)
    await bot_proc.start()
    await until(lambda: counts(tmp_path).get("done") == 1, botapi)
    await quiet_kill(bot_proc, botapi)
    botapi.send_message("/note 1 first cut is up", user_id=MARIA, first_name="Maria")
    await killed_at(bot_proc, point, 1)
    await bot_proc.start()
    await until(lambda: counts(tmp_path).get("note") == 1, botapi)
    await quiet_kill(bot_proc, botapi)
    assert integrity(tmp_path) == "ok"
    assert counts(tmp_path) == {
        "joined": 1,
        "done": 1,
        "note": 1,
        "contractors": 1,
        "completions": 1,
    }
    passed = [m for m in botapi.bot_messages(MARIA) if "Passed on" in m.get("text", "")]
    assert len(passed) <= 1  # an answer can be lost with the process, never doubled
