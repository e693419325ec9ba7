"""Cards over the fake Bot API: only the owner's Approve executes, and only once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, STRANGER
from tests.fakes.botapi import FakeBotAPI
from tests.test_bot_e2e import say

pytestmark = pytest.mark.asyncio


async def card_for(botapi: FakeBotAPI, text: str) -> dict[str, Any]:
    return await say(botapi, text, "Proposal #")


def titles(bot: TelegramAdapter) -> list[str]:
    return [t.title for t in bot.s.tasks.list()]


async def test_request_card_approve_creates_the_task_once_even_on_a_double_tap(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    card = await card_for(botapi, "remind me to renew the licence on Jan 31")
    assert "renew the licence" in card["text"] and "31 Jan 2027" in card["text"]
    notices = [m for m in botapi.bot_messages(OWNER) if "AI drafting is off" in m["text"]]
    assert len(notices) == 1
    assert titles(bot) == []  # nothing before Approve
    botapi.press_button(card, text="✅ Approve", user_id=OWNER)
    botapi.press_button(card, text="✅ Approve", user_id=OWNER)  # a double tap
    await botapi.wait_for(lambda: len(botapi.answered_callbacks) >= 2)
    await botapi.wait_idle()
    assert titles(bot) == ["renew the licence"]
    assert "✅ Approved" in botapi.last_bot_message(OWNER)["text"] or any(
        "✅ Approved" in m["text"] for m in botapi.bot_messages(OWNER)
    )
    # the notice that AI is off is said once, not on every message
    await card_for(botapi, "remind me to call Bob tomorrow")
    notices = [m for m in botapi.bot_messages(OWNER) if "AI drafting is off" in m["text"]]
    assert len(notices) == 1


async def test_reject_does_nothing_and_edit_makes_a_new_card(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    card = await card_for(botapi, "remind me to pay rent Dec 1")
    botapi.press_button(card, text="✖️ Reject", user_id=OWNER)
    await botapi.wait_for(lambda: "Rejected" in botapi.bot_messages(OWNER)[-1]["text"])
    assert titles(bot) == []

    card = await card_for(botapi, "remind me to pay rent Dec 1")
    before = len(botapi.bot_messages(OWNER))
    botapi.press_button(card, text="✏️ Edit", user_id=OWNER)
    await botapi.wait_for_message(OWNER, contains="Editing proposal", after=before)
    new_card = await say(botapi, "Pay office rent @tom Dec 2", "Proposal #")
    assert "Pay office rent" in new_card["text"] and "@tom" in new_card["text"]
    assert titles(bot) == []
    botapi.press_button(card, text="✅ Approve", user_id=OWNER)  # the old card is closed
    await botapi.wait_idle()
    assert titles(bot) == []
    botapi.press_button(new_card, text="✅ Approve", user_id=OWNER)
    await botapi.wait_for(lambda: titles(bot) == ["Pay office rent"])


async def test_a_strangers_tap_does_nothing(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    card = await card_for(botapi, "remind me to file taxes Jan 31")
    botapi.press_button(card, text="✅ Approve", user_id=STRANGER)
    await botapi.wait_for(lambda: botapi.answered_callbacks)
    await botapi.wait_idle()
    assert titles(bot) == []
    assert bot.s.proposals.pending()[0].status == "pending"


async def test_an_expired_card_cannot_be_approved(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    card = await card_for(botapi, "remind me to file taxes Jan 31")
    clock.advance(timedelta(hours=25))
    await bot.ticks_pass(1)  # a whole tick after the clock moved expires it
    botapi.press_button(card, text="✅ Approve", user_id=OWNER)
    await botapi.wait_for(lambda: "expired" in botapi.bot_messages(OWNER)[-1]["text"])
    assert titles(bot) == []
    pending = await say(botapi, "/pending", "No proposals")
    assert pending
    audit = await say(botapi, "/audit", "Recent actions")
    assert "expired" in audit["text"] and "proposed" in audit["text"]


async def test_pending_lists_cards_and_the_briefing_counts_them(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    await card_for(botapi, "remind me to file taxes Jan 31")
    listed = await say(botapi, "/pending", "Proposal #")
    assert listed["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Approve"
    briefing = await say(botapi, "/briefing", "Briefing")
    assert "Proposals waiting" in briefing["text"]
