"""The guardrail's state machine on real SQLite: only approve executes, exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.clock import FrozenClock
from bot.db.models import Task
from bot.db.proposals import AuditEntry
from bot.errors import UserInputError
from bot.services.proposals import payloads as p


def tasks_count(services: Services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Task)) or 0


def new_task(services: Services, text: str = "Renew licence Jan 31") -> int:
    payload = services.proposals.task_from_draft(services.tasks.draft(text))
    return services.proposals.propose(payload, "assistant").id


def test_proposing_changes_nothing_and_approving_executes_once(services: Services) -> None:
    pid = new_task(services)
    assert tasks_count(services) == 0
    assert services.proposals.get(pid).status == "pending"
    outcome = services.proposals.approve(pid)
    assert outcome.ok and outcome.proposal.status == "done"
    assert tasks_count(services) == 1
    with pytest.raises(UserInputError, match="already approved and done"):
        services.proposals.approve(pid)
    assert tasks_count(services) == 1
    actions = [e.action for e in reversed(services.proposals.audit())]
    assert actions == ["proposed", "approved", "executed"]


def test_concurrent_approvals_from_threads_execute_once(services: Services) -> None:
    pid = new_task(services)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def tap() -> None:
        barrier.wait()
        try:
            services.proposals.approve(pid)
            results.append("ok")
        except UserInputError:
            results.append("refused")

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert tasks_count(services) == 1


def test_reject_and_expiry_never_execute(services: Services, clock: FrozenClock) -> None:
    rejected = new_task(services)
    services.proposals.reject(rejected)
    with pytest.raises(UserInputError, match="was rejected"):
        services.proposals.approve(rejected)
    expiring = new_task(services)
    clock.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(UserInputError, match="expired"):
        services.proposals.approve(expiring)
    assert services.proposals.expire_due() == [expiring]
    assert services.proposals.get(expiring).status == "expired"
    assert tasks_count(services) == 0


def test_edit_replaces_the_card_with_the_owners_words(services: Services) -> None:
    pid = new_task(services, "Renew licence Jan 31")
    services.proposals.start_edit(pid)
    new = services.proposals.apply_edit("Renew trade licence @tom Feb 2")
    assert new.replaces_id == pid and new.status == "pending"
    payload = p.load(new.payload)
    assert isinstance(payload, p.NewTask)
    assert payload.title == "Renew trade licence" and payload.assignee == "tom"
    assert services.proposals.get(pid).status == "rejected"
    assert services.proposals.editing() is None
    with pytest.raises(UserInputError):
        services.proposals.approve(pid)
    services.proposals.approve(new.id)
    assert [t.title for t in services.tasks.list()] == ["Renew trade licence"]


def test_a_stale_complete_card_cannot_roll_a_repeat_twice(services: Services) -> None:
    task = services.tasks.add("File VAT every quarter due Jan 31")
    first = services.proposals.propose(services.proposals.finish_of(task.id), "assistant")
    services.tasks.complete(task.id)  # done by hand meanwhile
    outcome = services.proposals.approve(first.id)
    assert not outcome.ok and "changed since" in outcome.message
    assert services.proposals.get(first.id).status == "failed"
    assert len(services.tasks.completions()) == 1


def test_a_failed_execution_is_recorded_and_changes_nothing(services: Services) -> None:
    task = services.tasks.add("Call bank tomorrow")
    change = services.proposals.change_from(task.id, services.tasks.read_change("Call the bank"))
    pid = services.proposals.propose(change, "assistant").id
    services.tasks.delete(task.id)
    outcome = services.proposals.approve(pid)
    assert not outcome.ok and "no task" in outcome.message
    with services.sessions() as session:
        failed = session.scalars(select(AuditEntry).where(AuditEntry.action == "failed")).all()
    assert len(failed) == 1


def test_reply_drafts_are_edited_verbatim(services: Services) -> None:
    draft = p.ReplyDraft(text="Hello!", recipient="Anna", incoming="Price?")
    pid = services.proposals.propose(draft, "forward").id
    services.proposals.start_edit(pid)
    new = services.proposals.apply_edit("Hi Anna, it is 40 € <b>per hour</b>.")
    assert p.load(new.payload) == draft.model_copy(
        update={"text": "Hi Anna, it is 40 € <b>per hour</b>."}
    )
    services.proposals.start_edit(new.id)
    with pytest.raises(UserInputError, match="at most"):
        services.proposals.apply_edit("x" * 5000)
    assert services.proposals.get(new.id).status == "pending"
