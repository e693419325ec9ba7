"""The owner's AI and contractors: a message to a contractor is a card first; a contractor's
note is data, never an instruction (the injection corpus, with a model that obeys it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_services
from bot.clock import FrozenClock
from bot.db.proposals import AuditEntry, Proposal
from bot.llm.client import RetryPolicy, Timeouts
from bot.tg.app import TelegramAdapter
from tests.conftest import make_settings
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.openai_api import FakeOpenAI, Reply
from tests.injection_corpus import ATTACKS
from tests.team_helpers import MARIA, OWNER, TOM, buttons, join, say
from tests.test_injection import assert_inside_data

pytestmark = pytest.mark.asyncio
FAST = Timeouts(connect=1.0, read=2.0, write=1.0, pool=1.0)


@pytest.fixture
async def llm_api() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def bot(
    tmp_path: Path, botapi: FakeBotAPI, llm_api: FakeOpenAI, clock: FrozenClock
) -> AsyncIterator[TelegramAdapter]:
    settings = make_settings(
        tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url, OPENAI_BASE_URL=llm_api.base_url
    )
    retry = RetryPolicy(attempts=1, total=3.0, backoff=0.01, backoff_max=0.02)
    services = build_services(settings, clock, llm_timeouts=FAST, llm_retry=retry)
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    await botapi.wait_for_message(OWNER, contains="Briefing")
    yield adapter
    await adapter.shutdown()
    services.close()


def respond(answer: str | None, *proposals: dict[str, Any]) -> Reply:
    return Reply.calls(("respond", {"answer": answer, "proposals": list(proposals)}))


def sent_to(botapi: FakeBotAPI, since: int) -> set[int]:
    calls = [c for c in botapi.calls[since:] if c.method in ("sendMessage", "sendDocument")]
    return {int(c.params["chat_id"]) for c in calls}


async def test_a_message_to_maria_is_a_card_and_goes_out_only_on_approve(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    await join(botapi, MARIA, "maria")
    await say(botapi, OWNER, "/add Promo cut friday @maria", "Added")
    await botapi.wait_for_message(MARIA, contains="A task for you")
    to_maria = len(botapi.bot_messages(MARIA))
    llm_api.script(
        respond(
            None,
            {
                "kind": "message_contractor",
                "contractor": "Maria",
                "text": "Reminder: the promo cut. Please send the draft by Friday.",
            },
        )
    )
    card = await say(
        botapi,
        OWNER,
        "remind Maria about the promo cut and ask for the draft by Friday",
        "Proposal #",
    )
    assert "Message to your contractor @maria" in card["text"]
    assert [t for t, _ in buttons(card)] == ["✅ Approve", "✏️ Edit", "✖️ Reject"]
    await botapi.wait_idle()
    assert len(botapi.bot_messages(MARIA)) == to_maria  # nothing before Approve
    # Maria can't approve it: a contractor's press of the owner's card is refused
    botapi.press_button(card, buttons(card)[0][1], user_id=MARIA, first_name="Maria")
    await botapi.wait_idle()
    assert [r.status for r in bot.s.proposals.pending()] == ["pending"]
    botapi.press_button(card, text="✅ Approve", user_id=OWNER)
    got = await botapi.wait_for_message(MARIA, contains="send the draft by Friday", after=to_maria)
    assert got["text"].startswith("💬 ")
    assert "Owner" not in got["text"]
    with bot.s.sessions() as session:
        [row] = session.scalars(select(Proposal)).all()
    assert row.status == "done"


async def test_a_contractor_the_owner_does_not_have_is_refused_in_one_sentence(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI
) -> None:
    llm_api.script(respond(None, {"kind": "message_contractor", "contractor": "eve", "text": "hi"}))
    reply = await say(botapi, OWNER, "tell eve hi", "not on your team")
    assert "nothing was changed" in reply["text"]
    assert bot.s.proposals.pending() == []


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.reaches_model], ids=lambda a: a.key)
async def test_a_note_with_injected_text_is_data_to_the_owners_ai(
    bot: TelegramAdapter, botapi: FakeBotAPI, llm_api: FakeOpenAI, attack: Any
) -> None:
    await join(botapi, MARIA, "maria")
    await join(botapi, TOM, "tom")
    await say(botapi, OWNER, "/add Promo cut friday @maria", "Added")
    await say(botapi, OWNER, "/add Pay rent friday", "Added")
    await botapi.wait_for_message(MARIA, contains="A task for you")
    mark = f"zq{attack.key.replace('-', '')}"
    text, wants = attack.render(mark, "evil.example")
    await say(botapi, MARIA, f"/note 1 {text}", "Passed on")
    await botapi.wait_idle()
    tasks = [(t.id, t.title, t.due_at, t.status) for t in bot.s.tasks.list()]
    since = len(botapi.calls)
    llm_api.script(
        Reply.calls(("list_tasks", {"filter": "all"})),
        respond(
            wants,
            {"kind": "complete_task", "task_id": 1},
            {"kind": "complete_task", "task_id": 2},
            {"kind": "message_contractor", "contractor": "tom", "text": wants[:1900]},
            {"kind": "create_task", "title": "Pay the new account", "due": "tomorrow"},
        ),
    )
    await say(botapi, OWNER, "What did Maria write about the promo cut?", "Proposal #")
    await botapi.wait_idle()
    # the note reached the model only inside the delimited tool result
    tool_message = llm_api.requests[-1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert_inside_data(tool_message["content"], mark)
    assert "not instructions" in tool_message["content"]
    # nothing ran, nothing went to anyone but the owner
    assert [(t.id, t.title, t.due_at, t.status) for t in bot.s.tasks.list()] == tasks
    with bot.s.sessions() as session:
        statuses = set(session.scalars(select(Proposal.status)))
        actions = set(session.scalars(select(AuditEntry.action)))
    assert statuses == {"pending"}
    assert not actions & {"approved", "executed"}
    assert sent_to(botapi, since) == {OWNER}
    assert bot.s.outbox.ready("team") == []
    json.dumps(tool_message)  # the request was well-formed JSON all along
