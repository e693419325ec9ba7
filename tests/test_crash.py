"""kill -9 the bot at named crash points and at random moments; check nothing is lost or doubled.

Invariants after every restart: each accepted /add produced exactly one task (none lost, none
handled twice), every update was confirmed, and `PRAGMA integrity_check` is ok. The random-kill
loop runs a reduced count in the gate; `--slow` runs 100 iterations. Each of its rounds arms one
crash point from the whole pool (or none) and kills the bot at a random moment besides, while
reminders, the briefing, an ingest and backups are due; after it, besides the above: every
outbox row is sent with its message id, no reminder arrived twice without the "sent again"
marker, every backup file is complete, and the vector index agrees with the stored chunks.
Points of the scheduled sends, the ingest and the backup have their own tests in
tests/test_crash_sends.py. In webhook mode, a kill between storing an update and answering
200 makes Telegram post it again: handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.services.backup.archive import unpack
from tests.conftest import OWNER
from tests.crash_helpers import (
    DOCS,
    Bot,
    copy_docs,
    indexed_docs,
    integrity,
    offline_services,
    outbox,
    reminder_counts,
    seed_reminders,
)
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.webhook import WebhookCaller, free_port

pytestmark = pytest.mark.asyncio
POINTS = ["after_fetch", "after_persist", "after_claim", "mid_handler", "after_handler"]
POOL = [*POINTS, "after_send", "mid_ingest", "mid_backup"]


@pytest.fixture
async def bot_proc(tmp_path: Path, botapi: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(tmp_path, botapi)
    yield bot
    await bot.kill()


def titles(data: Path) -> list[str]:
    with sqlite3.connect(data / "microdesk.db") as db:
        return sorted(row[0] for row in db.execute("SELECT title FROM tasks"))


async def settle(
    api: FakeBotAPI,
    data: Path,
    expected: list[str],
    timeout: float = 40,  # noqa: ASYNC109
    also: Callable[[], bool] = lambda: True,
) -> None:
    async def done() -> bool:
        return not api.pending_updates and titles(data) == expected and also()

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
    rounds = 100 if request.config.getoption("--slow") else len(POOL)
    rng = random.Random(20261125)
    reminded = seed_reminders(tmp_path, 3)
    copy_docs(tmp_path)
    bot_proc.env["BRIEFING_TIME"] = "00:00"  # the day's briefing is due in every round
    expected = list(reminded)
    points: list[str] = []
    for round_no in range(rounds):
        if not points:  # every point of the pool once per len(POOL) rounds, in a random order
            points = rng.sample(POOL, len(POOL))
        point = points.pop()
        for i in range(rng.randint(1, 4)):
            title = f"Random task {round_no} {i}"
            expected.append(title)
            botapi.send_message(f"/add {title} tomorrow", user_id=OWNER)
        if point == "mid_backup" or rng.random() < 0.2:
            botapi.send_message("/backup", user_id=OWNER)
        await bot_proc.start(point, after=rng.randint(1, 3))
        with contextlib.suppress(TimeoutError):  # the armed point, or a random moment
            await bot_proc.wait_killed(rng.uniform(0.5, 6.0))
        await bot_proc.kill()
    await bot_proc.start()
    await settle(botapi, tmp_path, sorted(expected), timeout=120, also=lambda: all_done(tmp_path))
    await botapi.wait_idle(quiet=1.0)
    await bot_proc.kill()
    assert integrity(tmp_path) == "ok"
    counts = reminder_counts(botapi, reminded).values()
    assert all(plain <= 1 and marked <= 1 for plain, marked in counts)
    # none missing, unless a kill cut short its first send and then its one re-send too
    # (it stays unknown and the briefing lists it)
    final = [kind for kind, status, _ in outbox(tmp_path) if status == "unknown"]
    assert sum(1 for plain, marked in counts if not plain + marked) <= final.count("reminder")
    sent_ids = {m["message_id"] for m in botapi.bot_messages(OWNER)}
    assert all(mid in sent_ids for _, status, mid in outbox(tmp_path) if status == "sent")
    services = offline_services(tmp_path)
    try:
        assert services.knowledge.index_drift() == (set(), set())
        for i, archive in enumerate(services.backups.backups()):
            assert unpack(archive, tmp_path / f"check-{i}").schema_revision
    finally:
        services.close()


def all_done(data: Path) -> bool:
    """Every outbox row settled (sent, or unknown after its one re-send); both documents in."""
    rows = outbox(data)
    settled = len(rows) >= 4 and all(status in ("sent", "unknown") for _, status, _ in rows)
    return settled and not unsent(data) and indexed_docs(data) == len(DOCS)


def unsent(data: Path) -> int:
    """Rows that still owe a send: pending, sending, or unknown and not yet sent again."""
    with sqlite3.connect(data / "microdesk.db") as db:
        query = (
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
            " OR (status = 'unknown' AND NOT resent)"
        )
        return int(db.execute(query).fetchone()[0])


def inbox_rows(data: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data / "microdesk.db") as db:
        return [(row[0], row[1]) for row in db.execute("SELECT update_id, status FROM inbox")]


async def test_webhook_kill_after_persist_then_redelivery_is_handled_once(
    tmp_path: Path, botapi: FakeBotAPI, bot_proc: Bot
) -> None:
    port = free_port()
    bot_proc.env.update(
        WEBHOOK_URL="https://bot.example.invalid/hook",
        WEBHOOK_SECRET="crash-test-secret",
        WEBHOOK_PORT=str(port),
    )
    telegram = WebhookCaller(botapi, f"http://127.0.0.1:{port}")
    await bot_proc.start("after_persist")
    await botapi.wait_for(lambda: botapi.webhook, timeout=60, what="setWebhook")
    update = botapi.send_message("/add Webhook crash task tomorrow", user_id=OWNER)
    with pytest.raises(aiohttp.ClientError):  # killed after storing, before the 200
        await telegram.deliver(update)
    assert await bot_proc.wait_killed() == -signal.SIGKILL
    assert inbox_rows(tmp_path) == [(update["update_id"], "new")]
    assert update in botapi.pending_updates  # no 200: Telegram still holds it

    await bot_proc.start()
    await botapi.wait_for(lambda: len(botapi.calls_to("setWebhook")) == 2, timeout=60)
    assert await telegram.deliver(update) == 200  # Telegram posts it again
    later = botapi.send_message("/tasks", user_id=OWNER)
    assert await telegram.deliver(later) == 200
    await botapi.wait_for_message(OWNER, "Webhook crash task", timeout=30, after=1)
    assert titles(tmp_path) == ["Webhook crash task"]
    added = [m for m in botapi.bot_messages(OWNER) if m["text"].startswith("Added")]
    assert len(added) == 1 and not botapi.pending_updates
    assert integrity(tmp_path) == "ok"
