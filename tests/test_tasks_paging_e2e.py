"""/tasks over many tasks: one message a page, More ▸ / ◂ Back edit it, filters page too."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Services
from bot.clock import FrozenClock
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.asyncio

TASK_LINE = re.compile(r"^(⚠️ )?#(\d+) ", re.MULTILINE)


def seed(services: Services, count: int, words: str = "in 3 days", prefix: str = "Job") -> None:
    for n in range(count):
        services.tasks.add(f"{prefix} {n:02d} {words}")


def listed_ids(message: dict[str, Any]) -> list[int]:
    return [int(m.group(2)) for m in TASK_LINE.finditer(message["text"])]


def labels(message: dict[str, Any]) -> list[str]:
    return [
        b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row
    ]


def lists(botapi: FakeBotAPI) -> list[dict[str, Any]]:
    """The bot's messages but the briefing and reminders the scheduler sends meanwhile."""
    return [m for m in botapi.bot_messages(OWNER) if not m["text"].startswith(("☀️", "⏰"))]


async def ask(botapi: FakeBotAPI, text: str, contains: str) -> dict[str, Any]:
    before, seen = len(botapi.bot_messages(OWNER)), len(lists(botapi))
    botapi.send_message(text, user_id=OWNER)
    message = await botapi.wait_for_message(OWNER, contains=contains, after=before)
    await botapi.wait_idle()
    sent = [m["text"][:50] for m in lists(botapi)[seen:]]
    assert len(sent) == 1, f"the list must be one message: {sent}"
    return message


async def press(botapi: FakeBotAPI, message: dict[str, Any], label: str, contains: str) -> Any:
    """Tap `label` under `message`; the same message, edited until its text has `contains`."""
    count = len(lists(botapi))
    botapi.press_button(message, text=label, user_id=OWNER)

    def edited() -> dict[str, Any] | None:
        now = next(
            m for m in botapi.bot_messages(OWNER) if m["message_id"] == message["message_id"]
        )
        return now if contains in now["text"] else None

    page = await botapi.wait_for(edited, what=f"the list edited to show {contains!r}")
    await botapi.wait_idle()
    assert len(lists(botapi)) == count, "a page button edits, it sends nothing new"
    return page


async def test_many_tasks_page_by_editing_one_message(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    seed(bot.s, 32)
    seed(bot.s, 3, "today 6pm", prefix="Late")
    clock.advance(timedelta(hours=8))  # the late ones are overdue now: listed first
    first = await ask(botapi, "/tasks", "open tasks")
    assert first["text"].startswith("35 open tasks — the next 15 by due date"), first["text"]
    ids = listed_ids(first)
    assert ids == [33, 34, 35, *range(1, 13)]
    assert first["text"].count("(overdue)") == 3
    assert labels(first)[-1] == "More ▸" and "◂ Back" not in labels(first)
    assert sum(label.startswith("✓ #") for label in labels(first)) == 15  # each task's Done

    second = await press(botapi, first, "More ▸", "16 to 30")
    assert second["text"].startswith("35 open tasks — 16 to 30 by due date")
    assert listed_ids(second) == list(range(13, 28))
    assert labels(second)[-2:] == ["◂ Back", "More ▸"]

    last = await press(botapi, second, "More ▸", "31 to 35")
    assert listed_ids(last) == [28, 29, 30, 31, 32]
    assert labels(last)[-1] == "◂ Back" and "More ▸" not in labels(last)

    back = await press(botapi, last, "◂ Back", "16 to 30")
    assert listed_ids(back) == listed_ids(second)
    # every task was shown exactly once across the pages
    assert sorted(ids + listed_ids(second) + listed_ids(last)) == list(range(1, 36))


async def test_a_few_tasks_are_one_page_without_paging_buttons(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    seed(bot.s, 3)
    listed = await ask(botapi, "/tasks", "open tasks")
    assert listed["text"].splitlines()[0] == "3 open tasks"
    assert not {"More ▸", "◂ Back"} & set(labels(listed))


async def test_filters_keep_their_filter_across_pages(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    seed(bot.s, 19, "@maria in 2 days", prefix="Maria")
    seed(bot.s, 20, "in 3 weeks", prefix="Later")
    mine = await ask(botapi, "/tasks @Maria", "for @maria")
    assert mine["text"].startswith("19 open tasks for @maria — the next 15 by due date")
    rest = await press(botapi, mine, "More ▸", "16 to 19")
    assert listed_ids(rest) == [16, 17, 18, 19] and "Later" not in rest["text"]

    week = await ask(botapi, "/tasks week", "within 7 days")
    assert week["text"].startswith("19 open tasks due within 7 days — the next 15")
    week_rest = await press(botapi, week, "More ▸", "16 to 19")
    assert "Later" not in week_rest["text"]

    everything = await ask(botapi, "/tasks", "open tasks")
    assert everything["text"].startswith("39 open tasks — the next 15 by due date")


async def test_a_stale_page_button_shows_the_current_last_page(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    seed(bot.s, 35)
    first = await ask(botapi, "/tasks", "open tasks")
    second = await press(botapi, first, "More ▸", "16 to 30")
    for task in bot.s.tasks.list()[:20]:  # 15 left: the third page no longer exists
        bot.s.tasks.complete(task.id)
    current = await press(botapi, second, "More ▸", "15 open tasks")
    assert listed_ids(current) == list(range(21, 36))
    assert not {"More ▸", "◂ Back"} & set(labels(current))


async def test_a_page_of_long_titles_stays_one_message_under_4096(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    for n in range(30):
        bot.s.tasks.add(f"Task {n:02d} " + "with a long title to fill the lines " * 8 + "tomorrow")
    first = await ask(botapi, "/tasks", "open tasks")
    assert len(first["text"]) <= 4096
    shown = len(listed_ids(first))
    assert 1 <= shown < 15 and f"the next {shown} by due date" in first["text"]
    assert labels(first)[-1] == "More ▸"
    rest = await press(botapi, first, "More ▸", f"{shown + 1} to ")
    assert listed_ids(rest)[0] == shown + 1 and len(rest["text"]) <= 4096
