"""The fake Bot API answers 429 / 502 / slowly on 20 % of sends: every reply, reminder and
briefing still arrives exactly once, and every outbox row is settled sent with its message id."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.outbox import SENT, OutboxMessage
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def before_the_briefing(clock: FrozenClock) -> None:
    clock.set(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))  # before the 08:00 briefing in Berlin


def delivered(botapi: FakeBotAPI, prefix: str) -> Counter[str]:
    return Counter(m["text"] for m in botapi.bot_messages(OWNER) if m["text"].startswith(prefix))


async def test_every_reply_reminder_and_briefing_arrives_exactly_once(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    botapi.chaos(rate=0.2, kinds=("429", "502", "slow"), seed=7, slow_seconds=0.3, retry_after=0)
    titles = [f"Fault task {i}" for i in range(20)]
    for title in titles:
        botapi.send_message(f"/add {title} Nov 26 9am", user_id=OWNER)
    await botapi.wait_for(lambda: len(delivered(botapi, "Added")) == 20, timeout=60)
    clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))  # 09:00 in Berlin: briefing, 1-day rung
    await botapi.wait_for(lambda: delivered(botapi, "☀️ Briefing"), timeout=30)
    await botapi.wait_for(lambda: len(delivered(botapi, "⏰ Reminder")) == 20, timeout=60)
    await bot.ticks_pass(10)  # more ticks: nothing is sent again
    faults = Counter(c.fault for c in botapi.calls if c.fault)
    assert faults["429"] and faults["502"] and faults["slow"], faults
    added = delivered(botapi, "Added")
    assert len(added) == 20 and set(added.values()) == {1}
    assert sum(delivered(botapi, "☀️ Briefing").values()) == 1
    reminders = delivered(botapi, "⏰ Reminder")
    assert len(reminders) == 20 and set(reminders.values()) == {1}
    assert sorted(t.title for t in bot.s.tasks.list()) == sorted(titles)
    with bot.s.sessions() as session:
        rows = list(session.scalars(select(OutboxMessage)))
    assert len(rows) == 21  # 20 reminders and the briefing
    assert {(r.status, r.resent) for r in rows} == {(SENT, False)}
    ids = {m["message_id"] for m in botapi.bot_messages(OWNER)}
    assert all(r.message_id in ids for r in rows)
    assert len({r.message_id for r in rows}) == 21
