"""The durable inbox: dedupe by id (a set, not a maximum), recovery by committed effects, and
one durable commit (one disk sync) per update."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Integer, MetaData, delete, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.app import Services
from bot.clock import FrozenClock
from bot.db.base import Base
from bot.db.engine import make_engine, relaxed_engine
from bot.db.inbox import InboxUpdate, UpdateEffect
from bot.llm.completion import Usage
from bot.services.inbox import CURRENT_UPDATE

pytestmark = pytest.mark.all_databases  # SQLite and PostgreSQL (tests/pg.py)


class Scratch(Base):
    """Models a future feature might add, kept out of the app's own metadata."""

    __abstract__ = True
    metadata = MetaData()


class NewLedger(Scratch):
    """A new bookkeeping table, marked on its model."""

    __tablename__ = "test_new_ledger"
    bookkeeping = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class NewFeature(Scratch):
    """A new table nobody marked: changing it is an effect."""

    __tablename__ = "test_new_feature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


@pytest.fixture
def scratch(services: Services) -> Iterator[None]:
    Scratch.metadata.create_all(services.engine)
    yield
    Scratch.metadata.drop_all(services.engine)


def update(update_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 0, "text": "hi"}}


def statuses(services: Services) -> dict[int, str]:
    with services.sessions() as session:
        return {
            row.update_id: row.status
            for row in session.execute(select(InboxUpdate.update_id, InboxUpdate.status))
        }


def add_task_as(services: Services, update_id: int, title: str) -> None:
    """What a handler does while it handles `update_id`: a change, committed with its marker."""
    token = CURRENT_UPDATE.set(update_id)
    try:
        services.tasks.add(title)
    finally:
        CURRENT_UPDATE.reset(token)


@contextmanager
def durable_commits(engine: Engine) -> Iterator[list[str]]:
    """The COMMITs SQLite runs on `engine`'s connections (the driver commits only a write)."""
    commits: list[str] = []

    def trace(sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            commits.append(sql)

    def checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.set_trace_callback(trace)

    def checkin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(None)

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield commits
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def test_ids_seen_before_are_ignored_even_when_ids_jump(services: Services) -> None:
    inbox = services.inbox
    assert inbox.store([update(100), update(7), update(5000)]) == 3
    assert inbox.store([update(7), update(100), update(101)], durable=False) == 1  # 7 < max
    assert [p.update_id for p in inbox.waiting()] == [7, 100, 101, 5000]
    assert inbox.next_offset() == 5001


def test_take_hands_each_update_out_once_in_order(services: Services) -> None:
    inbox = services.inbox
    inbox.store([update(3), update(1), update(2)])
    assert [(p.update_id, p.payload) for p in inbox.take(2)] == [(1, update(1)), (2, update(2))]
    assert [p.update_id for p in inbox.take()] == [3]
    assert inbox.take() == [] and inbox.waiting() == []
    for update_id in (1, 2, 3):
        inbox.finish(update_id)
    assert statuses(services) == {1: "done", 2: "done", 3: "done"}


def test_recovery_reruns_only_updates_without_a_committed_effect(services: Services) -> None:
    inbox = services.inbox
    inbox.store([update(1), update(2)])
    assert len(inbox.take()) == 2
    add_task_as(services, 1, "Effect of update one tomorrow")
    inbox.recover()  # as after a crash: 1 committed its change, 2 did not
    assert statuses(services) == {1: "done", 2: "new"}
    assert [p.update_id for p in inbox.take()] == [2]


def test_recovery_goes_by_effect_rows_not_by_status(services: Services) -> None:
    inbox = services.inbox
    inbox.store([update(1)])
    add_task_as(services, 1, "Effect whose take was lost tomorrow")  # row still "new"
    inbox.recover()
    assert statuses(services) == {1: "done"}
    assert inbox.take() == []


def test_updates_done_over_a_week_ago_are_pruned_but_never_the_highest(
    services: Services, clock: FrozenClock
) -> None:
    inbox = services.inbox
    inbox.store([update(1), update(2), update(3)])
    inbox.take()
    add_task_as(services, 2, "Effect of update two tomorrow")
    for update_id in (1, 2, 3):
        inbox.finish(update_id)
    clock.advance(timedelta(days=6))
    assert inbox.prune() == 0  # a week is kept
    clock.advance(timedelta(days=2))
    assert inbox.prune() == 2  # 1 and 2 with its effect row; 3, the highest id, stays
    assert statuses(services) == {3: "done"}
    with services.sessions() as session:
        assert session.scalars(select(UpdateEffect.update_id)).all() == []
    assert inbox.next_offset() == 4
    inbox.store([update(4)])
    clock.advance(timedelta(days=8))
    assert inbox.prune() == 1  # 3 goes; 4, not done, stays
    assert statuses(services) == {4: "new"}
    assert inbox.next_offset() == 5


def test_pruning_is_due_once_a_day(services: Services, clock: FrozenClock) -> None:
    inbox = services.inbox
    assert inbox.prune_due()
    inbox.prune()
    clock.advance(timedelta(hours=23))
    assert not inbox.prune_due()
    clock.advance(timedelta(hours=1))
    assert inbox.prune_due()


def test_llm_usage_alone_is_not_an_effect(services: Services) -> None:
    services.inbox.store([update(3)])
    services.inbox.take()
    token = CURRENT_UPDATE.set(3)
    try:
        services.usage.record(model="m", purpose="assistant", usage=Usage(10, 5, 15), ok=False)
    finally:
        CURRENT_UPDATE.reset(token)
    services.inbox.recover()
    assert [p.update_id for p in services.inbox.take()] == [3]


def handled_as(update_id: int, sessions: sessionmaker[Session], row: object) -> None:
    """A handler of `update_id` that commits `row` through `sessions`."""
    token = CURRENT_UPDATE.set(update_id)
    try:
        with sessions.begin() as session:
            session.add(row)
    finally:
        CURRENT_UPDATE.reset(token)


def rerun_after_recovery(services: Services) -> list[int]:
    services.inbox.recover()
    return [p.update_id for p in services.inbox.take()]


@pytest.mark.usefixtures("scratch")
def test_a_table_marked_bookkeeping_on_its_model_is_not_an_effect(services: Services) -> None:
    services.inbox.store([update(1), update(2)])
    services.inbox.take()
    handled_as(1, services.sessions, NewLedger())
    handled_as(2, services.sessions, NewFeature())
    assert rerun_after_recovery(services) == [1]  # 2 committed a change: done


@pytest.mark.usefixtures("scratch")
def test_a_statement_counts_once_it_changed_a_row(services: Services) -> None:
    services.inbox.store([update(1), update(2), update(3), update(4)])
    services.inbox.take()
    with services.sessions.begin() as session:
        session.add_all([NewFeature(id=7), NewFeature(id=8), NewLedger(id=8)])
    for update_id, statement, row in [
        (1, delete(NewFeature).where(NewFeature.id == 99), None),  # nothing matched
        (2, delete(NewLedger), None),  # bookkeeping
        (3, delete(NewFeature).where(NewFeature.id == 7), None),
        (4, delete(NewFeature), NewFeature(id=9)),  # a statement, then a flush: one effect row
    ]:
        token = CURRENT_UPDATE.set(update_id)
        try:
            with services.sessions.begin() as session:
                session.execute(statement)
                if row is not None:
                    session.add(row)
        finally:
            CURRENT_UPDATE.reset(token)
    assert rerun_after_recovery(services) == [1, 2]


@pytest.mark.usefixtures("scratch")
def test_another_sessionmaker_in_the_process_is_not_tracked(services: Services) -> None:
    services.inbox.store([update(1)])
    services.inbox.take()
    handled_as(1, sessionmaker(services.engine), NewFeature())
    with services.sessions() as session:
        assert session.scalars(select(NewFeature.id)).all() == [1]  # it did commit
    assert rerun_after_recovery(services) == [1]  # but not as the inbox's effect


def test_each_update_pays_one_durable_commit(services: Services, db_url: str | None) -> None:
    if db_url:
        pytest.skip("counts SQLite's COMMIT statements")
    inbox = services.inbox
    with durable_commits(services.engine) as commits:
        inbox.store([update(1), update(2)], durable=False)
        inbox.take()
        assert commits == []  # the poller's store and the take do not wait for the disk
        add_task_as(services, 1, "Durable change tomorrow")
        by_handler = len(commits)
        assert by_handler >= 1
        inbox.finish(1)  # the handler's commit synced everything before it
        assert len(commits) == by_handler
        inbox.finish(2)  # changed nothing: its finish is its sync
        assert len(commits) == by_handler + 1
        inbox.store([update(3)])  # a webhook's store: durable
        assert len(commits) == by_handler + 2


def test_the_relaxed_engine_commits_without_waiting_for_the_disk(
    services: Services, db_url: str | None
) -> None:
    if db_url:
        pytest.skip("the test server runs with synchronous_commit=off for every connection")
    relaxed = relaxed_engine(services.engine)
    try:
        with services.engine.connect() as durable_conn, relaxed.connect() as relaxed_conn:
            ask = text("PRAGMA synchronous")
            assert (durable_conn.scalar(ask), relaxed_conn.scalar(ask)) == (2, 1)  # FULL, NORMAL
    finally:
        relaxed.dispose()


@pytest.mark.usefixtures("services")  # the schema exists
def test_postgres_relaxed_commits_keep_the_urls_own_options(db_url: str | None) -> None:
    if not db_url:
        pytest.skip("PostgreSQL's synchronous_commit and libpq options")
    url = make_url(db_url).update_query_dict({"options": "-c statement_timeout=4321"})
    relaxed = relaxed_engine(make_engine(url))
    try:
        with relaxed.connect() as conn:
            assert conn.scalar(text("SHOW synchronous_commit")) == "off"
            assert conn.scalar(text("SHOW statement_timeout")) == "4321ms"
    finally:
        relaxed.dispose()


def test_an_in_memory_database_keeps_one_engine() -> None:
    engine = make_engine("sqlite://")
    assert relaxed_engine(engine) is engine
