"""Client records, the thread, who waits, and the leak guard, on real SQLite."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bot.app import Services
from bot.clock import FrozenClock
from bot.db.knowledge import INDEXED, Chunk, Document
from bot.services.clients.leaks import tokens
from bot.services.clients.service import ConnectionInfo, IncomingMessage
from bot.services.proposals import payloads as p
from tests.conftest import OWNER, STRANGER

CONN = "biz-1"
ANNA, BORIS = 5551, 5552
MESSAGE_IDS = itertools.count(100)


def connect(services: Services, *, can_reply: bool = True, user: int = OWNER) -> str | None:
    return services.clients.connect(ConnectionInfo(CONN, user, user, can_reply, True))


def write(services: Services, text: str, chat: int = ANNA, *, sender: int | None = None) -> int:
    """A message in `chat` (from the client unless `sender`); its message id."""
    name = {ANNA: "Anna Weber", BORIS: "Boris Klein"}[chat]
    message_id = next(MESSAGE_IDS)
    at = services.clock.now()
    message = IncomingMessage(CONN, chat, message_id, sender or chat, name, text, at)
    assert services.clients.receive(message) is not None
    return message_id


def draft(
    services: Services, text: str, chat: int = ANNA, sources: tuple[str, ...] = ()
) -> list[str]:
    """The card notes of a draft to `chat`'s client."""
    summaries = services.clients.summaries()
    client_id = next(s.client.id for s in summaries if s.client.chat_id == chat)
    payload = p.ReplyDraft(text=text, recipient="x", client_id=client_id, sources=sources)
    return services.clients.notes(payload)


def add_document(services: Services, name: str, text: str, *, private: bool) -> None:
    now = services.clock.now()
    with services.sessions.begin() as session:
        doc = Document(
            source="folder",
            path=f"/k/{name}",
            name=name,
            content_hash=name,
            status=INDEXED,
            size_bytes=len(text),
            text_chars=len(text),
            chunk_count=1,
            private=private,
            created_at=now,
            updated_at=now,
        )
        session.add(doc)
        session.flush()
        session.add(
            Chunk(document_id=doc.id, ordinal=0, text=text, char_start=0, char_end=len(text))
        )


@pytest.fixture
def two_clients(services: Services) -> Services:
    connect(services)
    write(services, "Hi, what does the workshop cost?", ANNA)
    write(services, "Invoice to boris@klein.example, IBAN DE44 5001 0517 5407 3249 31", BORIS)
    return services


def test_only_the_owners_connection_is_stored_and_a_replay_is_stored_once(
    services: Services,
) -> None:
    assert connect(services, user=STRANGER) is None and not services.clients.knows(CONN)
    assert connect(services, can_reply=False) == "no_reply"
    assert connect(services, can_reply=False) is None  # unchanged: no second notice
    assert connect(services) == "connected"
    message = IncomingMessage(CONN, ANNA, 7, ANNA, "Anna", "hello", services.clock.now())
    assert services.clients.receive(message) is not None
    assert services.clients.receive(message) is None  # the same update again
    assert [m.text for m in services.clients.thread(1)] == ["hello"]
    elsewhere = IncomingMessage("other", ANNA, 8, ANNA, "Anna", "hi", services.clock.now())
    assert services.clients.receive(elsewhere) is None


def test_waiting_clients_come_first_longest_waiting_first(
    services: Services, clock: FrozenClock
) -> None:
    connect(services)
    write(services, "first", BORIS)
    clock.advance(timedelta(minutes=5))
    write(services, "hello", ANNA)
    clock.advance(timedelta(minutes=5))
    write(services, "answered", ANNA, sender=OWNER)
    write(services, "second", BORIS)
    names = [(s.client.name, s.waiting_since is not None) for s in services.clients.summaries()]
    assert names == [("Boris Klein", True), ("Anna Weber", False)]
    boris = services.clients.summaries()[0]
    assert [m.text for m in services.clients.unanswered(boris.client.id)] == ["first", "second"]


def test_the_reply_window_and_rights_block_a_send(services: Services, clock: FrozenClock) -> None:
    connect(services)
    write(services, "hello", ANNA)
    client = services.clients.summaries()[0].client
    assert services.clients.blocked(client) is None
    clock.advance(timedelta(hours=24, seconds=1))
    assert "over 24 hours old" in (services.clients.blocked(client) or "")
    write(services, "still there?", ANNA)
    connect(services, can_reply=False)
    assert "no right to reply" in (services.clients.blocked(client) or "")


def test_the_leak_guard_flags_other_clients_names_and_details(two_clients: Services) -> None:
    s = two_clients
    assert draft(s, "Hi Anna, the workshop is 40 € per hour. Weber is a lovely name.") == []
    assert draft(s, "Hi Anna, Boris also asked about it.") == [
        "⚠️ It mentions another client: Boris Klein."
    ]
    leaked = draft(s, "Pay to DE44500105175407324931 or ask boris@klein.example")
    assert len(leaked) == 2 and all("Boris Klein's messages" in n for n in leaked)
    assert draft(s, "Sure, see you in 2026 — may I call you?") == []  # years, ordinary words


def test_what_this_client_or_the_shared_documents_said_is_not_a_leak(
    two_clients: Services,
) -> None:
    s = two_clients
    write(s, "I wrote boris@klein.example down from your site", ANNA)
    assert draft(s, "Yes, boris@klein.example is the right address.") == []
    write(s, "What does the 1,250 € package include?", BORIS)
    add_document(s, "prices.md", "Full package: 1,250 € per month.", private=False)
    assert draft(s, "The package is 1,250 € a month.") == []


def test_the_leak_guard_flags_private_documents(two_clients: Services) -> None:
    s = two_clients
    secret = "Owner salary 4,800 € net. Margin on workshops is kept at forty percent always."
    add_document(s, "salaries.md", secret, private=True)
    assert draft(s, "Our prices are fair.", sources=("salaries.md › Pay",)) == [
        "⚠️ It uses the private document salaries.md."
    ]
    assert draft(s, "I earn 4,800 € a month.") == ["⚠️ It uses the private document salaries.md."]
    quoted = "We say: margin on workshops is kept at forty percent always."
    assert draft(s, quoted) == ["⚠️ It uses the private document salaries.md."]
    assert draft(s, "The workshop costs 40 € per hour.") == []


def test_tokens_normalise_numbers_addresses_and_ibans() -> None:
    found = tokens("Call +49 170 5551234 or Ann.Lee@Mail.example; 12 € on 2026-01-05")
    assert {"491705551234", "ann.lee@mail.example", "20260105"} <= found.keys()
    assert "12" not in found and "2026" not in found
