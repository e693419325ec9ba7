"""Shared fixtures: real SQLite in a temp dir, a frozen clock, the fake Bot API, the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.tg.app import TelegramAdapter
from tests.fakes.botapi import FakeBotAPI

# the db_url fixture: SQLite, and PostgreSQL where marked; a real Radicale CalDAV server
pytest_plugins = ["tests.pg", "tests.radicale_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run the long variants of the suites")


OWNER = 1001
STRANGER = 2002
TOKEN = "4242:fake-token-for-tests"
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday


def make_settings(data_dir: Path, **overrides: str) -> Settings:
    values = {
        "DATA_DIR": str(data_dir),
        "TIMEZONE": "Europe/Berlin",
        "BRIEFING_TIME": "08:00",
        "OWNER_TELEGRAM_ID": str(OWNER),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "KNOWLEDGE_DIR": str(data_dir / "knowledge"),
    }
    values.update(overrides)
    return load_settings(values)


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None) -> Settings:
    return make_settings(tmp_path, **({"DATABASE_URL": db_url} if db_url else {}))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    built = build_services(settings, clock)
    yield built
    built.close()


@pytest.fixture
async def botapi() -> AsyncIterator[object]:
    from tests.fakes.botapi import FakeBotAPI

    server = FakeBotAPI(token=TOKEN)
    await server.start()
    yield server
    await server.stop()


def services_for(tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock) -> Services:
    """Services whose Telegram root is the fake Bot API."""
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url)
    return build_services(settings, clock)


@pytest.fixture
async def bot(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> AsyncIterator[TelegramAdapter]:
    """The real Application, polling the fake Bot API, scheduler ticking every 50 ms."""
    services = services_for(tmp_path, botapi, clock)
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    yield adapter
    await adapter.shutdown()
    services.close()
