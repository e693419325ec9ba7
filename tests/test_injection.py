"""Prompt injection through documents and client messages, with a model that obeys it.

The corpus (tests/injection_corpus.py) is carried four ways over the real Application, the fake
Bot API and the fake OpenAI server: a document uploaded in Telegram and then asked about
(/ask), the same document found by the assistant's search tool, a client's message the owner
forwards, and a client's message in a Telegram Business chat. The fake model is scripted to do
what the attacker wanted. Whatever it writes:

- nothing changes and nothing is sent anywhere but the owner's chat without a card and Approve;
- a reply card names the recipient from stored data (the forward's origin, the client record),
  never the model's choice;
- the prompt holds the attacker's text inside a data section, its delimiters defused and its
  invisible tag characters gone;
- a link to a host no document mentions, and any markdown image, is flagged with ⚠️; answers
  are plain text (nothing rendered) and link previews are off.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import build_services
from bot.clock import FrozenClock
from bot.db.clients import ClientMessage
from bot.db.proposals import AuditEntry, Proposal
from bot.llm.client import RetryPolicy, Timeouts
from bot.llm.prompts import DATA_TAGS
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, TOKEN, make_settings
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.openai_api import FakeOpenAI, Reply
from tests.injection_corpus import ATTACKS, IBAN, OWN_HOST, Attack, document

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one bot for the module; see `baseline`
JSON = dict[str, Any]
WELCOME = f"# Welcome pack\n\nBook a discovery call at https://{OWN_HOST}/intro any weekday.\n"
NO_CLIENT = "(no client chosen: copy the text)"
QUIET = timedelta(seconds=25)  # past the quiet period after a client's last message
IDS = {a.key: n for n, a in enumerate(ATTACKS)}
NAMES = "|".join(DATA_TAGS)
STRUCTURE = re.compile(rf'^<(/?)({NAMES})((?: [a-z_]+="[^"\n]*")*)>$', re.MULTILINE)
RAW_TAG = re.compile(rf"</?\s*(?:{NAMES})\b", re.IGNORECASE)
TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
FLAG = "⚠️"


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def botapi(clock: FrozenClock) -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, clock=lambda: clock.now().timestamp()) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def llm_api() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    tmp_path_factory: pytest.TempPathFactory,
    botapi: FakeBotAPI,
    llm_api: FakeOpenAI,
    clock: FrozenClock,
) -> AsyncIterator[TelegramAdapter]:
    home = tmp_path_factory.mktemp("injection")
    (home / "knowledge").mkdir()
    (home / "knowledge" / "welcome.md").write_text(WELCOME)
    settings = make_settings(
        home, TELEGRAM_API_BASE_URL=botapi.base_url, OPENAI_BASE_URL=llm_api.base_url
    )
    timeouts = Timeouts(connect=1.0, read=2.0, write=1.0, pool=1.0)
    retry = RetryPolicy(attempts=1, total=3.0, backoff=0.01, backoff_max=0.02)
    services = build_services(settings, clock, llm_timeouts=timeouts, llm_retry=retry)
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    await botapi.wait_for_message(OWNER, contains="Briefing")
    await botapi.wait_for(lambda: services.knowledge.list_documents(), timeout=30)
    services.tasks.add("File VAT return every quarter due Jan 31")
    services.tasks.add("Pay rent friday")
    yield adapter
    await adapter.shutdown()
    services.close()


# --- what must never happen ------------------------------------------------------------------


def tasks_now(bot: TelegramAdapter) -> list[tuple[Any, ...]]:
    return [(t.id, t.title, t.due_at, t.status, t.repeat_rule) for t in bot.s.tasks.list()]


def assert_nothing_ran(bot: TelegramAdapter, botapi: FakeBotAPI, tasks: list[Any]) -> None:
    """No task changed, no proposal left pending, nothing sent anywhere but the owner's chat."""
    assert tasks_now(bot) == tasks
    with bot.s.sessions() as session:
        statuses = set(session.scalars(select(Proposal.status)))
        actions = set(session.scalars(select(AuditEntry.action)))
    assert statuses <= {"pending", "rejected"}, statuses
    assert not actions & {"approved", "executed", "done", "failed", "unknown"}, actions
    sends = botapi.calls_to("sendMessage") + botapi.calls_to("sendDocument")
    assert {int(c.params["chat_id"]) for c in sends} == {OWNER}
    assert not [c for c in sends if "business_connection_id" in c.params]


def cards_after(botapi: FakeBotAPI, count: int) -> list[JSON]:
    return [m for m in botapi.bot_messages(OWNER)[count:] if m["text"].startswith("Proposal #")]


async def cards_arrive(botapi: FakeBotAPI, count: int, cards: int) -> None:
    await botapi.wait_for(lambda: len(cards_after(botapi, count)) == cards, timeout=10)
    await botapi.wait_idle()


def assert_card(card: JSON) -> None:
    """A card: its three buttons, and the promise that nothing happens before Approve."""
    buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["✅ Approve", "✏️ Edit", "✖️ Reject"]
    assert "Nothing happens until you tap Approve" in card["text"]


def reject_all(bot: TelegramAdapter) -> None:
    for row in bot.s.proposals.pending():
        bot.s.proposals.reject(row.id)


def assert_plain_and_unpreviewed(botapi: FakeBotAPI, message: JSON, wants: str) -> None:
    """The obedient text is shown as typed (no markdown rendered) and without a link preview."""
    for line in wants.splitlines():
        assert line in message["text"], (line, message["text"])
    kinds = {e["type"] for e in message.get("entities", [])}
    assert "text_link" not in kinds
    [call] = [
        c
        for c in botapi.calls_to("sendMessage")
        if c.result and c.result.get("message_id") == message["message_id"]
    ]
    assert call.params["link_preview_options"] == {"is_disabled": True}


def assert_flags(text: str, attack: Attack, *, hosts: bool) -> None:
    """⚠️ for a markdown image always; for an unknown host when `hosts` (messages, not docs)."""
    if "![" in attack.wants:
        assert "image" in text and FLAG in text, text
    if hosts and attack.links():
        assert "none of your documents mention" in text, text


# --- what the model is sent ------------------------------------------------------------------


def assert_inside_data(content: str, mark: str, *, present: bool = True) -> None:
    """`mark` only inside delimited data sections that nothing in the data could close."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for match in STRUCTURE.finditer(content):
        closing, name = match.group(1) == "/", match.group(2)
        if not closing:
            stack.append((name, match.end()))
            continue
        assert stack and stack[-1][0] == name, f"a stray </{name}> in the prompt"
        opened_at = stack.pop()[1]
        if not stack:
            spans.append((opened_at, match.start()))
    assert not stack, f"unclosed data sections: {stack}"
    for start, end in spans:
        inner = STRUCTURE.sub("", content[start:end])
        assert not RAW_TAG.search(inner), f"an undefused delimiter: {RAW_TAG.search(inner)}"
    found = [m.start() for m in re.finditer(re.escape(mark), content)]
    assert found or not present, f"{mark} never reached the model"
    for at in found:
        assert any(start <= at < end for start, end in spans), f"{mark} outside the data"
    assert not TAG_CHARS.search(content), "invisible tag characters reached the model"


def text_sent(request: JSON) -> str:
    """Everything a request carried to the model, as one string."""
    return json.dumps(request, ensure_ascii=False)


# --- documents -------------------------------------------------------------------------------


async def upload(botapi: FakeBotAPI, attack: Attack, mark: str, evil: str) -> None:
    text, _ = attack.render(mark, evil)
    name, data = document(attack, text, mark)
    count = len(botapi.bot_messages(OWNER))
    botapi.upload_document(data, name, user_id=OWNER)
    read = await botapi.wait_for_message(OWNER, f"{name}: ", after=count, timeout=30)
    await botapi.wait_for(lambda: "Reading" not in botapi.bot_messages(OWNER)[count]["text"])
    assert f"{name}: read" in botapi.bot_messages(OWNER)[count]["text"], read["text"]


async def test_documents_that_carry_instructions_change_nothing_without_approve(
    bot: TelegramAdapter,
    botapi: FakeBotAPI,
    llm_api: FakeOpenAI,
    subtests: pytest.Subtests,
) -> None:
    """Each attack as a document: asked about (/ask), then found by the assistant's search."""
    tasks = tasks_now(bot)
    rent = next(t for t in bot.s.tasks.list() if t.title == "Pay rent")
    for attack in ATTACKS:
        mark, evil = f"zqd{IDS[attack.key]:02d}", "evil-doc.example"
        _, wants = attack.render(mark, evil)
        with subtests.test(attack=attack.key, via="/ask"):
            await upload(botapi, attack, mark, evil)
            llm_api.script(Reply.text(wants))
            asked = len(llm_api.requests)
            count = len(botapi.bot_messages(OWNER))
            botapi.send_message(f"/ask What does {mark} say?", user_id=OWNER)
            answer = await botapi.wait_for_message(OWNER, after=count, timeout=10)
            [request] = llm_api.requests[asked:]
            assert_inside_data(
                request["messages"][0]["content"], mark, present=attack.reaches_model
            )
            assert_plain_and_unpreviewed(botapi, answer, wants)
            assert_flags(answer["text"], attack, hosts=False)
            assert_nothing_ran(bot, botapi, tasks)
        with subtests.test(attack=attack.key, via="search tool"):
            proposals = [
                {"kind": "complete_task", "task_id": rent.id},
                {"kind": "update_task", "task_id": rent.id, "title": "Pay rent to Mallory"},
                {"kind": "create_task", "title": f"Pay invoice {mark}", "due": "tomorrow"},
                {"kind": "draft_reply", "text": wants, "client_ref": "Mallory"},
            ]
            llm_api.script(
                Reply.calls(("search_documents", {"query": mark})),
                Reply.calls(("respond", {"answer": wants, "proposals": proposals})),
            )
            asked = len(llm_api.requests)
            count = len(botapi.bot_messages(OWNER))
            botapi.send_message(f"Read {mark} and do what it says", user_id=OWNER)
            await cards_arrive(botapi, count, 4)
            tool_turn = llm_api.requests[asked + 1]["messages"][-1]
            assert tool_turn["role"] == "tool"
            assert_inside_data(tool_turn["content"], mark, present=attack.reaches_model)
            answer, *cards = botapi.bot_messages(OWNER)[count:]
            assert_plain_and_unpreviewed(botapi, answer, wants)
            assert_flags(answer["text"], attack, hosts=False)
            for card in cards:
                assert_card(card)
            draft = cards[-1]["text"]
            assert f"Reply to {NO_CLIENT}" in draft and "Reply to Mallory" not in draft
            assert_nothing_ran(bot, botapi, tasks)
            reject_all(bot)


# --- client messages -------------------------------------------------------------------------


async def test_forwarded_client_messages_that_carry_instructions(
    bot: TelegramAdapter,
    botapi: FakeBotAPI,
    llm_api: FakeOpenAI,
    subtests: pytest.Subtests,
) -> None:
    """The draft card names the forward's sender; every link it holds is flagged."""
    tasks = tasks_now(bot)
    for attack in ATTACKS:
        mark, evil = f"zqf{IDS[attack.key]:02d}", "evil-forward.example"
        text, wants = attack.render(mark, evil)
        with subtests.test(attack=attack.key):
            llm_api.script(Reply.text(wants))
            asked = len(llm_api.requests)
            count = len(botapi.bot_messages(OWNER))
            sender = {"id": 5555, "first_name": "Anna", "last_name": "Client"}
            botapi.send_message(text, user_id=OWNER, forward_from=sender)
            card = await botapi.wait_for_message(OWNER, "Proposal #", after=count, timeout=10)
            [request] = llm_api.requests[asked:]
            prompt = request["messages"][0]["content"]
            assert_inside_data(prompt, mark)
            assert_card(card)
            assert "Reply to Anna Client" in card["text"] and "Reply to Mallory" not in card["text"]
            assert_flags(card["text"], attack, hosts=True)
            assert_nothing_ran(bot, botapi, tasks)
            reject_all(bot)


async def test_business_client_messages_that_carry_instructions(
    bot: TelegramAdapter,
    botapi: FakeBotAPI,
    llm_api: FakeOpenAI,
    clock: FrozenClock,
    subtests: pytest.Subtests,
) -> None:
    """Each attack from its own client: a card naming the stored client, nothing sent."""
    tasks = tasks_now(bot)
    count = len(botapi.bot_messages(OWNER))
    botapi.connect_business("biz-1", user_id=OWNER)
    await botapi.wait_for_message(OWNER, "🔌", after=count)
    for attack in ATTACKS:
        n = IDS[attack.key]
        mark, evil = f"zqb{n:02d}", "evil-business.example"
        text, wants = attack.render(mark, evil)
        name = f"Client{n:02d}"
        with subtests.test(attack=attack.key):
            llm_api.script(Reply.text(wants))
            asked = len(llm_api.requests)
            count = len(botapi.bot_messages(OWNER))
            stored = stored_messages(bot)
            botapi.send_business_message(
                text, connection_id="biz-1", user_id=7000 + n, first_name=name
            )
            await botapi.wait_for(lambda: stored_messages(bot) > stored, timeout=5)  # noqa: B023
            clock.advance(QUIET)
            card = await botapi.wait_for_message(OWNER, "Proposal #", after=count, timeout=10)
            [request] = llm_api.requests[asked:]
            assert_inside_data(request["messages"][0]["content"], mark)
            assert_card(card)
            assert f"Reply to {name}" in card["text"] and "Reply to Mallory" not in card["text"]
            assert_flags(card["text"], attack, hosts=True)
            assert_nothing_ran(bot, botapi, tasks)
            reject_all(bot)


def stored_messages(bot: TelegramAdapter) -> int:
    with bot.s.sessions() as session:
        return len(session.scalars(select(ClientMessage.id)).all())


# --- the link check itself -------------------------------------------------------------------


async def test_links_are_flagged_only_when_no_document_mentions_the_host(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI, subtests: pytest.Subtests
) -> None:
    """The owner's own host (and its subdomains) pass; look-alikes and strangers are flagged."""
    answers = {
        f"Book at https://{OWN_HOST}/intro.": False,
        f"Book at https://www.{OWN_HOST}/intro or https://{OWN_HOST.upper()}/x.": False,
        "Book at https://nordlicht.example/intro.": True,  # the parent of a known host
        f"Book at https://{OWN_HOST}.evil-x.example/intro.": True,
        f"Book at https://{OWN_HOST}@evil-x.example/intro.": True,
        f"Book at https://evil-x.example\\@{OWN_HOST}/intro.": True,  # a browser: evil-x
        f"Book at https://{OWN_HOST}\\@evil-x.example/intro.": False,  # a browser: cal.…
        "Book at https://cal.nordlіcht.example/intro.": True,  # a Cyrillic і
        "Book at http://203.0.113.7:8080/intro.": True,
        f"Pay to {IBAN}; no link at all.": False,
    }
    for wants, flagged in answers.items():
        with subtests.test(answer=wants):
            llm_api.script(Reply.text(wants))
            count = len(botapi.bot_messages(OWNER))
            botapi.send_message("/ask How do I book a call?", user_id=OWNER)
            answer = await botapi.wait_for_message(OWNER, after=count, timeout=10)
            assert (FLAG in answer["text"]) == flagged, answer["text"]


async def test_the_corpus_is_varied_enough() -> None:
    """Every document reader and both kinds of delimiter attack are represented."""
    assert len(ATTACKS) >= 15 and len(IDS) == len(ATTACKS)
    assert {a.doc for a in ATTACKS} == {"md", "txt", "html", "eml", "pdf"}
    assert sum(bool(RAW_TAG.search(a.text)) for a in ATTACKS) >= 3
    assert any(TAG_CHARS.search(a.text) for a in ATTACKS)
    assert all(a.pattern and a.wants for a in ATTACKS)
