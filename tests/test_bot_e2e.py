"""The real Application over the fake Bot API (real HTTP on 127.0.0.1), acting as the owner."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, STRANGER, services_for
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.asyncio


async def say(botapi: FakeBotAPI, text: str, contains: str, user: int = OWNER) -> dict[str, Any]:
    before = len(botapi.bot_messages(user))
    botapi.send_message(text, user_id=user)
    return await botapi.wait_for_message(user, contains=contains, after=before)


async def test_quarterly_deadline_listed_in_local_time_and_rolled_by_done(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    added = await say(botapi, "/add File VAT return every quarter due Jan 31", "Added")
    assert "File VAT return" in added["text"] and "Sun 31 Jan 2027" in added["text"]
    listed = await say(botapi, "/tasks", "open task")
    assert "every quarter" in listed["text"] and "31 Jan 2027" in listed["text"]
    before = len(botapi.bot_messages(OWNER))
    botapi.press_button(
        listed,
        text=next(
            b["text"]
            for row in listed["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"].startswith("✓")
        ),
        user_id=OWNER,
    )
    rolled = await botapi.wait_for_message(OWNER, contains="Next due", after=before)
    assert "Fri 30 Apr 2027" in rolled["text"]
    answered = [c for c in botapi.calls if c.method == "answerCallbackQuery"]
    assert answered, "the button press must be answered"
    # the stale button of the first list cannot roll the task a second time
    before = len(botapi.bot_messages(OWNER))
    botapi.press_button(
        listed, text=listed["reply_markup"]["inline_keyboard"][0][0]["text"], user_id=OWNER
    )
    stale = await botapi.wait_for_message(OWNER, contains="changed since", after=before)
    assert stale
    again = await say(botapi, "/tasks", "open task")
    assert "30 Apr 2027" in again["text"]


async def test_non_owner_gets_one_refusal_and_nothing_else(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    await say(botapi, "/add Steal the data tomorrow", "private assistant", user=STRANGER)
    await say(botapi, "/tasks", "private assistant", user=STRANGER)
    assert [m["text"] for m in botapi.bot_messages(STRANGER)] == [
        "Sorry, this is a private assistant: it only works for its owner."
    ] * 2
    assert bot.s.tasks.list() == []
    listed = await say(botapi, "/tasks", "No open tasks")  # the owner is still served
    assert listed


async def test_what_strangers_wrote_leaves_the_database_after_a_week(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock, tmp_path: Path
) -> None:
    secret = "my card number is 4111 1111 1111 1111"
    await say(botapi, secret, "private assistant", user=STRANGER)
    database = tmp_path / "microdesk.db"

    def kept() -> bool:
        with sqlite3.connect(database) as db:  # the raw update's JSON, as the inbox stores it
            return bool(
                db.execute("SELECT 1 FROM inbox WHERE payload LIKE '%4111 1111%'").fetchall()
            )

    await say(botapi, "/tasks", "No open tasks")
    assert kept()  # handled, kept a week: it drops a second copy Telegram may send
    clock.advance(timedelta(days=8))
    await say(botapi, "/tasks", "No open tasks")
    assert await botapi.wait_for(lambda: not kept())
    with sqlite3.connect(database) as db:  # the newest update stays: the poller's offset
        assert db.execute("SELECT count(*) FROM inbox").fetchone()[0] >= 1


async def test_stranger_button_press_is_refused(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    added = await say(botapi, "/add Pay rent tomorrow", "Added")
    botapi.press_button(
        added, text=added["reply_markup"]["inline_keyboard"][0][0]["text"], user_id=STRANGER
    )
    await botapi.wait_for(lambda: [c for c in botapi.calls if c.method == "answerCallbackQuery"])
    assert bot.s.tasks.list()[0].status == "open"


async def test_bad_input_gets_one_sentence_and_the_bot_keeps_serving(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    cases = {
        "/add": "Tell me what to add",
        "/add Pay VAT yesterday": "past",
        "/done 999": "no task #999",
        "/done abc": "task number first",
        "/frobnicate": "I don't know /frobnicate",
        "/snooze 1 blorp": "couldn't read a date",
        "/add " + "z" * 10_000: "too long",
        "/tasks someday": "today, week, overdue",
    }
    for text, expected in cases.items():
        reply = await say(botapi, text, expected)
        assert "Traceback" not in reply["text"]
    added = await say(botapi, "/add <b>Pay</b> 💶 \u202eטקסט tomorrow", "Added")
    assert "&lt;b&gt;" not in added["text"]  # the fake parsed HTML: escaped tags came through
    assert "<b>Pay</b>" in added["text"] and "💶" in added["text"]
    assert len(bot.s.tasks.list()) == 1


async def test_delete_asks_first(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    await say(botapi, "/add Renew licence friday", "Added")
    ask = await say(botapi, "/delete 1", "can't be undone")
    botapi.press_button(ask, text="Keep", user_id=OWNER)
    await botapi.wait_for(lambda: "Kept" in botapi.bot_messages(OWNER)[-1]["text"])
    assert len(bot.s.tasks.list()) == 1
    ask = await say(botapi, "/delete 1", "can't be undone")
    botapi.press_button(ask, text="🗑 Delete", user_id=OWNER)
    await botapi.wait_for(lambda: "Deleted" in botapi.bot_messages(OWNER)[-1]["text"])
    assert bot.s.tasks.list() == []


async def test_snooze_button_offers_presets(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    added = await say(botapi, "/add Call bank today 6pm", "Added")
    before = len(botapi.bot_messages(OWNER))
    botapi.press_button(added, text="⏰ Snooze", user_id=OWNER)
    choices = await botapi.wait_for_message(OWNER, contains="Snooze", after=before)
    botapi.press_button(choices, text="Tomorrow 9:00", user_id=OWNER)
    await botapi.wait_for(lambda: "Moved" in botapi.bot_messages(OWNER)[-1]["text"])
    assert bot.s.tasks.list()[0].due_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


async def test_command_menu_matches_the_handlers(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    [call] = [c for c in botapi.calls if c.method == "setMyCommands"]
    names = {c["command"] for c in call.params["commands"]}
    assert names == set(bot.conversation.router.commands)
    helped = await say(botapi, "/help", "/add")
    for name in names:
        assert f"/{name}" in helped["text"]


async def test_briefing_fires_once_at_its_time_and_once_late_after_restart(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 26, 6, 59, tzinfo=UTC))  # 07:59 in Berlin
    services = services_for(tmp_path, botapi, clock)
    services.tasks.add("File VAT return every quarter due Nov 26")
    adapter = TelegramAdapter(services, tick_seconds=0.02)
    await adapter.startup(poll_timeout=1)

    def briefings() -> list[dict[str, Any]]:
        return [m for m in botapi.bot_messages(OWNER) if m["text"].startswith("☀️ Briefing")]

    await botapi.wait_for(lambda: [c for c in botapi.calls if c.method == "getUpdates"])
    assert briefings() == []
    clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    await botapi.wait_for(briefings)
    await adapter.ticks_pass(10)  # ten more ticks: still one briefing
    await adapter.shutdown()
    [first] = briefings()
    assert "Due today" in first["text"] and "File VAT return" in first["text"]
    assert "late" not in first["text"]
    services.close()

    clock.set(datetime(2026, 11, 27, 11, 0, tzinfo=UTC))  # down through the next 08:00
    services = services_for(tmp_path, botapi, clock)
    adapter = TelegramAdapter(services, tick_seconds=0.02)
    await adapter.startup(poll_timeout=1)
    await botapi.wait_for(lambda: len(briefings()) == 2)
    clock.advance(timedelta(minutes=5))
    await adapter.ticks_pass(10)
    await adapter.shutdown()
    services.close()
    second = briefings()[-1]
    assert len(briefings()) == 2
    assert "late" in second["text"] and "Overdue" in second["text"]


async def test_reminder_is_sent_once_with_buttons(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    await say(botapi, "/add Pay insurance Dec 5 3pm", "Added")
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))
    reminder = await botapi.wait_for_message(OWNER, contains="Reminder")
    assert re.search(r"due in a week", reminder["text"])
    assert reminder["reply_markup"]["inline_keyboard"][0][0]["text"].startswith("✓")
    clock.advance(timedelta(minutes=30))
    await bot.ticks_pass(10)
    assert len([m for m in botapi.bot_messages(OWNER) if "Reminder" in m["text"]]) == 1
