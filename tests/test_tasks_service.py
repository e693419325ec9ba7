"""TaskService on a real SQLite file: dates in the business zone, repeats, history, bad input."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.clock import FrozenClock
from bot.db.models import DONE, Task, TaskCompletion
from bot.db.tasks import OpenFilter, page_query
from bot.errors import DateError, NotFoundError, UserInputError

pytestmark = pytest.mark.all_databases  # SQLite and PostgreSQL (tests/pg.py)


def count(services: Services, model: type) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_quarterly_deadline_rolls_to_the_next_quarter_and_keeps_history(
    services: Services,
) -> None:
    task = services.tasks.add("File VAT return every quarter due Jan 31")
    assert task.title == "File VAT return"
    assert task.repeat_rule == "FREQ=MONTHLY;INTERVAL=3"
    # 09:00 in Berlin (UTC+1 in winter)
    assert task.due_at == datetime(2027, 1, 31, 8, 0, tzinfo=UTC)
    assert not task.has_time

    first = services.tasks.complete(task.id)
    assert first.next_due == datetime(2027, 4, 30, 7, 0, tzinfo=UTC)  # 09:00 summer time
    second = services.tasks.complete(task.id)
    assert second.next_due == datetime(2027, 7, 31, 7, 0, tzinfo=UTC)  # the 31st is kept
    assert count(services, TaskCompletion) == 2
    assert services.tasks.get(task.id).status == "open"
    history = services.tasks.completions()
    assert [c.due_at for c in history] == [first.next_due, task.due_at]


def test_a_one_off_task_is_done_once(services: Services) -> None:
    task = services.tasks.add("Send invoice to Acme tomorrow 3pm")
    assert task.has_time
    assert task.due_at == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    assert services.tasks.complete(task.id).next_due is None
    assert services.tasks.get(task.id).status == DONE
    with pytest.raises(UserInputError, match="already done"):
        services.tasks.complete(task.id)
    assert count(services, TaskCompletion) == 1


def test_filters(services: Services, clock: FrozenClock) -> None:
    today = services.tasks.add("Call accountant today 6pm")
    week = services.tasks.add("Renew domain in 3 days")
    later = services.tasks.add("Edit promo video @maria in 2 weeks")
    undated = services.tasks.add("Think about pricing")

    def ids(tasks: Sequence[Task]) -> list[int]:
        return [t.id for t in tasks]

    assert ids(services.tasks.list()) == [today.id, week.id, later.id, undated.id]
    assert ids(services.tasks.list("today")) == [today.id]
    assert ids(services.tasks.list("week")) == [today.id, week.id]
    assert ids(services.tasks.list("@maria")) == [later.id]
    assert ids(services.tasks.list("@Maria")) == [later.id]
    assert services.tasks.list("overdue") == []
    clock.advance(timedelta(days=1))
    assert ids(services.tasks.list("overdue")) == [today.id]
    with pytest.raises(UserInputError, match="today, week, overdue"):
        services.tasks.list("someday")


def test_a_date_only_task_is_not_overdue_until_its_day_ends(
    services: Services, clock: FrozenClock
) -> None:
    task = services.tasks.add("Pay rent tomorrow")
    clock.advance(timedelta(days=1, hours=2))  # tomorrow, 11:00 UTC, past the 09:00 marker
    assert not services.tasks.is_overdue(services.tasks.get(task.id), clock.now())
    assert services.tasks.list("overdue") == []  # the list's query agrees
    clock.advance(timedelta(hours=12))  # the day after, in Berlin
    assert services.tasks.is_overdue(services.tasks.get(task.id), clock.now())
    assert [t.id for t in services.tasks.list("overdue")] == [task.id]


def test_a_page_counts_the_whole_list_and_clamps_a_stale_offset(services: Services) -> None:
    for n in range(7):
        services.tasks.add(f"Job {n} in {n + 1} days @maria")
    services.tasks.add("Undated job")
    page = services.tasks.page(None, 3, 3)
    assert (page.offset, page.total) == (3, 8)
    assert [t.title for t in page.tasks] == ["Job 3", "Job 4", "Job 5"]
    last = services.tasks.page(None, 99, 3)  # the list shrank since the button was sent
    assert (last.offset, [t.title for t in last.tasks]) == (6, ["Job 6", "Undated job"])
    maria = services.tasks.page("@maria", 6, 3)
    assert (maria.total, [t.title for t in maria.tasks]) == (7, ["Job 6"])
    assert services.tasks.page("week", 0, 30).total == 7
    with pytest.raises(UserInputError, match="today, week, overdue"):
        services.tasks.page("@", 0, 3)


def test_the_list_order_is_read_off_the_page_index(services: Services) -> None:
    for words in ("B", "A in 2 days", "C tomorrow", "D", "E in 2 days"):
        services.tasks.add(words)
    # due first, ties by number, undated last
    assert [t.title for t in services.tasks.list()] == ["C", "A", "E", "B", "D"]
    assert [t.title for t in services.tasks.page(None, 2, 2).tasks] == ["E", "B"]
    dialect = services.engine.dialect
    query = page_query(OpenFilter(), 15, 15).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    with services.engine.connect() as conn:
        if dialect.name == "sqlite":
            explain = "EXPLAIN QUERY PLAN"
        else:  # five rows: make PostgreSQL show the plan it would take for a thousand
            explain = "EXPLAIN"
            conn.exec_driver_sql("SET enable_seqscan = off")
        plan = " / ".join(str(row[-1]) for row in conn.exec_driver_sql(f"{explain} {query}"))
    assert "ix_tasks_page" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # no sort of every open task


def test_snooze_edit_delete(services: Services) -> None:
    task = services.tasks.add("Renew licence friday")
    moved = services.tasks.snooze(task.id, "next monday 10am")
    assert moved.due_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC) and moved.has_time
    edited = services.tasks.edit(task.id, "Renew trade licence @tom")
    assert edited.title == "Renew trade licence" and edited.assignee == "tom"
    assert edited.due_at == moved.due_at  # a text without a date keeps the date
    redated = services.tasks.edit(task.id, "Dec 15")
    assert redated.title == "Renew trade licence"
    assert redated.due_at == datetime(2026, 12, 15, 8, 0, tzinfo=UTC)
    services.tasks.delete(task.id)
    with pytest.raises(NotFoundError):
        services.tasks.get(task.id)


@pytest.mark.parametrize(
    ("text", "error", "fragment"),
    [
        ("", UserInputError, "Tell me what to add"),
        ("   ", UserInputError, "Tell me what to add"),
        ("x" * 10_000, UserInputError, "too long"),
        ("Pay VAT yesterday", DateError, "past"),
        ("File VAT every quarter", DateError, "first due"),
    ],
)
def test_bad_add_changes_nothing(
    services: Services, text: str, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment) as info:
        services.tasks.add(text)
    assert "\n" not in str(info.value)
    assert count(services, Task) == 0


def test_bad_ids_and_dates_change_nothing(services: Services) -> None:
    task = services.tasks.add("Renew licence friday")
    before = services.tasks.get(task.id).due_at
    with pytest.raises(NotFoundError, match="no task #999"):
        services.tasks.complete(999)
    with pytest.raises(DateError):
        services.tasks.snooze(task.id, "blorp")
    with pytest.raises(DateError):
        services.tasks.snooze(task.id, "2020-01-01")
    with pytest.raises(UserInputError):
        services.tasks.snooze(task.id, "")
    assert services.tasks.get(task.id).due_at == before


def test_unicode_titles_are_kept_verbatim(services: Services) -> None:
    title = "<b>Pay</b> 💶 \u202eטקסט & co"
    task = services.tasks.add(title + " tomorrow")
    assert services.tasks.get(task.id).title == title
