"""The durable inbox: dedupe by id (a set, not a maximum), recovery by committed effects."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Services
from bot.db.inbox import InboxUpdate
from bot.llm.completion import Usage
from bot.services.inbox import CURRENT_UPDATE


def update(update_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 0, "text": "hi"}}


def test_ids_seen_before_are_ignored_even_when_ids_jump(services: Services) -> None:
    inbox = services.inbox
    assert inbox.store([update(100), update(7), update(5000)]) == 3
    assert inbox.store([update(7), update(100), update(101)]) == 1  # 7 < max is still a dupe
    assert [p.update_id for p in inbox.waiting()] == [7, 100, 101, 5000]
    assert inbox.next_offset() == 5001


def test_claim_once_and_finish(services: Services) -> None:
    inbox = services.inbox
    inbox.store([update(1)])
    assert inbox.claim(1)
    assert not inbox.claim(1)
    inbox.finish(1)
    assert inbox.waiting() == []


def test_recovery_reruns_only_updates_without_a_committed_effect(services: Services) -> None:
    inbox = services.inbox
    inbox.store([update(1), update(2)])
    assert inbox.claim(1) and inbox.claim(2)
    token = CURRENT_UPDATE.set(1)
    try:
        services.tasks.add("Effect of update one tomorrow")  # commits with its marker
    finally:
        CURRENT_UPDATE.reset(token)
    inbox.recover()  # as after a crash: 1 committed its change, 2 did not
    with services.sessions() as session:
        status = dict(session.execute(select(InboxUpdate.update_id, InboxUpdate.status)).all())
    assert status == {1: "done", 2: "new"}
    assert [p.update_id for p in inbox.waiting()] == [2]


def test_llm_usage_alone_is_not_an_effect(services: Services) -> None:
    services.inbox.store([update(3)])
    services.inbox.claim(3)
    token = CURRENT_UPDATE.set(3)
    try:
        services.usage.record(model="m", purpose="assistant", usage=Usage(10, 5, 15), ok=False)
    finally:
        CURRENT_UPDATE.reset(token)
    services.inbox.recover()
    assert [p.update_id for p in services.inbox.waiting()] == [3]
