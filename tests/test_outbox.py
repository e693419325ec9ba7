"""The outbox: scheduled messages are claimed before they are sent, recorded after, and an
unknown outcome is sent once more, marked — never twice unmarked, never a third time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram.ext import ApplicationBuilder

from bot.app import Services
from bot.clock import FrozenClock
from bot.commands.build import build_conversation
from bot.commands.reply import Reply
from bot.db.models import ReminderLog
from bot.db.outbox import FAILED, PENDING, SENDING, SENT, UNKNOWN, OutboxMessage
from bot.services.delivery.outbox import MAX_ATTEMPTS, Claimed, OutboxService, Outgoing, queue
from bot.services.delivery.send_errors import SendRateLimited, SendRefused, SendUnknown
from bot.tg import render
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, TOKEN, services_for
from tests.fakes.botapi import FakeBotAPI

AGAIN = "(sent again: I was interrupted"


def rows(services: Services) -> list[OutboxMessage]:
    with services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def put(services: Services, key: str, text: str = "hello") -> None:
    with services.sessions.begin() as session:
        assert queue(session, Outgoing(key, "reminder", text, ((("✓ Done", "d:1"),),)), START)


START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Transport:
    """A deliver function that answers from a script: a message id, or an exception."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.seen: list[Claimed] = []

    async def __call__(self, item: Claimed) -> int | None:
        self.seen.append(item)
        step = self.script.pop(0) if self.script else 100 + len(self.seen)
        if isinstance(step, Exception):
            raise step
        return step


async def test_a_queued_message_is_claimed_once_and_recorded_with_its_message_id(
    services: Services,
) -> None:
    put(services, "reminder:1:x:7d")
    [row] = rows(services)
    outbox = services.outbox
    claimed = outbox.claim(row.id)
    assert claimed is not None and not claimed.again
    assert outbox.claim(row.id) is None  # a second worker, or a replay, finds it taken
    assert rows(services)[0].status == SENDING
    outbox.recover()  # as at the next start: it may have gone out
    transport = Transport(555)
    assert await outbox.drain(transport) == 1
    [row] = rows(services)
    assert (row.status, row.message_id, row.resent) == (SENT, 555, True)
    assert transport.seen[0].again and transport.seen[0].buttons == ((("✓ Done", "d:1"),),)
    assert await outbox.drain(transport) == 0  # settled: never again


async def test_an_unknown_outcome_is_sent_once_more_marked_and_then_never(
    services: Services,
) -> None:
    put(services, "briefing:2026-11-25")
    transport = Transport(SendUnknown(), SendUnknown())
    assert await services.outbox.drain(transport) == 0
    assert rows(services)[0].status == UNKNOWN
    assert await services.outbox.drain(transport) == 0
    assert [item.again for item in transport.seen] == [False, True]
    for _ in range(3):
        await services.outbox.drain(transport)
    assert len(transport.seen) == 2
    [row] = rows(services)
    assert (row.status, row.resent, row.attempts) == (UNKNOWN, True, 2)
    [missing] = services.outbox.undelivered(START - timedelta(days=1))
    assert missing.status == UNKNOWN


async def test_a_refusal_fails_the_row_and_is_not_retried(services: Services) -> None:
    put(services, "reminder:1:x:1d")
    transport = Transport(SendRefused("Telegram rejected it (Bad Request: chat not found)"))
    await services.outbox.drain(transport)
    await services.outbox.drain(transport)
    [row] = rows(services)
    assert len(transport.seen) == 1
    assert row.status == FAILED and row.error is not None and "chat not found" in row.error


async def test_rate_limited_sends_wait_for_the_next_tick_then_give_up(services: Services) -> None:
    put(services, "reminder:1:x:due")
    put(services, "reminder:2:x:due")
    transport = Transport(*[SendRateLimited(3.0)] * MAX_ATTEMPTS)
    await services.outbox.drain(transport)
    assert len(transport.seen) == 1  # told to wait: the second row waits too
    assert [r.status for r in rows(services)] == [PENDING, PENDING]
    for _ in range(MAX_ATTEMPTS):
        await services.outbox.drain(transport)
    first, second = rows(services)
    assert (first.status, first.attempts) == (FAILED, MAX_ATTEMPTS)
    assert second.status == SENT and not second.resent
    assert not any(item.again for item in transport.seen)  # nothing went out: no marker


def test_the_ledger_and_the_outbox_are_written_together(
    services: Services, clock: FrozenClock
) -> None:
    services.tasks.add("Pay insurance Dec 5 3pm")
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))
    [due] = services.scheduler.due_reminders()
    assert services.scheduler.queue_reminder(due, "⏰ Reminder")
    assert not services.scheduler.queue_reminder(due, "⏰ Reminder")  # the ledger refuses it
    assert services.scheduler.due_reminders() == []  # queued counts as handled, sent or not
    [row] = rows(services)
    assert row.key.startswith("reminder:") and row.key.endswith(":7d") and row.status == PENDING
    with services.sessions() as session:
        assert [r.status for r in session.scalars(select(ReminderLog))] == ["queued"]


def test_a_duplicate_key_is_refused_in_the_same_transaction(services: Services) -> None:
    put(services, "briefing:2026-11-25")
    with services.sessions.begin() as session:
        assert not queue(session, Outgoing("briefing:2026-11-25", "briefing", "again"), START)
    assert len(rows(services)) == 1


async def test_the_briefing_lists_what_may_not_have_arrived(services: Services) -> None:
    title = "Pay VAT &amp; social security " + "x" * 130  # cut after the entity's first bytes
    put(services, "reminder:1:x:7d", f"⏰ Reminder: <b>{title}</b> is due in a week")
    await services.outbox.drain(Transport(SendRefused("Telegram refused it (Forbidden)")))
    briefing = build_conversation(services).briefing
    text = (await briefing.briefing(""))[0].text
    assert "Messages I may not have delivered" in text
    [line] = [line for line in text.splitlines() if "Pay VAT" in line]
    assert line.startswith("  ⏰ Reminder: Pay VAT &amp; social security xxx")  # no <b>
    assert "x… (" in line and line.endswith(": refused by Telegram)")


# --- through the real adapter and the fake Bot API -------------------------------------------


def sent_texts(botapi: FakeBotAPI, match: Callable[[str], bool]) -> list[str]:
    return [m["text"] for m in botapi.bot_messages(OWNER) if match(m["text"])]


async def test_a_send_that_may_have_gone_out_is_repeated_once_with_the_marker(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    services = services_for(tmp_path, botapi, clock)
    services.tasks.add("Pay insurance Dec 5 3pm")
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))  # the 7-day rung; 15:00 in Berlin
    botapi.fail_next("sendMessage", 502, times=5)  # every retry spent on 502s: unknown
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    try:
        await botapi.wait_for(lambda: sent_texts(botapi, lambda t: t.startswith(AGAIN)))
        await asyncio.sleep(0.3)  # more ticks: nothing more
    finally:
        await adapter.shutdown()
        services.close()
    assert len(sent_texts(botapi, lambda t: "Reminder" in t)) == 1
    assert len(sent_texts(botapi, lambda t: "Briefing" in t)) == 1
    statuses = {r.kind: (r.status, r.resent, r.message_id is not None) for r in rows(services)}
    assert statuses == {"reminder": (SENT, True, True), "briefing": (SENT, False, True)}


async def test_a_refused_reminder_is_recorded_failed_and_not_retried(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))  # before the briefing
    services = services_for(tmp_path, botapi, clock)
    services.tasks.add("Pay insurance Dec 5 3pm")
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))  # the 7-day rung, and the briefing
    botapi.fail_next("sendMessage", 403, description="Forbidden: bot was blocked by the user")
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    try:
        await botapi.wait_for(lambda: any(r.status == FAILED for r in rows(services)))
        await asyncio.sleep(0.3)
    finally:
        await adapter.shutdown()
        services.close()
    assert len([c for c in botapi.calls_to("sendMessage") if c.status == 403]) == 1
    assert sent_texts(botapi, lambda t: "Reminder" in t) == []
    assert len(sent_texts(botapi, lambda t: "Briefing" in t)) == 1


async def test_a_time_out_after_the_request_left_is_unknown(botapi: FakeBotAPI) -> None:
    app = ApplicationBuilder().token(TOKEN).base_url(botapi.bot_base_url).read_timeout(0.3)
    bot = app.updater(None).build().bot
    await bot.initialize()
    botapi.delay("sendMessage", 1.0, times=1)  # answered late, after it took effect
    try:
        with pytest.raises(SendUnknown):
            await render.send_tracked(bot, OWNER, Reply("⏰ Reminder"))
        assert await render.send_tracked(bot, OWNER, Reply("next")) is not None
    finally:
        await bot.shutdown()
    assert [m["text"] for m in botapi.bot_messages(OWNER)] == ["⏰ Reminder", "next"]


def test_a_fresh_service_over_the_same_rows_agrees(services: Services, clock: FrozenClock) -> None:
    put(services, "briefing:2026-11-25")
    other = OutboxService(services.sessions, clock)
    [row_id] = other.ready()
    assert services.outbox.claim(row_id) is not None
    assert other.claim(row_id) is None and other.ready() == []
