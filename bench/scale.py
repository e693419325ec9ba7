"""The daily briefing and the reminder sweep over a database of 10,000 tasks.

Each is timed as the scheduler tick runs it, on the caller's thread: the query, the ORM rows,
and the Python that sorts them. "Briefing, rendered" adds what the 08:00 send does on top of
``BriefingService.compose``: proposals and waiting clients, and the HTML text.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import Timings, bench_settings
from bench.seed import seed_tasks
from bot.app import build_services
from bot.commands.tasks.briefing import BriefingCommands


@dataclass
class Scale:
    tasks: int
    seed_seconds: float
    compose: Timings
    render: Timings
    sweep: Timings
    due_now: int
    upcoming: int


def timed(fn: Callable[[], object], repeat: int, warmup: int = 2) -> Timings:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return Timings.of(seconds)


def run(tasks: int, repeat: int) -> Scale:
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
        services = build_services(bench_settings(Path(tmp), "http://127.0.0.1:9"))
        try:
            started = time.perf_counter()
            seed_tasks(services, tasks)
            seeded = time.perf_counter() - started
            briefing = BriefingCommands(services)
            compose = timed(services.briefing.compose, repeat)
            render = timed(briefing.render, repeat)
            sweep = timed(services.scheduler.due_reminders, repeat)
            b = services.briefing.compose()
            upcoming = len(b.overdue) + len(b.today) + len(b.week)
            due_now = len(services.scheduler.due_reminders())
        finally:
            services.close()
    return Scale(tasks, seeded, compose, render, sweep, due_now, upcoming)
