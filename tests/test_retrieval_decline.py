"""AI off: a question the documents can't answer gets "not in your documents", not random text."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_services
from bot.clock import FrozenClock
from bot.tg.app import TelegramAdapter
from tests.conftest import make_settings
from tests.fakes.botapi import FakeBotAPI
from tests.test_bot_e2e import say

SAMPLES = Path(__file__).resolve().parents[1] / "knowledge"


@pytest.fixture
async def bot(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> AsyncIterator[TelegramAdapter]:
    shutil.copytree(SAMPLES, tmp_path / "knowledge")
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url)
    services = build_services(settings, clock)
    adapter = TelegramAdapter(services, tick_seconds=60)
    await adapter.startup(poll_timeout=1)
    await botapi.wait_for(lambda: len(services.knowledge.list_documents()) == 5, timeout=120)
    yield adapter
    await adapter.shutdown()
    services.close()


@pytest.mark.asyncio
async def test_unanswerable_questions_are_declined_with_what_the_documents_cover(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    for question in ("/ask banana bread recipe", "/ask Wie backe ich ein Bananenbrot?"):
        declined = await say(botapi, question, "Not in your documents")
        text = declined["text"]
        assert "From your documents" not in text and "📄" not in text
        assert "They are about, among others:" in text
        assert "Client FAQ (client-faq.md)" in text and "price-list.pdf" in text


@pytest.mark.asyncio
async def test_an_answerable_question_shows_the_sentences_that_answer(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    answer = await say(botapi, "/ask Is the deposit refunded if I cancel?", "From your documents")
    first = answer["text"].split("📄 ", 2)[1]
    assert first.startswith("client-faq.md › Client FAQ › Refunds")
    assert "the deposit is refunded in full within 14 days" in first
    german = await say(botapi, "/ask Wann ist die Umsatzsteuererklärung fällig?", "From your")
    assert "tax-and-licence-calendar.txt" in german["text"]
