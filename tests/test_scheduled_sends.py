"""Every message the bot sends on its own goes through the outbox: a drafted reply's card (queued
with its proposal), the question about an interrupted reply (queued with the "asked" note), a
failed weekly backup (once per ISO week, across restarts); and the background loops that run
the scheduler tick and the drafting side by side."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.commands import outgoing
from bot.commands.build import build_conversation
from bot.commands.reply import Button, Reply
from bot.config import Settings
from bot.db.outbox import CARD, DROPPED, NOTICE, QUESTION, SENT, UNKNOWN, OutboxMessage
from bot.db.proposals import AuditEntry, Proposal
from bot.services.clients.service import ConnectionInfo, IncomingMessage
from bot.services.delivery import keys
from bot.services.delivery.loop import every
from bot.services.delivery.outbox import Outgoing
from bot.services.delivery.send_errors import SendUnknown
from bot.services.proposals import payloads as p
from tests.conftest import OWNER

ANNA = 5551


def rows(services: Services) -> list[OutboxMessage]:
    with services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


class Owner:
    """The owner's chat as a send function: what arrived, or a scripted SendUnknown."""

    def __init__(self, *unknown: bool) -> None:
        self.unknown = list(unknown)
        self.got: list[Reply] = []

    async def __call__(self, reply: Reply) -> int | None:
        self.got.append(reply)
        if self.unknown and self.unknown.pop(0):
            raise SendUnknown()
        return 700 + len(self.got)


def card(proposal_id: int, reply: Reply) -> Outgoing:
    return keys.card(proposal_id, reply.text, outgoing.stored(reply))


def propose_with_card(services: Services, text: str = "See you at 3") -> Proposal:
    cards = build_conversation(services).clients.cards
    payload = p.ReplyDraft(text=text, recipient="Anna")
    return services.proposals.propose(
        payload, "forward", announce=lambda row: card(row.id, cards.card(row))
    )


def test_a_card_is_queued_in_its_proposals_transaction_or_not_at_all(services: Services) -> None:
    row = propose_with_card(services)
    [queued] = rows(services)
    assert (queued.key, queued.kind) == (f"card:{row.id}", CARD)
    assert f"Proposal #{row.id}" in queued.text and f"pa:{row.id}" in queued.buttons

    def broken(row: Proposal) -> Outgoing:
        raise RuntimeError("the card could not be made")

    with pytest.raises(RuntimeError):
        services.proposals.propose(
            p.ReplyDraft(text="x", recipient="B"), "forward", announce=broken
        )
    assert [r.id for r in services.proposals.pending()] == [row.id]  # no proposal without card
    assert len(rows(services)) == 1


async def test_a_card_goes_out_only_while_its_proposal_waits(services: Services) -> None:
    kept, rejected = propose_with_card(services, "first"), propose_with_card(services, "second")
    services.proposals.reject(rejected.id)
    owner = Owner()
    sent = await build_conversation(services).run_tick(owner)
    cards = [r for r in owner.got if "Proposal #" in r.text]
    assert sent >= 1 and [f"Proposal #{kept.id}" in r.text for r in cards] == [True]
    by_key = {r.key: r.status for r in rows(services) if r.kind == CARD}
    assert by_key == {f"card:{kept.id}": SENT, f"card:{rejected.id}": DROPPED}
    assert services.outbox.undelivered(datetime(2026, 1, 1, tzinfo=UTC)) == []


async def test_a_card_whose_send_is_unknown_comes_once_more_marked_and_its_buttons_work(
    services: Services, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))  # before the briefing: cards only
    row = propose_with_card(services)
    conversation = build_conversation(services)
    owner = Owner(True)  # the card's first send times out after the request left
    await conversation.run_tick(owner)
    assert [r.status for r in rows(services)] == [UNKNOWN]
    await conversation.run_tick(owner)
    await conversation.run_tick(owner)
    first, again = owner.got
    assert again.text == f"{outgoing.AGAIN}\n{first.text}" and again.buttons == first.buttons
    [card] = rows(services)
    assert (card.status, card.resent, card.message_id) == (SENT, True, 702)
    approve = next(b for b in again.buttons[0] if isinstance(b, Button) and "Approve" in b.text)
    assert "✅ Approved" in (await conversation.router.press(approve.data))[0].text
    twice = await conversation.router.press(first.buttons[0][0].data)  # the first copy's button
    assert (
        twice[0].text == f"Proposal #{row.id} was already approved and done; nothing more was done."
    )


async def test_an_interrupted_reply_is_asked_about_once_with_its_note(
    services: Services,
) -> None:
    row = services.proposals.propose(p.ReplyDraft(text="See you at 3", recipient="Anna"), "x")
    services.proposals.claim(row.id)
    services.replies.interrupted()  # as at the next start
    conversation = build_conversation(services)
    owner = Owner()
    for _ in range(3):
        await conversation.run_tick(owner)
    questions = [r for r in owner.got if "can't tell whether it went out" in r.text]
    assert len(questions) == 1 and "See you at 3" in questions[0].text
    [queued] = [r for r in rows(services) if r.kind == QUESTION]
    assert (queued.key, queued.status) == (f"question:{row.id}", SENT)
    with services.sessions() as session:
        asked = session.scalars(select(AuditEntry).where(AuditEntry.action == "owner asked"))
        assert [e.proposal_id for e in asked] == [row.id]


async def test_a_failed_weekly_backup_is_told_once_per_week_even_across_a_restart(
    services: Services, settings: Settings, clock: FrozenClock
) -> None:
    (settings.DATA_DIR / "backups").write_text("a file where the backups folder should be")
    services.backups.weekly_not_before = 0.0
    owner = Owner()
    await build_conversation(services).run_tick(owner)
    clock.advance(timedelta(minutes=61))  # the retry after an hour fails too
    restarted = build_services(settings, clock)  # nothing of the first warning in memory
    try:
        restarted.backups.weekly_not_before = 0.0
        await build_conversation(restarted).run_tick(owner)
        notices = [r.text for r in owner.got if "weekly backup did not work" in r.text]
        assert len(notices) == 1 and "disk full" in notices[0]
        [queued] = [r for r in rows(restarted) if r.kind == NOTICE]
        assert (queued.key, queued.status) == ("backup:2026-W48", SENT)
        clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # Monday: week 49 fails too
        await build_conversation(restarted).run_tick(owner)
        assert len([r for r in owner.got if "weekly backup did not work" in r.text]) == 2
    finally:
        restarted.close()


def test_a_released_burst_is_due_again_unless_the_client_wrote_since(
    services: Services, clock: FrozenClock
) -> None:
    services.clients.connect(ConnectionInfo("conn", OWNER, OWNER, True, True))

    def client_writes(message_id: int) -> None:
        text = f"message {message_id}"
        services.clients.receive(
            IncomingMessage("conn", ANNA, message_id, ANNA, "Anna", text, clock.now())
        )

    client_writes(1)
    clock.advance(services.clients.quiet)
    [taken] = services.drafts.take_due()
    assert services.drafts.take_due() == []  # claimed
    services.drafts.release([taken])  # a stop before the draft was made
    [again] = services.drafts.take_due()
    assert [m.text for m in again.messages] == ["message 1"]
    client_writes(2)  # while drafting: a new quiet period starts
    services.drafts.release([again])
    assert services.drafts.take_due() == []  # the newer period stands, not the released one
    clock.advance(services.clients.quiet)
    [last] = services.drafts.take_due()
    assert [m.text for m in last.messages] == ["message 1", "message 2"]


# --- the background loops ----------------------------------------------------------------------


async def test_a_loop_logs_an_error_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    second = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the database was locked")
        second.set()

    task = asyncio.create_task(every(0.0, job, "a test job"))
    try:
        await asyncio.wait_for(second.wait(), 30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled() and len(runs) >= 2
    assert "a test job failed; trying again on the next round" in caplog.text


async def test_a_wake_up_runs_the_loop_at_once_not_after_its_pause() -> None:
    ran = [asyncio.Event(), asyncio.Event()]
    wake = asyncio.Event()

    async def job() -> None:
        next(e for e in ran if not e.is_set()).set()

    task = asyncio.create_task(every(3600.0, job, "the tick", wake=wake))  # an hour's pause
    try:
        await asyncio.wait_for(ran[0].wait(), 30)
        wake.set()
        await asyncio.wait_for(ran[1].wait(), 30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
