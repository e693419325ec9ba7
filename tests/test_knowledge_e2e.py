"""Questions answered from the sample documents, through the bot and the CLI, sources named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI
from tests.test_bot_e2e import say

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "knowledge"


pytestmark = pytest.mark.bot(tick_seconds=60)


@pytest.fixture
def samples(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "knowledge")


@pytest.fixture
async def bot(samples: None, bot: TelegramAdapter, botapi: FakeBotAPI) -> TelegramAdapter:
    """The shared bot over the sample documents (copied before it starts), once it has read
    them (in the background after the start)."""
    await botapi.wait_for(lambda: len(bot.s.knowledge.list_documents()) == 5, timeout=60)
    return bot


@pytest.mark.asyncio
async def test_ask_names_the_right_source_and_an_upload_is_then_cited(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    answer = await say(
        botapi,
        "/ask What is the refund policy?",
        "From your documents",
    )
    first_source = answer["text"].split("📄 ", 2)[1].splitlines()[0]
    assert first_source.startswith("client-faq.md") and "Refunds" in first_source

    note = "# Studio opening hours\n\nThe studio is open Tuesday to Friday, 10:00 to 16:00.\n"
    botapi.upload_document(note.encode(), "opening-hours.md", user_id=OWNER)
    done = await botapi.wait_for(
        lambda: next(
            (m for m in botapi.bot_messages(OWNER) if "opening-hours.md: read" in m["text"]), None
        ),
        timeout=30,
    )
    assert done
    cited = await say(botapi, "/ask When is the studio open?", "From your documents")
    assert "opening-hours.md" in cited["text"].split("📄 ", 2)[1].splitlines()[0]
    docs = await say(botapi, "/docs", "Documents")
    assert "opening-hours.md — indexed" in docs["text"]
    assert "price-list.pdf — indexed" in docs["text"]


@pytest.mark.asyncio
async def test_plain_questions_and_bad_files(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    answer = await say(botapi, "How much does a business website cost?", "From your documents")
    assert "price-list.pdf" in answer["text"] and "2,900" in answer["text"]
    botapi.upload_document(b"\x00\x01\x02garbage" * 100, "notes.txt", user_id=OWNER)
    failed = await botapi.wait_for(
        lambda: next(
            (m for m in botapi.bot_messages(OWNER) if "notes.txt: failed" in m["text"]), None
        ),
        timeout=30,
    )
    assert failed
    botapi.upload_document(b"x", "huge.pdf", user_id=OWNER, file_size=25 * 1024 * 1024)
    too_big = await botapi.wait_for_message(OWNER, contains="over 20 MB", timeout=10)
    assert too_big
    still = await say(botapi, "/tasks", "No open tasks")
    assert still


def test_microdesk_ask_on_a_fresh_folder_answers_with_the_source(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "knowledge")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "OPENAI"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "What is the refund policy?"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "client-faq.md › Client FAQ › Refunds" in done.stdout
