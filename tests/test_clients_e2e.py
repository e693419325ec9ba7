"""Clients over Telegram Business, over the fake Bot API and the fake OpenAI server.

A client's message becomes a card in the owner's chat; only Approve sends, exactly once, into
the client chat with the business connection id; every way a send can go wrong ends in one
clear message to the owner and never in a second send.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.db.clients import FROM_CLIENT, FROM_OWNER, Client, ClientMessage
from bot.llm.client import RetryPolicy, Timeouts
from bot.tg.app import TelegramAdapter
from bot.tg.business import TelegramTransport
from tests.conftest import OWNER, STRANGER, TOKEN, make_settings
from tests.fakes.botapi import Call, FakeBotAPI
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_api import Reply as LLMReply

pytestmark = pytest.mark.asyncio
CONN = "biz-connection-1"
ANNA, BORIS = 5551, 5552
QUIET = timedelta(seconds=21)  # a little over the 20 s quiet period
FAST = Timeouts(connect=1.0, read=1.0, write=1.0, pool=1.0)
PATIENT = Timeouts(connect=1.0, read=120.0, write=1.0, pool=1.0)  # a model held by the test
UNKNOWN_ANSWER = "was sent but its outcome is unknown; nothing more was done."
DRAFT = "Hi Anna, the workshop costs 40 € per hour. Best, Mia"


@dataclass(frozen=True)
class Passage:
    text: str
    source: str


async def price_list(query: str, k: int) -> list[Passage]:
    return [Passage("Workshop: 40 € per hour, materials included.", "price-list.md")]


Start = Callable[..., Awaitable[TelegramAdapter]]


@pytest.fixture
async def api(clock: FrozenClock) -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI(token=TOKEN, clock=lambda: clock.now().timestamp())  # dates on our clock
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def llm_api() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def start(
    tmp_path: Path, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> AsyncIterator[Start]:
    """Start the bot (again, after a stop: the same database); everything stops at the end."""
    running: list[tuple[TelegramAdapter, Services]] = []

    async def _start(*, ai: bool = True, timeouts: Timeouts = FAST) -> TelegramAdapter:
        endpoint = {"OPENAI_BASE_URL": llm_api.base_url} if ai else {}
        settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=api.base_url, **endpoint)
        retry = RetryPolicy(attempts=1, total=timeouts.read * 2, backoff=0.01, backoff_max=0.02)
        services = build_services(
            settings, clock, llm_timeouts=timeouts, llm_retry=retry, ai_search=price_list
        )
        adapter = TelegramAdapter(services, tick_seconds=0.02)
        assert isinstance(services.replies.transport, TelegramTransport)
        services.replies.transport.read_timeout = 0.3
        await adapter.startup(poll_timeout=1)
        running.append((adapter, services))
        await api.wait_for_message(OWNER, contains="Briefing")  # the day's first, at the start
        return adapter

    yield _start
    for adapter, services in running:
        if adapter.app.running:
            await stop(adapter)
        services.close()


async def stop(adapter: TelegramAdapter) -> None:
    await adapter.shutdown()


# --- helpers -----------------------------------------------------------------------------------


async def connect(api: FakeBotAPI, bot: TelegramAdapter, **rights: bool) -> str:
    """The owner connects the bot; the notice they get."""
    before = len(api.bot_messages(OWNER))
    api.connect_business(CONN, user_id=OWNER, **rights)
    notice = await api.wait_for_message(OWNER, contains="🔌", after=before)
    assert bot.s.clients.knows(CONN)
    return str(notice["text"])


def messages(bot: TelegramAdapter) -> list[ClientMessage]:
    with bot.s.sessions() as session:
        return list(session.query(ClientMessage).order_by(ClientMessage.id))


async def writes(
    api: FakeBotAPI, bot: TelegramAdapter, *texts: str, user: int = ANNA, name: str = "Anna"
) -> None:
    """The client sends `texts`; returns once all are stored."""
    want = len(messages(bot)) + len(texts)
    for text in texts:
        api.send_business_message(text, connection_id=CONN, user_id=user, first_name=name)
    await api.wait_for(lambda: len(messages(bot)) == want, what=f"{want} stored messages")


async def drafted_card(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> tuple[TelegramAdapter, dict[str, Any]]:
    """A connected bot, Anna asking the price, and the card with the drafted reply."""
    bot = await start()
    await connect(api, bot)
    llm_api.script(LLMReply.text(DRAFT))
    await writes(api, bot, "How much is the workshop?")
    return bot, await quiet_then_card(api, clock)


async def quiet_then_card(api: FakeBotAPI, clock: FrozenClock) -> dict[str, Any]:
    before = len(api.bot_messages(OWNER))
    clock.advance(QUIET)
    return await api.wait_for_message(OWNER, contains="Proposal #", after=before)


def drafts_due(bot: TelegramAdapter) -> list[int]:
    with bot.s.sessions() as session:
        return [c.id for c in session.query(Client).where(Client.draft_due_at.is_not(None))]


def business_sends(api: FakeBotAPI) -> list[Call]:
    return [c for c in api.calls_to("sendMessage") if "business_connection_id" in c.params]


async def approve(
    api: FakeBotAPI, card: dict[str, Any], taps: int = 1, *, replay: bool = False
) -> None:
    """The owner taps Approve (`replay`: the card's original button, even after an edit)."""
    answered = len(api.answered_callbacks)
    for n in range(taps):
        if replay:
            data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            query = {"id": f"replay-{n}", "from": api.make_user(OWNER), "message": card}
            api.enqueue({"callback_query": {**query, "chat_instance": "1", "data": data}})
        else:
            api.press_button(card, text="✅ Approve", user_id=OWNER)
    await api.wait_for(lambda: len(api.answered_callbacks) == answered + taps)
    await api.wait_idle()


def card_now(api: FakeBotAPI, card: dict[str, Any]) -> str:
    """The card's text as it stands after edits."""
    found = [m for m in api.bot_messages(OWNER) if m["message_id"] == card["message_id"]]
    return str(found[0]["text"])


def status_of(bot: TelegramAdapter, card: dict[str, Any]) -> str:
    proposal_id = int(card["text"].split("#", 1)[1].split()[0])
    return bot.s.proposals.get(proposal_id).status


# --- the happy path ----------------------------------------------------------------------------


async def test_a_burst_gets_one_card_and_approve_sends_once_into_the_client_chat(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start()
    assert "Connected to your Telegram Business" in await connect(api, bot)
    llm_api.script(LLMReply.text(DRAFT + "\nSources: [1]"))
    await writes(api, bot, "Hi! How much is the workshop?", "And is material included?")
    assert bot.s.proposals.pending() == []  # nothing before the quiet period
    card = await quiet_then_card(api, clock)
    assert len(llm_api.requests) == 1  # the burst of two got one draft
    prompt = llm_api.requests[0]["messages"][0]["content"]
    assert "How much is the workshop?" in prompt and "material included" in prompt
    text = card["text"]
    assert "Reply to Anna" in text and "How much is the workshop?" in text
    assert "material included" in text and "40 € per hour" in text
    assert "Sources: price-list.md" in text and "⚠️" not in text
    assert business_sends(api) == []  # nothing reaches the client without Approve

    await approve(api, card, taps=2)  # a double tap
    sends = business_sends(api)
    assert len(sends) == 1
    assert sends[0].params["business_connection_id"] == CONN
    assert sends[0].params["chat_id"] == ANNA and sends[0].params["text"] == DRAFT
    assert "✅ Sent" in card_now(api, card) and status_of(bot, card) == "done"
    telegram_id = sends[0].result["message_id"]
    assert any(e.detail == f"telegram message {telegram_id}" for e in bot.s.proposals.audit())
    assert [m.sender for m in messages(bot)] == [FROM_CLIENT, FROM_CLIENT, FROM_OWNER]
    assert bot.s.clients.waiting() == []


async def test_a_clients_command_reaches_nothing_and_the_owners_own_messages_are_context(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start()
    await connect(api, bot)
    bot.s.tasks.add("Secret task friday")
    sent_before = len(api.calls_to("sendMessage"))
    await writes(api, bot, "/tasks")
    api.send_business_message("/tasks", connection_id=CONN, user_id=ANNA, from_owner=True)
    await api.wait_for(lambda: len(messages(bot)) == 2)
    await api.wait_idle()
    assert len(api.calls_to("sendMessage")) == sent_before  # no answer anywhere, no /tasks list
    assert [m.sender for m in messages(bot)] == [FROM_CLIENT, FROM_OWNER]
    clock.advance(QUIET)
    await api.wait_idle(quiet=0.2)
    assert llm_api.requests == [] and bot.s.proposals.pending() == []  # the owner answered


async def test_edits_and_deletions_follow_the_thread_and_strangers_are_ignored(
    start: Start, api: FakeBotAPI, clock: FrozenClock
) -> None:
    bot = await start()
    await connect(api, bot)
    await writes(api, bot, "Can we meet Monday?", "Call me at 0170 5551234")
    first, second = messages(bot)
    api.enqueue(
        {
            "edited_business_message": {
                "message_id": first.message_id,
                "from": api.make_user(ANNA, "Anna"),
                "chat": {"id": ANNA, "type": "private", "first_name": "Anna"},
                "date": int(clock.now().timestamp()),
                "edit_date": int(clock.now().timestamp()),
                "text": "Can we meet Tuesday?",
                "business_connection_id": CONN,
            }
        }
    )
    api.enqueue(
        {
            "deleted_business_messages": {
                "business_connection_id": CONN,
                "chat": {"id": ANNA, "type": "private", "first_name": "Anna"},
                "message_ids": [second.message_id],
            }
        }
    )
    await api.wait_for(lambda: [m.deleted for m in messages(bot)] == [False, True])
    assert messages(bot)[0].text == "Can we meet Tuesday?"
    assert [m.text for m in bot.s.clients.thread(first.client_id)] == ["Can we meet Tuesday?"]

    api.connect_business("biz-of-someone-else", user_id=STRANGER)
    api.send_business_message(
        "hello", connection_id="biz-of-someone-else", user_id=BORIS, first_name="Boris"
    )
    await api.wait_idle()
    assert not bot.s.clients.knows("biz-of-someone-else") and len(messages(bot)) == 2
    assert [s.client.name for s in bot.s.clients.summaries()] == ["Anna"]


async def test_a_connection_made_while_the_bot_was_down_is_read_from_telegram(
    start: Start, api: FakeBotAPI
) -> None:
    bot = await start()
    api.business_connections[CONN] = {  # known to Telegram; its update never reached us
        "id": CONN,
        "user": api.make_user(OWNER),
        "user_chat_id": OWNER,
        "date": 0,
        "rights": {"can_reply": True},
        "is_enabled": True,
    }
    await writes(api, bot, "Hello?")
    assert bot.s.clients.knows(CONN) and len(api.calls_to("getBusinessConnection")) == 1


# --- when a send can't or didn't happen --------------------------------------------------------


async def test_without_the_reply_right_the_card_says_so_and_approve_gives_the_text(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start()
    assert "without the right to reply" in await connect(api, bot, can_reply=False)
    llm_api.script(LLMReply.text(DRAFT))
    await writes(api, bot, "How much is the workshop?")
    card = await quiet_then_card(api, clock)
    assert "no right to reply" in card["text"] and "text to copy" in card["text"]
    before = len(api.bot_messages(OWNER))
    await approve(api, card)
    assert business_sends(api) == []
    new = api.bot_messages(OWNER)[before:]
    assert [m["text"] for m in new] == [DRAFT]  # the text alone, to copy
    assert "Not sent" in card_now(api, card) and "no right to reply" in card_now(api, card)


async def test_a_closed_24_hour_window_gives_the_text_to_copy(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    _bot, card = await drafted_card(start, api, llm_api, clock)
    assert "⚠️" not in card["text"]
    clock.advance(timedelta(hours=24, seconds=-10))  # the card lives on, the window closed
    before = len(api.bot_messages(OWNER))
    await approve(api, card)
    assert business_sends(api) == []
    assert "over 24 hours old" in card_now(api, card)
    new = [m["text"] for m in api.bot_messages(OWNER)[before:]]
    # the day's briefing is due too (the clock moved past 08:00) and may go out first
    assert [text for text in new if not text.startswith("☀️ Briefing")] == [DRAFT]


async def test_a_send_that_times_out_is_unknown_and_the_owner_is_asked_once(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot, card = await drafted_card(start, api, llm_api, clock)
    before = len(api.bot_messages(OWNER))
    api.delay("sendMessage", 1.0, times=1)  # Telegram takes it, the answer comes too late
    await approve(api, card)
    await api.wait_idle(timeout=5, quiet=0.3)
    assert len(business_sends(api)) == 1  # never retried blindly
    assert status_of(bot, card) == "unknown"
    assert "couldn't tell whether the reply reached Anna" in card_now(api, card)
    assert len(api.bot_messages(OWNER)) == before  # the card itself says it: one message
    await approve(api, card, replay=True)  # the same tap again sends nothing
    assert len(business_sends(api)) == 1
    answers = [m["text"] for m in api.bot_messages(OWNER)[before:]]
    assert answers == [f"Proposal #1 {UNKNOWN_ANSWER}"]  # that tap's answer; nothing asked twice


@pytest.mark.parametrize(
    ("status", "description", "expected"),
    [
        (403, "Forbidden: bot was blocked by the user", "may not write in this chat"),
        (400, "Bad Request: BUSINESS_CONNECTION_INVALID", "connection is not valid"),
    ],
)
async def test_a_refused_send_fails_with_one_clear_message(
    start: Start,
    api: FakeBotAPI,
    llm_api: FakeOpenAI,
    clock: FrozenClock,
    status: int,
    description: str,
    expected: str,
) -> None:
    bot, card = await drafted_card(start, api, llm_api, clock)
    before = len(api.bot_messages(OWNER))
    api.fail_next("sendMessage", status, description=description)
    await approve(api, card)
    assert len(business_sends(api)) == 1 and status_of(bot, card) == "failed"
    text = card_now(api, card)
    assert "Telegram refused the reply to Anna" in text and expected in text
    assert len(api.bot_messages(OWNER)) == before


async def test_a_disabled_connection_is_told_once_and_nothing_is_sent(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    _bot, card = await drafted_card(start, api, llm_api, clock)
    api.connect_business(CONN, user_id=OWNER, is_enabled=False)
    await api.wait_for_message(OWNER, contains="connection is off")
    await approve(api, card)
    assert business_sends(api) == []
    assert "connection is off" in card_now(api, card)


async def test_429_is_honoured_once(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot, card = await drafted_card(start, api, llm_api, clock)
    api.fail_next("sendMessage", 429, retry_after=1)
    await approve(api, card)
    sends = business_sends(api)
    assert [c.status for c in sends] == [429, 200] and status_of(bot, card) == "done"


async def test_a_restart_between_the_tap_and_the_send_never_sends(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot, card = await drafted_card(start, api, llm_api, clock)
    proposal_id = bot.s.proposals.pending()[0].id
    bot.s.proposals.claim(proposal_id)  # the tap's claim committed, then the process died
    await stop(bot)
    before = len(api.bot_messages(OWNER))

    again = await start()
    asked = await api.wait_for_message(
        OWNER, contains="can't tell whether it went out", after=before
    )
    assert DRAFT in asked["text"] and again.s.proposals.get(proposal_id).status == "unknown"
    await approve(api, card)  # the old card's Approve, tapped again after the restart
    await api.wait_idle(quiet=0.2)
    assert business_sends(api) == []
    asks = [m for m in api.bot_messages(OWNER) if "can't tell whether" in m["text"]]
    assert len(asks) == 1


# --- drafts learn, the leak guard, the owner's view ----------------------------------------------


async def test_an_edit_is_reused_as_an_example_in_the_next_draft(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start()
    await connect(api, bot)
    llm_api.script(LLMReply.text("Dear Anna, it is 40 € per hour. Kind regards"))
    await writes(api, bot, "How much is the workshop?")
    card = await quiet_then_card(api, clock)
    before = len(api.bot_messages(OWNER))
    api.press_button(card, text="✏️ Edit", user_id=OWNER)
    await api.wait_for_message(OWNER, contains="Editing proposal", after=before)
    before = len(api.bot_messages(OWNER))
    api.send_message("Hey Anna! 40 € an hour :) Mia", user_id=OWNER)
    edited = await api.wait_for_message(OWNER, contains="Proposal #", after=before)
    await approve(api, edited)
    assert [c.params["text"] for c in business_sends(api)] == ["Hey Anna! 40 € an hour :) Mia"]

    llm_api.script(LLMReply.text("Hey Anna! Yes, Saturday works :) Mia"))
    await writes(api, bot, "Do you have Saturday slots?")
    await quiet_then_card(api, clock)
    prompt = llm_api.requests[-1]["messages"][0]["content"]
    examples = prompt.split("<owner_examples>", 1)[1]
    assert "DRAFT:\nDear Anna, it is 40 € per hour. Kind regards" in examples
    assert "SENT:\nHey Anna! 40 € an hour :) Mia" in examples
    thread = prompt.split("<client_thread>", 1)[1].split("</client_thread>", 1)[0]
    assert "Owner: Hey Anna! 40 € an hour :) Mia" in thread


async def test_a_draft_with_another_clients_details_is_flagged_on_the_card(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start(ai=True)
    await connect(api, bot)
    bot.s.clients.set_autodraft(False)
    await writes(
        api, bot, "My card is paid, mail me at boris@example.org", user=BORIS, name="Boris"
    )
    clock.advance(QUIET)
    await api.wait_for(lambda: not drafts_due(bot), what="the tick passing Boris by")
    bot.s.clients.set_autodraft(True)
    llm_api.script(LLMReply.text("Hi Anna, Boris said to write to boris@example.org."))
    await writes(api, bot, "Who do I ask about invoices?")
    clock.advance(QUIET)
    card = await api.wait_for_message(OWNER, contains="Reply to Anna")
    assert "⚠️ It mentions another client: Boris." in card["text"]
    assert "“boris@example.org”, which appears in Boris's messages" in card["text"]


async def test_without_ai_a_short_note_and_nothing_once_autodraft_is_off(
    start: Start, api: FakeBotAPI, clock: FrozenClock
) -> None:
    bot = await start(ai=False)
    await connect(api, bot)
    await writes(api, bot, "Hello?", "Are you there?")
    before = len(api.bot_messages(OWNER))
    clock.advance(QUIET)
    note = await api.wait_for_message(OWNER, contains="Anna wrote", after=before)
    assert "“Hello? Are you there?”" in note["text"] and "no draft" in note["text"]
    listed = await say(api, "/clients", "Clients")
    assert "⏳ Anna — waiting since" in listed["text"]
    briefing = await say(api, "/briefing", "Briefing")
    assert "Clients waiting for a reply" in briefing["text"] and "Anna — since" in briefing["text"]

    off = await say(api, "/autodraft off", "Drafting replies")
    assert "is off" in off["text"] and not bot.s.clients.autodraft
    before = len(api.bot_messages(OWNER))
    await writes(api, bot, "Hello again")
    clock.advance(QUIET)
    await api.wait_idle(quiet=0.2)
    assert len(api.bot_messages(OWNER)) == before


async def say(api: FakeBotAPI, text: str, contains: str) -> dict[str, Any]:
    before = len(api.bot_messages(OWNER))
    api.send_message(text, user_id=OWNER)
    return await api.wait_for_message(OWNER, contains=contains, after=before)


# --- drafting runs beside the scheduler tick ---------------------------------------------------


async def test_a_reminder_goes_out_while_the_model_is_still_drafting(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start(timeouts=PATIENT)
    await connect(api, bot)
    model_answers = asyncio.Event()
    llm_api.script(LLMReply.held(model_answers, DRAFT))
    bot.s.tasks.add("Renew the van insurance Dec 2 11:30am")  # 7-day rung: 10:30 UTC today
    await writes(api, bot, "How much is the workshop?")
    clock.advance(QUIET)
    await api.wait_for(lambda: len(llm_api.requests) == 1, what="the draft request, held")
    clock.set(datetime(2026, 11, 25, 10, 31, tzinfo=UTC))
    reminder = await api.wait_for_message(OWNER, contains="⏰ Reminder")
    assert "Renew the van insurance" in reminder["text"] and "in a week" in reminder["text"]
    assert not any("Proposal #" in m["text"] for m in api.bot_messages(OWNER))  # still held
    model_answers.set()
    card = await api.wait_for_message(OWNER, contains="Proposal #")
    assert "40 € per hour" in card["text"] and status_of(bot, card) == "pending"


async def test_a_stop_mid_draft_hands_the_burst_to_the_next_start(
    start: Start, api: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> None:
    bot = await start(timeouts=PATIENT)
    await connect(api, bot)
    llm_api.script(LLMReply.held(asyncio.Event(), "never answered"))
    await writes(api, bot, "How much is the workshop?")
    clock.advance(QUIET)
    await api.wait_for(lambda: len(llm_api.requests) == 1, what="the draft request, held")
    await stop(bot)  # the draft is cancelled, the client's burst handed back
    assert len(drafts_due(bot)) == 1 and bot.s.proposals.pending() == []

    llm_api.script(LLMReply.text(DRAFT))
    again = await start(timeouts=PATIENT)
    card = await api.wait_for_message(OWNER, contains="Proposal #")
    assert "40 € per hour" in card["text"] and status_of(again, card) == "pending"
    assert len(llm_api.requests) == 2 and drafts_due(again) == []
