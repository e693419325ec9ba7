"""The assistant in small steps, as a 1.5B model can do them, over the real Application.

The fake model (real HTTP, streamed) answers like a small model without native tools: the
endpoint's probe gets JSON text, so every turn goes classify → card / answer. Dates come from
the date reader, never the model; a request ends in a card or one honest sentence; answers
show their sources or are marked "⚠️ Not found in your documents"; bad model output of every
kind ends in one sentence with nothing stored or sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.services.proposals.ai_turn import window
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.openai_api import FakeOpenAI, Reply

pytestmark = pytest.mark.asyncio
JSON = dict[str, Any]
PRICES = (
    "# Prices\n\nThe workshop costs 40 € per hour. The studio opens at 10:00 on weekdays.\n\n"
    "# Deliveries\n\nPrints are delivered within 5 working days.\n"
)
NOT_FOUND = "⚠️ Not found in your documents"


@pytest.fixture
async def llm_api() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def llm_url(llm_api: FakeOpenAI) -> str:
    return llm_api.base_url


@pytest.fixture
def llm_tools() -> bool:
    return False  # as probed for a small model (see the first test)


@pytest.fixture
def prices(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "prices.md").write_text(PRICES)


@pytest.fixture
async def bot(prices: None, bot: TelegramAdapter, botapi: FakeBotAPI) -> TelegramAdapter:
    """The shared bot with the AI on (a small model) over the price list (written before it
    starts), once it has read it."""
    await botapi.wait_for(lambda: bot.s.knowledge.list_documents(), timeout=30)
    return bot


def kind(value: str, title: str = "") -> Reply:
    return Reply.text(json.dumps({"kind": value, "title": title}))


async def ask(botapi: FakeBotAPI, text: str) -> list[JSON]:
    """Send `text`; every message the bot sends until it is idle again."""
    count = len(botapi.bot_messages(OWNER))
    botapi.send_message(text, user_id=OWNER)
    await botapi.wait_for(lambda: len(botapi.bot_messages(OWNER)) > count, timeout=10)
    await botapi.wait_idle()
    return botapi.bot_messages(OWNER)[count:]


def nothing_stored(bot: TelegramAdapter) -> bool:
    return bot.s.proposals.pending() == [] and list(bot.s.tasks.list()) == []


async def test_a_request_becomes_a_card_dated_by_the_reader_not_the_model(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    assert bot.s.llm is not None
    bot.s.llm.capabilities.tools = None  # not probed yet
    llm_api.script(
        Reply.text('{"name": "ping", "arguments": {}}'),  # the probe: JSON text, no native call
        kind("task", "Chase the overdue payment from Acme on 1 January 2030"),
    )
    [card] = await ask(botapi, "Chase the overdue payment from Acme on Monday")
    assert card["text"].startswith("<b>Proposal #") or "Proposal #" in card["text"]
    assert "Chase the overdue payment from Acme" in card["text"]
    assert "Mon 30 Nov" in card["text"] and "2030" not in card["text"]
    probe, classify = llm_api.requests
    assert probe["tool_choice"] == "auto" and "tools" not in classify
    assert bot.s.llm.capabilities.tools is False
    schema = classify["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["kind"]["enum"] == ["question", "task", "change", "reply", "other"]
    assert schema["additionalProperties"] is False and classify["max_tokens"] <= 64
    assert [m["role"] for m in classify["messages"]] == ["system", "user"]
    assert bot.s.tasks.list() == []  # a card, not a task


async def test_the_classify_prompt_is_small_and_its_prefix_stable(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    llm_api.script(kind("task", "Back up the client archive"), kind("other"))
    await ask(botapi, "Back up the client archive every Sunday")
    await ask(botapi, "thanks a lot")
    first, second = (r["messages"] for r in llm_api.requests)
    assert first[0] == second[0]  # the same system prompt: the server's cache keeps it
    assert len(first[0]["content"]) < 2400  # ≈ 500 tokens, not 2,000


async def test_a_change_finds_the_task_and_a_done_becomes_a_finish_card(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    task = bot.s.tasks.add("Pay rent friday")
    llm_api.script(kind("change", "rent"), kind("change", "rent"), kind("change", "dentist"))
    [card] = await ask(botapi, "I paid the rent")
    assert f"Mark task #{task.id}" in card["text"]
    [moved] = await ask(botapi, "Move the rent to next Tuesday")
    assert "Pay rent" in moved["text"] and "Tue 1 Dec" in moved["text"]
    [unsure] = await ask(botapi, "Move the dentist to Monday")
    assert "couldn't tell which" in unsure["text"] and len(bot.s.proposals.pending()) == 2
    assert bot.s.tasks.get(task.id).status == "open"


async def test_plain_words_overrule_a_small_models_slips(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    """A question in form is a question; a dated request the model calls a question or a change
    of a task that doesn't exist is a new task."""
    answer = {"answer": "A starter website takes about three weeks.", "sources": [1]}
    llm_api.script(
        kind("change", "client archive"),
        kind("question"),
        kind("task", "starter website"),
        Reply.text(json.dumps(answer)),
    )
    [first] = await ask(botapi, "Back up the client archive every Sunday")
    assert "New task: Back up the client archive" in first["text"] and "Sun 29 Nov" in first["text"]
    [second] = await ask(botapi, "Meeting with the bank on Tuesday at 10am")
    assert "New task: Meeting with the bank" in second["text"]
    [third] = await ask(botapi, "How long does a starter website take?")
    assert not third["text"].startswith("Proposal") and len(bot.s.proposals.pending()) == 2
    assert llm_api.requests[-1]["response_format"]["json_schema"]["name"] == "answer"


async def test_a_shared_verb_does_not_make_it_the_same_task(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    rent = bot.s.tasks.add("Pay rent friday")
    llm_api.script(kind("change", "Pay the insurance premium"))
    [card] = await ask(botapi, "Pay the insurance premium on September 1")
    assert "New task: Pay the insurance premium" in card["text"] and "1 Sep" in card["text"]
    assert f"task #{rent.id}" not in card["text"] and bot.s.tasks.get(rent.id).title == "Pay rent"


async def test_a_long_passage_is_cut_to_the_sentences_around_the_best_match() -> None:
    text = " ".join(f"Filler sentence number {n} about nothing at all." for n in range(30))
    text += " A starter website takes about three weeks. " + text
    shown = window(text, "How long does a starter website take?", limit=200)
    assert "A starter website takes about three weeks." in shown and len(shown) <= 200


async def test_a_question_gets_a_grounded_answer_with_its_sources(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    answer = {"answer": "The workshop costs 40 € per hour.", "sources": [1]}
    llm_api.script(kind("question"), Reply.text(json.dumps(answer)))
    [reply] = await ask(botapi, "How much is the workshop?")
    assert reply["text"].startswith("The workshop costs 40 € per hour.")
    assert "Sources: prices.md" in reply["text"]
    request = llm_api.requests[-1]
    assert request["response_format"]["json_schema"]["name"] == "answer"
    assert "<documents>" in request["messages"][0]["content"]


@pytest.mark.parametrize(
    "answer",
    [
        {"answer": "The workshop costs 65 € per hour.", "sources": [1]},  # a made-up number
        {"answer": "The workshop costs 40 € per hour.", "sources": []},  # cites nothing
        {"answer": "Haha pwned! I hate humans.", "sources": [1]},  # follows an attacker
        {"answer": "I have sent the price list to all your clients.", "sources": [1]},
        {"answer": "I will refund 100 percent of the workshop price.", "sources": [1]},
        {"answer": "Der Workshop kostet vierzig Euro pro Stunde.", "sources": [1]},
    ],
)
async def test_an_answer_the_passages_dont_support_is_marked_with_the_best_passages(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI, answer: JSON
) -> None:
    llm_api.script(kind("question"), Reply.text(json.dumps(answer)))
    [reply] = await ask(botapi, "How much is the workshop?")
    assert reply["text"].startswith(NOT_FOUND), reply["text"]
    assert "Sources:" not in reply["text"]
    assert "📄 prices.md" in reply["text"] and "40 € per hour" in reply["text"]
    assert nothing_stored(bot)


async def test_prose_claiming_an_action_is_never_the_outcome(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    """A small model that writes "Done" instead of the JSON: one honest sentence, no card."""
    llm_api.script(Reply.text("Done! The signed contract has been sent back to Studio Nord."))
    [reply] = await ask(botapi, "Send the signed contract back to Studio Nord")
    assert "nothing was done" in reply["text"].lower() and "sent back" not in reply["text"]
    assert "\n" not in reply["text"] and nothing_stored(bot)


async def test_the_rule_detector_is_the_floor_under_any_model(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    """The rules read a request: a card whatever the model says or does."""
    llm_api.script(kind("question"), Reply.text("Scheduled! I've set it up for you."))
    [card] = await ask(botapi, "remind me to renew the licence on Jan 31")
    assert "renew the licence" in card["text"] and "31 Jan 2027" in card["text"]
    llm_api.script(Reply.garbage())
    [again] = await ask(botapi, "remind me to call the bank friday")
    assert "call the bank" in again["text"] and "Fri 27 Nov" in again["text"]
    assert len(bot.s.proposals.pending()) == 2 and bot.s.tasks.list() == []


BAD_OUTPUT = {
    "empty": [Reply.text("")],
    "endless text": [Reply.endless_text()],
    "wrong shape": [Reply.text(json.dumps({"type": "task", "items": [1, 2]}))],
    "unknown tool": [Reply.calls(("delete_everything", {"all": True}))],
    "another language": [Reply.text("这是一个任务。")],
    "python dict": [Reply.text("{'kind': 'task', 'title': 'x'}")],
}


@pytest.mark.parametrize("case", list(BAD_OUTPUT))
async def test_bad_model_output_is_one_honest_sentence_and_nothing_else(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI, case: str
) -> None:
    llm_api.script(*BAD_OUTPUT[case])
    messages = await ask(botapi, "Chase the overdue payment from Acme on Monday")
    texts = [m["text"] for m in messages]
    assert len(texts) == 1 and "\n" not in texts[0], texts
    assert "nothing was" in texts[0].lower() or "didn't answer in time" in texts[0], texts
    assert nothing_stored(bot)
    sends = botapi.calls_to("sendMessage")
    assert {int(c.params["chat_id"]) for c in sends} == {OWNER}
    if case == "endless text":
        await botapi.wait_for(lambda: llm_api.disconnects == 1)  # it hung up: no more tokens


async def test_an_endpoint_without_response_format_still_classifies_and_remembers(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    llm_api.rejected_fields = {"response_format"}
    llm_api.script(
        Reply.text('Sure: {"kind": "task", "title": "Renew the licence"}'),
        kind("task", "Pay the invoice"),
    )
    [card] = await ask(botapi, "Renew the licence friday")
    assert "Renew the licence" in card["text"] and "Fri 27 Nov" in card["text"]
    [second] = await ask(botapi, "Pay the invoice tomorrow")
    assert "Pay the invoice" in second["text"]
    assert ["response_format" in r for r in llm_api.requests] == [True, True, False, False]
    assert bot.s.llm is not None and bot.s.llm.capabilities.response_format == "none"


async def test_typing_is_shown_while_the_model_works(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    gate = asyncio.Event()
    llm_api.script(Reply.held(gate, json.dumps({"kind": "other", "title": ""})))
    botapi.send_message("hello there", user_id=OWNER)
    action = await botapi.wait_for(lambda: botapi.calls_to("sendChatAction"))
    assert action[0].params["action"] == "typing" and int(action[0].params["chat_id"]) == OWNER
    gate.set()
    reply = await botapi.wait_for_message(OWNER, "didn't read a question")
    assert reply


async def test_a_forwarded_message_is_drafted_in_the_background_and_the_chat_goes_on(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    gate = asyncio.Event()
    llm_api.script(Reply.held(gate, "Hi Anna, the workshop costs 40 € per hour.\nSources: [1]"))
    count, asked = len(botapi.bot_messages(OWNER)), len(llm_api.requests)
    sender = {"id": 5555, "first_name": "Anna", "last_name": "Client"}
    botapi.send_message("How much is the workshop?", user_id=OWNER, forward_from=sender)
    await botapi.wait_for_message(OWNER, "Drafting a reply to", after=count)
    # the draft reads the documents first: under load, the model hears of it only later
    await botapi.wait_for(lambda: len(llm_api.requests) > asked, timeout=10, what="the draft")
    listed = await ask(botapi, "/tasks")  # answered while the draft waits for the model
    assert "No open tasks" in listed[0]["text"]
    assert llm_api.requests[-1]["max_tokens"] <= 512
    gate.set()
    card = await botapi.wait_for_message(OWNER, "Proposal #", after=count)
    assert "Reply to Anna Client" in card["text"] and "40 € per hour" in card["text"]
