"""A database of many tasks, as a year of use would leave it.

Tasks are due from a month ago to eleven months ahead (a tenth overdue), some with a time of
day, some repeating, some assigned to a contractor; each was created a month before it is due,
and the reminder rungs that passed before now are recorded as sent, as the running bot would
have done. Titles, repeat rules and assignees come from the real /add parser.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, time, timedelta

from bot.app import Services
from bot.db.models import ReminderLog
from bot.services.delivery.reminders import LADDER, LATE_AFTER, QUEUED
from bot.services.tasks import dates

PHRASES = [
    "Pay office rent monthly on the 1st",
    "File VAT return every quarter due Jan 31",
    "Send invoice to Acme GmbH friday",
    "Call the tax adviser tomorrow 3pm",
    "Renew the trade licence every year due Mar 1",
    "Update the price list @anna next week",
    "Review the contractor agreement @ben in 2 weeks",
    "Post the newsletter @anna every month due Dec 5",
    "Back up the NAS drive sunday",
    "Order business cards in 3 days",
]


def seed_tasks(services: Services, n: int, *, seed: int = 1) -> None:
    """Add `n` open tasks (and their reminder history) in one transaction."""
    rng = random.Random(seed)
    drafts = [services.tasks.draft(p) for p in PHRASES]
    now, tz = services.clock.now(), services.prefs.tz
    with services.sessions.begin() as session:
        for i in range(n):
            base = drafts[i % len(drafts)]
            has_time = rng.random() < 0.3
            due_at = now + timedelta(days=rng.uniform(-30, 335))
            if not has_time:  # a date-only task is due at 09:00 local, as /add stores it
                day = dates.to_local(due_at, tz).date()
                due_at = dates.from_local(datetime.combine(day, time(9)), tz)
            draft = replace(base, title=f"{base.title} {i}", due=dates.Due(due_at, has_time))
            task = services.tasks.create_in(session, draft)
            task.created_at = task.updated_at = min(now, due_at - timedelta(days=30))
            for rung, before in LADDER:
                point = due_at - before
                if task.updated_at < point <= now - LATE_AFTER:
                    session.add(
                        ReminderLog(
                            task_id=task.id,
                            due_at=due_at,
                            rung=rung,
                            status=QUEUED,
                            late=False,
                            at=point,
                        )
                    )
