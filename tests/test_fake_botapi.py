"""The fake Bot API, driven by a real python-telegram-bot Application and Bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import itertools
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import aiohttp
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.botapi import FakeBotAPI
from tests.fakes.fixtures import application_builder, running_fake_botapi

pytestmark = pytest.mark.asyncio

OWNER = 424242
CLIENT = 777001
AnyApp: TypeAlias = "Application[Any, Any, Any, Any, Any, Any]"
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Approve", callback_data="approve:1"),
            InlineKeyboardButton("Reject", callback_data="reject:1"),
        ]
    ]
)


@pytest_asyncio.fixture
async def botapi() -> AsyncIterator[FakeBotAPI]:
    async with running_fake_botapi(seed=7) as server:
        yield server


@pytest_asyncio.fixture
async def ptb_bot(botapi: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(
        botapi.token, base_url=botapi.bot_base_url, base_file_url=botapi.file_base_url
    ) as b:
        yield b


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeat the command's arguments."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(" ".join(context.args or []) or "nothing")


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show a card with Approve / Reject."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Proposal <b>#1</b>", parse_mode=ParseMode.HTML, reply_markup=KEYBOARD
    )


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap and replace the card by the decision."""
    query = update.callback_query
    assert query is not None
    await query.answer("Noted")
    await query.edit_message_text(f"Decided: {query.data}")


async def reverse_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the document and send it back reversed."""
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    file = await message.document.get_file()
    data = await file.download_as_bytearray()
    await message.reply_document(
        bytes(data[::-1]),
        filename=f"reversed-{message.document.file_name}",
        caption=f"{len(data)} bytes",
    )


@pytest_asyncio.fixture
async def app(botapi: FakeBotAPI) -> AsyncIterator[AnyApp]:
    """A real Application polling the fake, with an echo, a card and a document handler."""
    application = application_builder(botapi).build()
    application.add_handler(CommandHandler("echo", echo))
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(decide))
    application.add_handler(MessageHandler(filters.Document.ALL, reverse_document))
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


def seconds(value: float | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int, or a timedelta with PTB_TIMEDELTA set."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ---------------------------------------------------------------- a real Application


async def test_command_round_trip(botapi: FakeBotAPI, app: Application) -> None:  # type: ignore[type-arg]
    update = botapi.send_message("/echo hello world", user_id=OWNER)

    reply = await botapi.wait_for_message(OWNER, "hello world")

    assert reply["from"]["is_bot"] is True
    assert reply["chat"] == {"id": OWNER, "type": "private", "first_name": "Owner"}
    sent = botapi.calls_to("sendMessage")[-1]
    assert sent.params["chat_id"] == OWNER
    assert sent.status == 200
    assert {"getMe", "deleteWebhook", "getUpdates"} <= {call.method for call in botapi.calls}
    await botapi.wait_idle()
    assert botapi.pending_updates == []
    assert update["update_id"] in [u["update_id"] for u in botapi.confirmed_updates]


async def test_button_press_answers_and_edits(botapi: FakeBotAPI, app: Application) -> None:  # type: ignore[type-arg]
    botapi.send_message("/menu", user_id=OWNER)
    card = await botapi.wait_for_message(OWNER, "Proposal")
    assert card["text"] == "Proposal #1"
    assert card["entities"] == [{"type": "bold", "offset": 9, "length": 2}]

    botapi.press_button(card, "approve:1", user_id=OWNER)

    edited = await botapi.wait_for(
        lambda: (m := botapi.last_bot_message(OWNER))["text"].startswith("Decided") and m
    )
    assert edited["text"] == "Decided: approve:1"
    assert "reply_markup" not in edited  # editing without reply_markup drops the keyboard
    assert [a["text"] for a in botapi.answered_callbacks.values()] == ["Noted"]
    with pytest.raises(LookupError):
        botapi.press_button(card, "reject:1", user_id=OWNER)


async def test_document_upload_download_and_send(botapi: FakeBotAPI, app: Application) -> None:  # type: ignore[type-arg]
    content = bytes(range(256)) * 40
    botapi.upload_document(content, "contract.pdf", user_id=OWNER)

    reply = await botapi.wait_for_message(OWNER, "bytes")

    assert reply["caption"] == f"{len(content)} bytes"
    assert reply["document"]["file_name"] == "reversed-contract.pdf"
    assert botapi.file_bytes(reply["document"]["file_id"]) == content[::-1]
    assert [c.status for c in botapi.calls_to("getFile")] == [200]
    assert [c.status for c in botapi.calls_to("downloadFile")] == [200]


# ---------------------------------------------------------------- getUpdates


async def test_offset_confirms_and_long_poll_returns_early(
    botapi: FakeBotAPI, ptb_bot: Bot
) -> None:
    first = botapi.send_message("one", user_id=OWNER)
    second = botapi.send_message("two", user_id=OWNER)

    fetched = await ptb_bot.get_updates(timeout=0)
    assert [u.update_id for u in fetched] == [first["update_id"], second["update_id"]]
    assert len(botapi.pending_updates) == 2  # fetched is not confirmed

    await ptb_bot.get_updates(offset=second["update_id"], timeout=0)
    assert [u["update_id"] for u in botapi.confirmed_updates] == [first["update_id"]]

    poll = asyncio.create_task(ptb_bot.get_updates(offset=second["update_id"] + 1, timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    third = botapi.send_message("three", user_id=OWNER)
    fetched = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert [u.update_id for u in fetched] == [third["update_id"]]
    assert fetched[0].message is not None
    assert fetched[0].message.text == "three"
    assert [u["update_id"] for u in botapi.pending_updates] == [third["update_id"]]


async def test_update_ids_jump_and_can_be_explicit(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    ids = [botapi.send_message(str(n), user_id=OWNER)["update_id"] for n in range(20)]
    assert ids == sorted(ids)
    assert any(b - a > 1 for a, b in itertools.pairwise(ids))
    explicit = botapi.enqueue({"update_id": ids[-1] + 1000, "message": api_message(botapi)})
    fetched = await ptb_bot.get_updates(timeout=0, limit=100)
    assert fetched[-1].update_id == explicit["update_id"]
    assert len(await ptb_bot.get_updates(timeout=0, limit=3)) == 3


def api_message(botapi: FakeBotAPI) -> dict[str, object]:
    """A raw message dict, as a test would build one for enqueue."""
    return {
        "message_id": 9000,
        "date": 1_700_000_000,
        "chat": {"id": OWNER, "type": "private", "first_name": "Owner"},
        "from": botapi.make_user(OWNER),
        "text": "raw",
    }


async def test_get_updates_conflicts_with_a_webhook(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    await ptb_bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")
    assert botapi.webhook is not None
    assert botapi.webhook["secret_token"] == "s3cret"
    with pytest.raises(Conflict):
        await ptb_bot.get_updates(timeout=0)
    await ptb_bot.delete_webhook()
    assert await ptb_bot.get_updates(timeout=0) == ()


# ---------------------------------------------------------------- faults


async def test_429_surfaces_as_retry_after_and_delivers_nothing(
    botapi: FakeBotAPI, ptb_bot: Bot
) -> None:
    botapi.fail_next("sendMessage", status=429, retry_after=3)

    with warnings.catch_warnings():  # PTB warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        with pytest.raises(RetryAfter) as caught:
            await ptb_bot.send_message(OWNER, "hello")
        retry_after = caught.value.retry_after

    assert seconds(retry_after) == 3
    assert botapi.bot_messages(OWNER) == []
    await ptb_bot.send_message(OWNER, "hello")
    assert [c.status for c in botapi.calls_to("sendMessage")] == [429, 200]
    assert [m["text"] for m in botapi.bot_messages(OWNER)] == ["hello"]


async def test_502_surfaces_as_network_error_not_bad_request(
    botapi: FakeBotAPI, ptb_bot: Bot
) -> None:
    botapi.fail_next("sendMessage", status=502)

    with pytest.raises(NetworkError) as caught:
        await ptb_bot.send_message(OWNER, "hello")

    assert not isinstance(caught.value, BadRequest)
    assert botapi.bot_messages(OWNER) == []


async def test_slow_answer_delivers_then_times_out(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    botapi.delay("sendMessage", 0.5, times=1)

    with pytest.raises(TimedOut):
        await ptb_bot.send_message(OWNER, "late", read_timeout=0.1)

    assert [m["text"] for m in botapi.bot_messages(OWNER)] == ["late"]
    assert botapi.calls_to("sendMessage")[0].fault == "slow"


async def test_chaos_hits_sends_but_spares_get_updates(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    botapi.chaos(rate=1.0, kinds=("502",), seed=1)
    with pytest.raises(NetworkError):
        await ptb_bot.send_message(OWNER, "hello")
    assert await ptb_bot.get_updates(timeout=0) == ()

    botapi.chaos(rate=0)
    await ptb_bot.send_message(OWNER, "hello")
    assert len(botapi.bot_messages(OWNER)) == 1


# ---------------------------------------------------------------- validation


async def test_html_is_parsed_and_malformed_html_rejected(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    sent = await ptb_bot.send_message(
        OWNER, '<b>Due</b> &lt; 3 days: <a href="https://x.test">VAT</a>', parse_mode="HTML"
    )
    assert sent.text == "Due < 3 days: VAT"
    assert [e.type for e in sent.entities] == ["bold", "text_link"]

    for malformed in ("1 < 2", "<div>x</div>", "<b>open", "<b><i>x</b></i>", "</b>"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await ptb_bot.send_message(OWNER, malformed, parse_mode="HTML")
    assert len(botapi.bot_messages(OWNER)) == 1


async def test_text_length_limits(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    await ptb_bot.send_message(OWNER, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await ptb_bot.send_message(OWNER, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await ptb_bot.send_message(OWNER, "   ")


async def test_callback_data_over_64_bytes_is_rejected(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])
    await ptb_bot.send_message(OWNER, "fits", reply_markup=fits)

    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await ptb_bot.send_message(OWNER, "too long", reply_markup=too_long)


async def test_edit_errors_like_the_real_api(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    sent = await ptb_bot.send_message(OWNER, "card", reply_markup=KEYBOARD)

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await ptb_bot.edit_message_text("card", OWNER, sent.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await ptb_bot.edit_message_text("x", OWNER, sent.message_id + 100)

    await ptb_bot.edit_message_reply_markup(OWNER, sent.message_id, reply_markup=None)
    assert "reply_markup" not in botapi.last_bot_message(OWNER)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await ptb_bot.edit_message_reply_markup(OWNER, sent.message_id, reply_markup=None)


async def test_press_button_by_text_uses_the_current_keyboard(
    botapi: FakeBotAPI, ptb_bot: Bot
) -> None:
    sent = await ptb_bot.send_message(OWNER, "card", reply_markup=KEYBOARD)

    update = botapi.press_button(sent.message_id, text="Reject", user_id=OWNER)

    assert update["callback_query"]["data"] == "reject:1"
    assert await ptb_bot.answer_callback_query(update["callback_query"]["id"]) is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await ptb_bot.answer_callback_query(update["callback_query"]["id"])


async def test_wrong_token_is_unauthorized(botapi: FakeBotAPI) -> None:
    stranger = Bot("123:wrong", base_url=botapi.bot_base_url, base_file_url=botapi.file_base_url)

    with pytest.raises(InvalidToken):
        await stranger.initialize()

    assert botapi.calls[-1].status == 401
    assert botapi.calls[-1].result == "Unauthorized"


# ---------------------------------------------------------------- the rest of the surface


async def test_commands_chat_action_and_delete(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    await ptb_bot.set_my_commands([("tasks", "List tasks"), ("add", "Add a task")])
    assert [c.command for c in await ptb_bot.get_my_commands()] == ["tasks", "add"]
    assert botapi.my_commands()[0] == {"command": "tasks", "description": "List tasks"}

    assert await ptb_bot.send_chat_action(OWNER, "typing") is True
    sent = await ptb_bot.send_message(OWNER, "bye")
    assert await ptb_bot.delete_message(OWNER, sent.message_id) is True
    assert botapi.bot_messages(OWNER) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await ptb_bot.delete_message(OWNER, sent.message_id)


async def test_business_connection_send(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    botapi.connect_business("bc-1", user_id=OWNER)
    botapi.send_business_message("Do you open on Sunday?", connection_id="bc-1", user_id=CLIENT)
    updates = await ptb_bot.get_updates(timeout=0)
    assert updates[0].business_connection is not None
    incoming = updates[1].business_message
    assert incoming is not None
    assert incoming.business_connection_id == "bc-1"

    sent = await ptb_bot.send_message(CLIENT, "Yes, 10-14.", business_connection_id="bc-1")

    assert sent.chat.id == CLIENT
    assert sent.from_user is not None
    assert sent.from_user.id == OWNER
    assert sent.business_connection_id == "bc-1"
    with pytest.raises(BadRequest, match=r"(?i)business_connection_invalid"):
        await ptb_bot.send_message(CLIENT, "x", business_connection_id="unknown")


async def test_json_bodies_and_unknown_methods(botapi: FakeBotAPI) -> None:
    url = f"{botapi.bot_base_url}{botapi.token}"
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    async with aiohttp.ClientSession() as session:
        body = {"chat_id": OWNER, "text": "json", "reply_markup": markup}
        async with session.post(f"{url}/sendMessage", json=body) as response:
            answer = await response.json()
        async with session.post(f"{url}/setChatMenuButton", data={"chat_id": "5"}) as response:
            fallback = await response.json()

    assert answer["ok"] is True
    assert answer["result"]["reply_markup"] == markup
    assert fallback == {"ok": True, "result": True}
    assert [c.method for c in botapi.unhandled_calls] == ["setChatMenuButton"]
    assert botapi.unhandled_calls[0].params == {"chat_id": 5}


async def test_wait_for_explains_what_it_saw(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    await ptb_bot.send_message(OWNER, "something else")

    with pytest.raises(AssertionError, match=r"(?s)containing 'never'.*sendMessage -> 200"):
        await botapi.wait_for_message(OWNER, "never", timeout=0.05)


async def test_stop_ends_a_waiting_long_poll(botapi: FakeBotAPI, ptb_bot: Bot) -> None:
    poll = asyncio.create_task(ptb_bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    with contextlib.suppress(NetworkError):
        await botapi.stop()
        await asyncio.wait_for(poll, 2)
    assert poll.done()
