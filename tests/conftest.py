"""Shared fixtures: real SQLite in a temp dir, a frozen clock, the fake Bot API, the real app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    settings = load_settings(values)
    _share_search_model(settings.DATA_DIR)
    return settings


_search_model: Path | None = None  # the search model prepared by a test of this process


def _share_search_model(data_dir: Path) -> None:
    """Link DATA_DIR/models to the search model an earlier test of this process prepared.

    Preparing it (reading the weights and the tokenizer, then pickling them into DATA_DIR/models)
    takes ~2 s of CPU and writes 80 MB, in every test that embeds a text; reading the prepared
    file, as every start of microdesk after the first does, takes a fraction of that. Until one
    exists, each test's own file is the candidate: the first test that embeds prepares it. The
    link is only ever read: the embedder replaces a missing or unreadable file, never writes
    through it. A DATA_DIR that is not a folder (or cannot be made one) gets no link.
    """
    global _search_model
    from bot.retrieval.multilingual import UseEmbedder

    own = UseEmbedder(prepared=data_dir / "models")._prepared_file()
    if own is None or own.exists() or own.is_symlink():
        return
    if _search_model is None or not _search_model.is_file():
        _search_model = own
        return
    if data_dir.is_dir() or (not data_dir.exists() and data_dir.parent.is_dir()):
        with contextlib.suppress(OSError):
            own.parent.mkdir(parents=True, exist_ok=True)
            own.symlink_to(_search_model)


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
async def botapi(clock: FrozenClock) -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API (real HTTP on 127.0.0.1); its messages are dated on the test's clock."""
    server = FakeBotAPI(token=TOKEN, clock=lambda: clock.now().timestamp())
    await server.start()
    yield server
    await server.stop()


def services_for(tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock) -> Services:
    """Services whose Telegram root is the fake Bot API."""
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url)
    return build_services(settings, clock)


@asynccontextmanager
async def running(services: Services, tick_seconds: float = 0.05) -> AsyncIterator[TelegramAdapter]:
    """The real Application over `services`, polling the fake Bot API, once its first tick has
    run (what was due at start, such as the day's briefing, is out); stopped and closed after."""
    adapter = TelegramAdapter(services, tick_seconds=tick_seconds)
    await adapter.startup(poll_timeout=1)
    try:
        await adapter.ticks_pass(0)
        yield adapter
    finally:
        await adapter.shutdown()
        services.close()


@pytest.fixture
def llm_url() -> str | None:
    """The model endpoint the shared bot uses: none (AI off) unless a module overrides this,
    e.g. with the base URL of its fake OpenAI server."""
    return None


@pytest.fixture
def llm_tools() -> bool | None:
    """Whether the shared bot's model makes native tool calls: yes (the assistant's tool loop)
    unless a module overrides this — False: a small model, every turn in small steps
    (tests/test_ai_steps.py); None: probed at the first turn, as in production."""
    return True


@pytest.fixture
async def bot(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    botapi: FakeBotAPI,
    clock: FrozenClock,
    llm_url: str | None,
    llm_tools: bool | None,
) -> AsyncIterator[TelegramAdapter]:
    """The real Application, polling the fake Bot API, scheduler ticking every 50 ms.

    A module or test changes it with ``pytest.mark.bot(...)``: ``tick_seconds``, ``data_dir``
    (a folder in ``tmp_path`` instead of ``tmp_path`` itself) and any setting
    (``LLM_MONTHLY_TOKEN_BUDGET="100000"``). With an ``llm_url`` fixture the AI features are
    on, with short time-outs (and a model that makes tool calls unless ``llm_tools`` says
    otherwise). What must exist before the start (a knowledge folder, the clock's
    time) comes from an autouse fixture of the module.
    """
    marker = request.node.get_closest_marker("bot")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    tick_seconds = float(options.pop("tick_seconds", 0.05))
    data = tmp_path / str(options.pop("data_dir", ""))
    if llm_url is not None:
        options["OPENAI_BASE_URL"] = llm_url
    settings = make_settings(data, TELEGRAM_API_BASE_URL=botapi.base_url, **options)
    if llm_url is None:
        services = build_services(settings, clock)
    else:
        from bot.llm.client import Capabilities, RetryPolicy, Timeouts  # imports openai

        fast = Timeouts(connect=1.0, read=0.5, write=1.0, pool=1.0)  # the fake answers at once
        retry = RetryPolicy(attempts=2, total=3.0, backoff=0.01, backoff_max=0.05)
        services = build_services(
            settings,
            clock,
            llm_timeouts=fast,
            llm_retry=retry,
            llm_capabilities=Capabilities(tools=llm_tools),
        )
    async with running(services, tick_seconds) as adapter:
        yield adapter
