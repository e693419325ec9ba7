"""A real documents folder: hundreds of pictures beside the pages. Skips are counted per kind,
/docs is a paged summary under Telegram's limit, and a re-ingest counts honestly."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.knowledge import run_knowledge_verb
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI
from tests.test_bot_e2e import say

PAGES, PICTURES = 30, 190
pytestmark = pytest.mark.asyncio


def fill(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(PAGES):
        body = f"<p>Page {n} of the studio handbook: opening hours and prices {n}.</p>"
        (folder / f"page-{n:03}.html").write_text(f"<html><body>{body}</body></html>")
    for n in range(PICTURES):
        (folder / f"photo-{n:03}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([n]) * 64)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")


def ingest_cli(services: object) -> str:
    out = io.StringIO()
    args = argparse.Namespace(verb="ingest", path=None, rebuild=False)
    run_knowledge_verb(services, args, Console(file=out, width=100))  # type: ignore[arg-type]
    return out.getvalue()


async def test_skips_are_counted_per_kind_and_docs_is_paged(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    fill(bot.s.settings.KNOWLEDGE_DIR)
    import asyncio

    first = await asyncio.to_thread(ingest_cli, bot.s)
    assert f"{PICTURES} images skipped: pictures aren't read yet" in first
    assert "photo-" not in first  # not one line per picture
    assert "failed: broken.pdf" in first
    assert len(first.splitlines()) <= 4
    again = await asyncio.to_thread(ingest_cli, bot.s)
    assert f"Documents: {PAGES} unchanged, {PICTURES} skipped, 1 failed." in again

    summary = await say(botapi, "/docs", "Documents")
    text = summary["text"]
    assert len(text) < 4096
    assert f"Documents — {PAGES + PICTURES + 1}" in text
    assert f"✓ {PAGES} indexed" in text
    assert f"– {PICTURES} images skipped: pictures aren't read yet" in text
    assert "Newest problems" in text and "broken.pdf — failed" in text
    seen: list[str] = []
    page = summary
    botapi.press_button(page, text="More ▸", user_id=OWNER)
    while True:
        await botapi.wait_for(lambda: "to " in botapi.bot_messages(OWNER)[-1]["text"])
        page = botapi.bot_messages(OWNER)[-1]
        assert len(page["text"]) < 4096
        seen += [line.split(" — ")[0][2:] for line in page["text"].splitlines()[1:]]
        labels = [
            b["text"]
            for row in page.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ]
        if "More ▸" not in labels:
            break
        shown = page["text"].splitlines()[0]
        botapi.press_button(page, text="More ▸", user_id=OWNER)
        await botapi.wait_for(
            lambda shown=shown: botapi.bot_messages(OWNER)[-1]["text"].splitlines()[0] != shown
        )
    assert len(seen) == len(set(seen)) == PAGES + PICTURES + 1


async def test_a_few_documents_are_listed_at_once(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    folder = bot.s.settings.KNOWLEDGE_DIR
    folder.mkdir(parents=True)
    (folder / "prices.md").write_text("# Prices\nA logo costs 400 EUR.")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    await bot.s.knowledge.aingest_dir()
    text = (await say(botapi, "/docs", "Documents"))["text"]
    assert "✓ prices.md — indexed" in text and "– logo.png — skipped" in text
    assert "– 1 image skipped: pictures aren't read yet" in text
