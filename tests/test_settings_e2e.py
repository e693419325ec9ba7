"""/settings at run time, over the fake Bot API with a frozen clock: a new briefing time moves the
next briefing, a new time zone changes how dates are shown, and the command menu is the router's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_services
from bot.clock import FrozenClock
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, make_settings
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.asyncio
TICK = 0.02


@pytest.fixture
async def bot(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> AsyncIterator[TelegramAdapter]:
    clock.set(datetime(2026, 11, 26, 6, 0, tzinfo=UTC))  # Thu 07:00 in Berlin: before 08:00
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url)
    services = build_services(settings, clock)
    adapter = TelegramAdapter(services, tick_seconds=TICK)
    await adapter.startup(poll_timeout=1)
    yield adapter
    await adapter.shutdown()
    services.close()


async def say(botapi: FakeBotAPI, text: str, contains: str) -> str:
    before = len(botapi.bot_messages(OWNER))
    botapi.send_message(text, user_id=OWNER)
    message = await botapi.wait_for_message(OWNER, contains=contains, after=before)
    return str(message["text"])


def briefings(botapi: FakeBotAPI) -> list[str]:
    return [m["text"] for m in botapi.bot_messages(OWNER) if "Briefing for" in m["text"]]


async def test_a_new_briefing_time_moves_the_next_briefing(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    shown = await say(botapi, "/settings briefing 09:30", "Daily briefing")
    assert "Daily briefing: 09:30" in shown
    clock.set(datetime(2026, 11, 26, 7, 30, tzinfo=UTC))  # 08:30: past the old 08:00
    await asyncio.sleep(TICK * 15)  # many scheduler ticks
    assert briefings(botapi) == []
    clock.set(datetime(2026, 11, 26, 8, 31, tzinfo=UTC))  # 09:31 in Berlin
    sent = await botapi.wait_for(lambda: briefings(botapi), what="the 09:30 briefing")
    assert len(sent) == 1 and "Briefing for Thu 26 Nov" in sent[0] and "late" not in sent[0]
    assert bot.s.prefs.briefing_time.strftime("%H:%M") == "09:30"


async def test_a_new_time_zone_keeps_timed_tasks_at_their_wall_clock_time(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    added = await say(botapi, "/add Call the supplier Dec 1 3am", "Added")
    assert "Tue 1 Dec 03:00" in added  # Berlin
    changed = await say(botapi, "/settings timezone America/New_York", "Time zone")
    assert "1 task kept its local clock time" in changed
    listed = await say(botapi, "/tasks", "open task")
    assert "Tue 1 Dec 03:00" in listed  # still 03:00, now in New York
    shown = await say(botapi, "/settings", "Time zone")
    assert "Time zone: America/New_York (chosen in /settings)" in shown


async def test_a_city_names_its_zone(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    changed = await say(botapi, "/settings timezone lisbon", "Time zone")
    assert "Europe/Lisbon" in changed


async def test_a_bad_setting_changes_nothing(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    await say(botapi, "/settings timezone Mars/Olympus", "not a time zone")
    await say(botapi, "/settings briefing 25:99", "HH:MM")
    shown = await say(botapi, "/settings", "Time zone")
    assert "Time zone: Europe/Berlin" in shown and "Daily briefing: 08:00" in shown


async def test_the_command_menu_is_the_routers(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    menu = [c["command"] for c in botapi.my_commands()]
    assert menu == list(bot.conversation.router.commands)
    assert {"settings", "export", "tasks", "add"} <= set(menu)
