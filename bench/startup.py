"""Cold start: `python -m bot run` spawned as a subprocess, to its first getUpdates at the fake.

Each run gets a fresh data folder (so the database is created and migrated, as on the first
start after installing) and a clean environment pointing at the fake; the working directory is
that folder, so no developer `.env` is read. A second series restarts the bot on one data folder
that already holds a database at the head revision (every start after the first). The floor is
PTB's echobot (`bench/echo_bot.py`) started the same way; runs alternate between them. One
unmeasured run of each first fills the bytecode cache (`PYTHONDONTWRITEBYTECODE` is dropped for
the children: an installed package has its bytecode compiled by pip, an editable checkout
would otherwise be compiled again at every start).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.common import OWNER, TOKEN, Timings
from tests.fakes.botapi import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent


BOT = ["-m", "bot", "run"]
FLOOR = ["-m", "bench.echo_bot"]


async def one_start(api: FakeBotAPI, data: Path, command: list[str]) -> float:
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENAI", "TELEGRAM")) and k != "PYTHONDONTWRITEBYTECODE"
        },
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(data),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "OWNER_TELEGRAM_ID": str(OWNER),
        "TIMEZONE": "Europe/Berlin",
        "KNOWLEDGE_DIR": str(data / "knowledge"),
    }
    seen = len(api.calls)
    spawned = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command,
        cwd=data, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        first = await api.wait_for(
            lambda: next((c for c in api.calls[seen:] if c.method == "getUpdates"), None),
            timeout=30,
            what="the first getUpdates",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    if proc.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(f"the bot exited with {proc.returncode}: {stderr.decode()[-2000:]}")
    return first.at - spawned


async def run(runs: int) -> tuple[Timings, Timings, Timings]:
    """(floor, bot on a fresh data folder, bot restarted on its data folder) seconds to the
    first getUpdates."""
    floor: list[float] = []
    fresh: list[float] = []
    again: list[float] = []
    async with FakeBotAPI(token=TOKEN) as api:
        with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as kept:
            for i in range(runs + 1):
                for command, times in ((FLOOR, floor), (BOT, fresh)):
                    with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
                        took = await one_start(api, Path(tmp), command)
                    if i:  # the first run only warms the bytecode cache
                        times.append(took)
                took = await one_start(api, Path(kept), BOT)
                if i:  # the first run creates the database
                    again.append(took)
    return Timings.of(floor), Timings.of(fresh), Timings.of(again)
