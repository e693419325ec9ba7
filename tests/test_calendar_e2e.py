"""The calendar through the real Application: what the owner sees in Telegram when the sync runs
beside the scheduler (a move made in the calendar, a server that hangs or is down), and the
secret feed on FEED_PORT with /feed and /feed revoke."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from bot.app import build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI
from tests.radicale_server import Radicale, free_port
from tests.test_calendar_sync import CalendarApp, calendar_settings

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def running(settings: Settings, clock: FrozenClock) -> AsyncIterator[TelegramAdapter]:
    services = build_services(settings, clock)
    if services.calendar is not None:
        services.calendar.sync.timeout = 3  # a hanging server costs its round 3 s, not 30
    adapter = TelegramAdapter(services, tick_seconds=0.05, webhook_host="127.0.0.1")
    await adapter.startup(poll_timeout=1)
    try:
        yield adapter
    finally:
        await adapter.shutdown()
        services.close()


async def until(check: object, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await asyncio.to_thread(check):  # type: ignore[arg-type]
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)


async def test_a_move_in_the_calendar_reaches_the_owner_in_one_line(
    tmp_path: Path, radicale: Radicale, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    settings = calendar_settings(tmp_path, radicale, TELEGRAM_API_BASE_URL=botapi.base_url)
    async with running(settings, clock) as bot:
        task = bot.s.tasks.add("Send invoices Dec 4")
        app = CalendarApp(radicale)
        await until(lambda: len(app.events()) == 1)
        [uid] = app.events()
        await asyncio.to_thread(app.move, uid, date(2026, 12, 8))
        told = await botapi.wait_for_message(OWNER, contains="in your calendar", timeout=15)
        assert told["text"] == (
            f"🗓 You moved “Send invoices” in your calendar: task #{task.id} is now due "
            "Tue 8 Dec 2026."
        )
        listed = await say(botapi, "/tasks", "open task")
        assert "8 Dec" in listed["text"]
        audited = await say(botapi, "/audit", "Recent actions")
        assert f"you · calendar move: task #{task.id} moved to Tue 8 Dec 2026" in audited["text"]


async def say(botapi: FakeBotAPI, text: str, contains: str) -> dict:
    before = len(botapi.bot_messages(OWNER))
    botapi.send_message(text, user_id=OWNER)
    return await botapi.wait_for_message(OWNER, contains=contains, after=before)


async def test_reminders_go_out_while_the_server_hangs_and_the_sync_catches_up(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    port = free_port()
    hanging = socket.socket()  # accepts connections (the kernel's backlog), never answers
    hanging.bind(("127.0.0.1", port))
    hanging.listen(16)
    server = Radicale(tmp_path / "radicale", port)
    server.root.mkdir()
    settings = calendar_settings(tmp_path, server, TELEGRAM_API_BASE_URL=botapi.base_url)
    async with running(settings, clock) as bot:
        calendar = bot.s.calendar
        assert calendar is not None
        await until(lambda: calendar.running)  # the first round waits on the silent server
        task = bot.s.tasks.add("Call the bank today 1pm")  # 12:00 UTC; the clock is at 10:00
        clock.advance(timedelta(hours=2, minutes=1))
        reminder = await botapi.wait_for_message(OWNER, contains="Reminder", timeout=2.5)
        assert "Call the bank" in reminder["text"]
        assert calendar.running and calendar.last is None  # that round still waits
        paused = await botapi.wait_for_message(OWNER, contains="Calendar sync paused", timeout=10)
        assert "can't be reached" in paused["text"] and "reminders go on" in paused["text"]
        hanging.close()
        server.start()
        try:
            await botapi.wait_for_message(OWNER, contains="works again", timeout=15)
            [event] = (await asyncio.to_thread(CalendarApp(server).events)).values()
            assert str(event["summary"]) == task.title
        finally:
            server.stop()


async def test_the_feed_is_served_at_a_secret_url_that_revoke_replaces(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    from tests.conftest import make_settings

    port = free_port()
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url, FEED_PORT=str(port))
    async with running(settings, clock) as bot:
        bot.s.tasks.add("File VAT return every quarter due Jan 31")
        shown = await say(botapi, "/feed", "calendar feed")
        url = shown["text"].split("\n")[1].replace("THIS-MACHINE", "127.0.0.1")
        assert url.startswith(f"http://127.0.0.1:{port}/feed/") and url.endswith(".ics")
        assert len(url.rsplit("/", 1)[1]) >= 43 + len(".ics")
        async with httpx.AsyncClient() as http:
            got = await http.get(url)
            assert got.status_code == 200
            assert got.headers["content-type"].startswith("text/calendar")
            assert b"SUMMARY:File VAT return" in got.content and b"RRULE:" in got.content
            assert (await http.get(url.replace("/feed/", "/feed/x"))).status_code == 404
            fresh = await say(botapi, "/feed revoke", "New calendar feed link")
            new_url = fresh["text"].split("\n")[1].replace("THIS-MACHINE", "127.0.0.1")
            assert new_url != url
            assert (await http.get(url)).status_code == 404
            assert (await http.get(new_url)).status_code == 200
        helped = await say(botapi, "/help", "/feed")
        assert "/feed — calendar feed link" in helped["text"]


async def test_in_webhook_mode_the_feed_is_served_beside_the_webhook(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    from tests.test_webhook import start_webhook_bot

    hooked = await start_webhook_bot(tmp_path, botapi, clock)
    try:
        hooked.adapter.s.tasks.add("Renew licence Dec 10")
        assert await hooked.caller.deliver(botapi.send_message("/feed", user_id=OWNER)) == 200
        shown = await botapi.wait_for_message(OWNER, "calendar feed")
        url = shown["text"].split("\n")[1]
        assert url.startswith("https://bot.example.invalid/feed/") and "THIS-MACHINE" not in url
        path = url.removeprefix("https://bot.example.invalid")
        async with httpx.AsyncClient() as http:
            got = await http.get(hooked.caller.local_base + path)
            assert got.status_code == 200 and b"SUMMARY:Renew licence" in got.content
            wrong = path.replace("/feed/", "/feed/A")
            assert (await http.get(hooked.caller.local_base + wrong)).status_code == 404
    finally:
        await hooked.adapter.shutdown()
        hooked.adapter.s.close()


async def test_a_wrong_password_reaches_the_owner_once_in_one_sentence(
    tmp_path: Path, radicale: Radicale, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    settings = calendar_settings(
        tmp_path, radicale, TELEGRAM_API_BASE_URL=botapi.base_url, CALDAV_PASSWORD="nope-1234"
    )
    async with running(settings, clock) as bot:
        assert bot.s.calendar is not None
        told = await botapi.wait_for_message(OWNER, contains="Calendar sync paused", timeout=15)
        assert told["text"] == (
            "🗓 Calendar sync paused: The calendar server refused the login: check "
            "CALDAV_USERNAME and CALDAV_PASSWORD. I keep trying every 1s; reminders go on as usual."
        )
        calendar = bot.s.calendar
        for _ in range(2):  # two more failed rounds, each at a later time
            clock.advance(timedelta(minutes=1))
            rounds = calendar.rounds
            await until(lambda: calendar.rounds > rounds)  # noqa: B023
        await asyncio.sleep(0.3)  # the scheduler's next ticks send anything those rounds queued
        texts = [m["text"] for m in botapi.bot_messages(OWNER)]
        assert sum("Calendar sync paused" in t for t in texts) == 1  # told once, not each round
        assert all("nope-1234" not in t for t in texts)
