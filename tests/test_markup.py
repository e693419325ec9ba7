"""Replies cut into messages Telegram accepts: the tag-aware splitter, and a long card sent
through the real Application to the fake Bot API (which parses HTML as Telegram does)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from bot.commands import markup
from bot.commands.markup import plain, runs, split_text
from bot.commands.proposals import ProposalCommands
from bot.commands.reply import Reply, esc
from bot.services.proposals.payloads import ReplyDraft
from bot.tg import render
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI, parse_html

TAGS = ["b", "i", "u", "s", "code", "blockquote", 'a href="https://example.test/p?a=1&amp;b=2"']


def shown_chars(html_text: str) -> list[tuple[str, frozenset[str]]]:
    """Each character a reader sees, with the entity types (and link targets) over it, as the
    fake Bot API parses it (ASCII text: offsets are characters)."""
    text, entities = parse_html(html_text)
    marks: list[set[str]] = [set() for _ in text]
    for entity in entities:
        mark = entity["type"] + ":" + str(entity.get("url", ""))
        for i in range(entity["offset"], entity["offset"] + entity["length"]):
            marks[i].add(mark)
    return [(ch, frozenset(m)) for ch, m in zip(text, marks, strict=True)]


def assert_same_message(original: str, pieces: list[str], limit: int) -> None:
    """Every piece is valid HTML within the limit; together they show the original's text with
    the same formatting on every character, less only whitespace at the cuts."""
    whole = shown_chars(original)
    at = 0
    for n, piece in enumerate(pieces):
        chars = shown_chars(piece)  # raises like Telegram on malformed HTML
        assert 0 < len(chars) <= limit and "".join(c for c, _ in chars).strip()
        for char in chars:
            while whole[at] != char:
                assert whole[at][0].isspace(), f"piece {n} lost {whole[at]!r}"
                at += 1
            at += 1
    assert all(c.isspace() for c, _ in whole[at:])


def random_html(rng: random.Random, size: int) -> str:
    """Nested tags, line breaks, spaces, entities and long words, well-formed."""
    out: list[str] = []
    stack: list[str] = []
    while len(out) < size:
        roll = rng.random()
        if roll < 0.06 and len(stack) < 3:
            tag = rng.choice(TAGS)
            out.append(f"<{tag}>")
            stack.append(tag.split()[0])
        elif roll < 0.10 and stack:
            out.append(f"</{stack.pop()}>")
        elif roll < 0.16:
            out.append("\n")
        elif roll < 0.30:
            out.append(" ")
        elif roll < 0.34:
            out.append(rng.choice(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]))
        else:
            out.append(rng.choice("abcdefghij"))
    out += [f"</{tag}>" for tag in reversed(stack)]
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_random_markup_splits_into_valid_pieces_that_lose_nothing(seed: int) -> None:
    rng = random.Random(seed)
    original = random_html(rng, rng.choice([300, 1200, 5000]))
    for limit in (7, 61, 500):
        assert_same_message(original, split_text(original, limit), limit)


def test_a_cut_closes_open_tags_and_opens_them_again() -> None:
    text = (
        '<blockquote>one <b>two\nthree</b> four</blockquote>\n<a href="https://x.test">five six</a>'
    )
    assert split_text(text, 12) == [
        "<blockquote>one <b>two</b></blockquote>",
        "<blockquote><b>three</b> four</blockquote>",
        '<a href="https://x.test">five six</a>',
    ]
    assert split_text(text) == [text]  # a reply that fits goes as written


def test_a_cut_prefers_a_line_break_then_a_space_and_never_splits_an_entity() -> None:
    assert split_text("aaa bbb\nccc ddd", 13) == ["aaa bbb", "ccc ddd"]
    assert split_text("aaa bbb ccc", 9) == ["aaa bbb", "ccc"]
    assert split_text("x&amp;&lt;yz", 2) == ["x&amp;", "&lt;y", "z"]
    assert split_text("ab<b>cd</b>", 2) == ["ab", "<b>cd</b>"]  # no empty <b></b> left behind


def test_runs_and_plain_read_the_structure() -> None:
    text = '<b>Due <i>soon</i></b> &lt;3 <a href="https://x.test/?a=1&amp;b=2">VAT</a>'
    assert plain(text) == "Due soon <3 VAT"
    assert [(r.text, [t.name for t in r.tags]) for r in runs(text)] == [
        ("Due ", ["b"]),
        ("soon", ["b", "i"]),
        (" <3 ", []),
        ("VAT", ["a"]),
    ]
    assert runs(text)[-1].tags[0].attr("href") == "https://x.test/?a=1&b=2"
    assert markup.LIMIT == render.LIMIT == 4096


def long_draft() -> ReplyDraft:
    """A 9,000-character reply with paragraphs, links, quotes and characters HTML escapes."""
    paragraph = (
        "Hi Anna — thanks for the brief. Prices & terms: see https://studio.example/prices?x=1&y=2 "
        'and "the usual" <conditions>. Delivery in 3 weeks 🚚; revisions twice.'
    )
    lines = [f"{n}. {paragraph}" for n in range(1, 60)]
    text = "\n".join(lines)[:8300]
    incoming = ("“Can you quote for a website?” " * 25)[:600]
    return ReplyDraft(
        text=text, recipient="Anna <Acme & Co>", incoming=incoming, sources=("prices.md",)
    )


async def test_a_nine_thousand_character_card_reaches_telegram_whole(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    draft = long_draft()
    proposal = bot.s.proposals.propose(draft, "forward")
    card = ProposalCommands(bot.s).card(proposal)  # what /pending shows
    assert len(plain(card.text)) > 9000 and card.text.count("\n") > 50
    botapi.send_message("/pending", user_id=OWNER)
    await botapi.wait_for(lambda: _has_buttons(botapi.bot_messages(OWNER)))
    sent = _from(botapi.bot_messages(OWNER), "Proposal #1")  # not the briefing the tick sent
    refused = [c for c in botapi.calls_to("sendMessage") if c.status != 200]
    assert refused == []
    assert len(sent) == 3 and all(len(m["text"]) <= 4096 for m in sent)
    assert [bool(m.get("reply_markup")) for m in sent] == [False, False, True]
    assert "\n".join(m["text"] for m in sent) == plain(card.text)
    quoted = [
        m["text"][e["offset"] : e["offset"] + e["length"]]  # ASCII before each quote: no shift
        for m in sent[:1]
        for e in m.get("entities", [])
        if e["type"] == "blockquote"
    ]
    assert quoted and quoted[0].startswith("1. Hi Anna")
    quotes = [e for m in sent for e in m.get("entities", []) if e["type"] == "blockquote"]
    assert len(quotes) == 3  # the quote goes on in each piece
    assert_same_message(_ascii(card.text), split_text(_ascii(card.text)), 4096)


async def test_a_long_link_cut_in_two_keeps_its_target(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    words = " ".join(f"word{i}" for i in range(1200))
    reply = Reply(f'<b>Links</b>\n<a href="https://x.test/doc?a=1&amp;b=2">{esc(words)}</a>')
    await render.send(bot.app.bot, OWNER, reply)
    sent = [m for m in botapi.bot_messages(OWNER) if re.match(r"Links|word\d", m["text"])]
    assert len(sent) == 3
    links = [e for m in sent for e in m["entities"] if e["type"] == "text_link"]
    assert {e["url"] for e in links} == {"https://x.test/doc?a=1&b=2"} and len(links) == 3
    assert " ".join(m["text"] for m in sent).endswith("word1199")


def _from(messages: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    first = next(i for i, m in enumerate(messages) if m["text"].startswith(start))
    return messages[first:]


def _has_buttons(messages: list[dict[str, Any]]) -> bool:
    return any(m.get("reply_markup") for m in messages)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode()
