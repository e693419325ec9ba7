"""The contractors' sweep on every scheduler tick: what each contractor is owed now.

10,000 tasks (some for @names not on the team), of which 1,000 are assigned to 10 contractors
(in 10 time zones, each with the daily list on), and 20,000
messages already sent to contractors in the outbox (a few years of reminders): the tick asks
which notices, reminder rungs and daily lists are still owed, with nothing new to send.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, update

from bench.common import Timings, bench_settings
from bench.scale import timed
from bench.seed import seed_tasks
from bot.app import build_services
from bot.db.models import Task
from bot.db.outbox import OutboxMessage
from bot.db.team import ACTIVE, TEAM, Contractor

ZONES = (
    "Europe/Berlin", "Asia/Tokyo", "America/New_York", "Europe/Lisbon", "Asia/Kolkata",
    "Australia/Sydney", "America/Los_Angeles", "Africa/Nairobi", "Pacific/Auckland", "UTC",
)  # fmt: skip


@dataclass
class TeamScale:
    tasks: int
    assigned: int
    sent: int
    sweep: Timings
    owed: int


def run(
    tasks: int = 10_000, contractors: int = 10, sent: int = 20_000, repeat: int = 25
) -> TeamScale:
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
        services = build_services(bench_settings(Path(tmp), "http://127.0.0.1:9"))
        try:
            seed_tasks(services, tasks)
            now = services.clock.now()
            with services.sessions.begin() as session:
                for i in range(contractors):
                    session.add(
                        Contractor(
                            name=f"c{i}", tg_user_id=5000 + i, status=ACTIVE,
                            timezone=ZONES[i % len(ZONES)], daily=True,
                            joined_at=now - timedelta(days=400), last_active_at=now,
                        )
                    )  # fmt: skip
                for i in range(contractors):
                    session.execute(
                        update(Task).where(Task.id % (tasks // 100) == i).values(assignee=f"c{i}")
                    )
                session.execute(
                    insert(OutboxMessage),
                    [
                        {
                            "key": f"{TEAM}:{1 + n % contractors}:rem:{n}:old:due", "kind": TEAM,
                            "text": "⏰", "buttons": "[]", "status": "sent", "attempts": 1,
                            "resent": False, "created_at": now, "updated_at": now,
                        }
                        for n in range(sent)
                    ],
                )  # fmt: skip
            sweep = services.team_sweep
            owed = sweep.due()
            for due in owed:  # what is owed now is queued once, as the tick does
                sweep.put(due, "x")
            timing = timed(sweep.due, repeat)
            with services.sessions() as session:
                names = [f"c{i}" for i in range(contractors)]
                assigned = session.query(Task).filter(Task.assignee.in_(names)).count()
        finally:
            services.close()
    return TeamScale(tasks, assigned, sent, timing, len(owed))


if __name__ == "__main__":
    result = run()
    print(
        f"{result.assigned:,} of {result.tasks:,} tasks with 10 contractors, {result.sent:,} sent: "
        f"sweep p50 {result.sweep.p50:.1f} ms, p95 {result.sweep.p95:.1f} ms "
        f"(first tick queued {result.owed})"
    )
