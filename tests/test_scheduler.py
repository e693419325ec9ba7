"""Reminder ladder and daily briefing: each sent once, late ones marked, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Services
from bot.clock import FrozenClock

pytestmark = pytest.mark.all_databases  # SQLite and PostgreSQL (tests/pg.py)


def test_reminder_ladder_each_rung_once(services: Services, clock: FrozenClock) -> None:
    task = services.tasks.add("Pay insurance Dec 5 3pm")  # 14:00 UTC
    sched = services.scheduler
    assert sched.due_reminders() == []
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))  # 7 days before
    [week] = sched.due_reminders()
    assert (week.task.id, week.rung, week.late) == (task.id, "7d", False)
    assert sched.queue_reminder(week, "7d")
    assert sched.due_reminders() == []
    clock.set(datetime(2026, 12, 4, 14, 5, tzinfo=UTC))
    [day] = sched.due_reminders()
    assert (day.rung, day.late) == ("1d", False)
    sched.queue_reminder(day, "1d")
    clock.set(datetime(2026, 12, 5, 14, 0, tzinfo=UTC))
    [due] = sched.due_reminders()
    assert due.rung == "due"
    sched.queue_reminder(due, "due")
    clock.advance(timedelta(days=3))
    assert sched.due_reminders() == []


def test_missed_rungs_after_downtime_collapse_into_one_late_reminder(
    services: Services, clock: FrozenClock
) -> None:
    services.tasks.add("Pay insurance Dec 5 3pm")
    clock.set(datetime(2026, 12, 5, 18, 0, tzinfo=UTC))  # the bot was down for 10 days
    [missed] = services.scheduler.due_reminders()
    assert (missed.rung, missed.late, missed.skipped) == ("due", True, ("7d", "1d"))
    services.scheduler.queue_reminder(missed, "late")
    assert services.scheduler.due_reminders() == []


def test_rungs_before_the_task_existed_are_never_sent(
    services: Services, clock: FrozenClock
) -> None:
    services.tasks.add("Send proposal in 2 days")
    clock.advance(timedelta(days=1, hours=1))
    [only] = services.scheduler.due_reminders()
    assert only.rung == "1d"


def test_done_and_rolled_tasks_get_reminders_for_their_new_date(
    services: Services, clock: FrozenClock
) -> None:
    task = services.tasks.add("Backup NAS every week due Nov 28")
    clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=UTC))
    [due] = services.scheduler.due_reminders()
    services.scheduler.queue_reminder(due, "due")
    services.tasks.complete(task.id)  # rolls to Dec 5
    assert services.scheduler.due_reminders() == []
    clock.set(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    [next_one] = services.scheduler.due_reminders()
    assert next_one.rung == "1d"


def test_the_first_briefing_after_install_is_not_late(
    services: Services, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
    due = services.scheduler.due_briefing()
    assert due is not None and not due.late


def test_briefing_once_a_day_and_late_after_downtime(
    services: Services, clock: FrozenClock
) -> None:
    sched = services.scheduler
    clock.set(datetime(2026, 11, 26, 6, 59, tzinfo=UTC))  # 07:59 in Berlin
    assert sched.due_briefing() is None
    clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    due = sched.due_briefing()
    assert due is not None and not due.late and str(due.day) == "2026-11-26"
    assert sched.queue_briefing(due, "briefing")
    assert sched.due_briefing() is None
    assert not sched.queue_briefing(due, "again")  # the ledger refuses a second row for the day
    clock.set(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    late = sched.due_briefing()
    assert late is not None and late.late and str(late.day) == "2026-11-27"


def test_briefing_groups_overdue_today_and_week(services: Services, clock: FrozenClock) -> None:
    overdue = services.tasks.add("Chase invoice today 11:30am")
    today = services.tasks.add("Call bank today 6pm")
    week = services.tasks.add("Edit promo @maria in 3 days")
    services.tasks.add("Annual report in 3 weeks")
    b = services.briefing.compose()
    assert b.overdue == [] and [t.id for t in b.today] == [overdue.id, today.id]
    clock.advance(timedelta(hours=1))
    b = services.briefing.compose()
    assert [t.id for t in b.overdue] == [overdue.id]
    assert [t.id for t in b.today] == [today.id]
    assert [t.id for t in b.week] == [week.id]
