"""kill -9 the bot at named crash points and at random moments; check nothing is lost or doubled.

Invariants after every restart: each accepted /add produced exactly one task (none lost, none
handled twice), every update was confirmed, and `PRAGMA integrity_check` is ok. The random-kill
loop runs a reduced count in the gate; `--slow` runs 100 iterations.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import OWNER, TOKEN
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[1]
POINTS = ["after_fetch", "after_persist", "after_claim", "mid_handler", "after_handler"]


class Bot:
    """The bot as a separate process we can kill."""

    def __init__(self, data: Path, api: FakeBotAPI, **env: str) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "TELEGRAM"))},
            "DATA_DIR": str(data),
            "KNOWLEDGE_DIR": str(data / "knowledge"),  # none unless a test makes one
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "OWNER_TELEGRAM_ID": str(OWNER),
            "TIMEZONE": "Europe/Berlin",
            **env,
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, point: str = "none", after: int = 1) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.crash_driver",
            point,
            str(after),
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def wait_killed(self, timeout: float = 30) -> int:  # noqa: ASYNC109
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()


@pytest.fixture
async def bot_proc(tmp_path: Path, botapi: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(tmp_path, botapi)
    yield bot
    await bot.kill()


def titles(data: Path) -> list[str]:
    with sqlite3.connect(data / "microdesk.db") as db:
        return sorted(row[0] for row in db.execute("SELECT title FROM tasks"))


def integrity(data: Path) -> str:
    with sqlite3.connect(data / "microdesk.db") as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def settle(
    api: FakeBotAPI,
    data: Path,
    expected: list[str],
    timeout: float = 40,  # noqa: ASYNC109
) -> None:
    async def done() -> bool:
        return not api.pending_updates and titles(data) == expected

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await done():
        if loop.time() > deadline:
            raise AssertionError(
                f"titles {titles(data)} != {expected}; pending {api.pending_updates}"
            )
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("point", POINTS)
async def test_kill_at_a_crash_point_loses_and_doubles_nothing(
    tmp_path: Path, botapi: FakeBotAPI, bot_proc: Bot, point: str
) -> None:
    expected = sorted(f"Crash task {point} {i}" for i in range(3))
    for title in expected:
        botapi.send_message(f"/add {title} tomorrow", user_id=OWNER)
    await bot_proc.start(point, after=2)
    assert await bot_proc.wait_killed() == -signal.SIGKILL
    await bot_proc.start()
    await settle(botapi, tmp_path, expected)
    assert integrity(tmp_path) == "ok"
    replies = [m for m in botapi.bot_messages(OWNER) if m["text"].startswith("Added")]
    assert len(replies) <= len(expected)  # a reply can be lost with the process, never doubled


async def test_random_kills(
    tmp_path: Path, botapi: FakeBotAPI, bot_proc: Bot, request: pytest.FixtureRequest
) -> None:
    rounds = 100 if request.config.getoption("--slow") else 6
    rng = random.Random(20261125)
    expected: list[str] = []
    for round_no in range(rounds):
        for i in range(rng.randint(1, 4)):
            title = f"Random task {round_no} {i}"
            expected.append(title)
            botapi.send_message(f"/add {title} tomorrow", user_id=OWNER)
        await bot_proc.start()
        await asyncio.sleep(rng.uniform(0.3, 2.5))
        await bot_proc.kill()
    await bot_proc.start()
    await settle(botapi, tmp_path, sorted(expected), timeout=60)
    assert integrity(tmp_path) == "ok"
