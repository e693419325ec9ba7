"""The bot as a subprocess we can kill -9, and what the crash suites read back afterwards."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import Services, build_services
from bot.clock import Clock, FrozenClock, SystemClock
from bot.db.models import BriefingLog
from bot.services.clients.service import ConnectionInfo, IncomingMessage
from bot.services.tasks import dates
from tests.conftest import OWNER, TOKEN, make_settings
from tests.fakes.botapi import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
AGAIN = "(sent again: I was interrupted"
DOCS = ("client-faq.md", "tax-and-licence-calendar.txt")


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


def integrity(data: Path) -> str:
    with sqlite3.connect(data / "microdesk.db") as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def copy_docs(data: Path) -> Path:
    """Two of the sample documents in the knowledge folder the crash bot reads."""
    folder = data / "knowledge"
    folder.mkdir(exist_ok=True)
    for name in DOCS:
        shutil.copy(ROOT / "knowledge" / name, folder / name)
    return folder


def offline_services(data: Path, clock: Clock | None = None) -> Services:
    """The bot's data opened from the test process (the bot itself is not running)."""
    return build_services(make_settings(data), clock or SystemClock())


def seed_reminders(data: Path, count: int) -> list[str]:
    """Tasks set ten days ago, due in two days: each owes one (late) 7-day reminder now."""
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=10))
    services = offline_services(data, clock)
    try:
        return [
            services.tasks.add(f"Crash reminder {i} in 12 days 10am").title for i in range(count)
        ]
    finally:
        services.close()


def seed_client_burst(data: Path, connection: str, client: int, text: str) -> None:
    """A client wrote a minute ago over the owner's connection: a draft is due at the start.
    The day's briefing is recorded as done (yesterday to tomorrow), so a card is the only
    message the bot sends by itself."""
    clock = FrozenClock(datetime.now(UTC) - timedelta(minutes=1))
    services = offline_services(data, clock)
    try:
        services.clients.connect(ConnectionInfo(connection, OWNER, OWNER, True, True))
        services.clients.receive(
            IncomingMessage(connection, client, 1, client, "Anna", text, clock.now())
        )
        today = dates.to_local(clock.now(), services.prefs.tz).date()
        with services.sessions.begin() as session:
            for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
                session.add(BriefingLog(day=day, sent_at=clock.now(), late=False))
    finally:
        services.close()


def outbox(data: Path) -> list[tuple[str, str, int | None]]:
    with sqlite3.connect(data / "microdesk.db") as db:
        return list(db.execute("SELECT kind, status, message_id FROM outbox ORDER BY id"))


def reminder_counts(api: FakeBotAPI, titles: list[str]) -> dict[str, tuple[int, int]]:
    """Per task: (deliveries without the marker, deliveries with it)."""
    plain: Counter[str] = Counter()
    marked: Counter[str] = Counter()
    for message in api.bot_messages(OWNER):
        for title in titles:
            if f"Reminder (late: I was offline): {title} " in message.get("text", ""):
                (marked if message.get("text", "").startswith(AGAIN) else plain)[title] += 1
    return {title: (plain[title], marked[title]) for title in titles}


def indexed_docs(data: Path) -> int:
    with sqlite3.connect(data / "microdesk.db") as db:
        return int(
            db.execute("SELECT count(*) FROM documents WHERE status = 'indexed'").fetchone()[0]
        )
