"""Starting the fake Bot API from tests, and a PTB builder pointed at it.

Wire into conftest.py with ``from tests.fakes.fixtures import fake_botapi`` (or
``pytest_plugins = ["tests.fakes.fixtures"]``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from telegram.ext import Application, ApplicationBuilder

from tests.fakes.botapi import FakeBotAPI


async def start_fake_botapi(**options: Any) -> FakeBotAPI:
    """A started FakeBotAPI (options as FakeBotAPI's); the caller stops it."""
    api = FakeBotAPI(**options)
    await api.start()
    return api


@contextlib.asynccontextmanager
async def running_fake_botapi(**options: Any) -> AsyncIterator[FakeBotAPI]:
    """``async with running_fake_botapi() as api``: started, and stopped afterwards."""
    api = await start_fake_botapi(**options)
    try:
        yield api
    finally:
        await api.stop()


def application_builder(api: FakeBotAPI) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """Application.builder() with the token and both base URLs of the fake."""
    return (
        Application.builder()
        .token(api.token)
        .base_url(api.bot_base_url)
        .base_file_url(api.file_base_url)
    )


@pytest_asyncio.fixture
async def fake_botapi() -> AsyncIterator[FakeBotAPI]:
    """A running fake Bot API for one test."""
    async with running_fake_botapi() as api:
        yield api
