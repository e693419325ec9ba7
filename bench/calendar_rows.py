"""Calendar sync against a real Radicale server (127.0.0.1, a temp folder): 1,000 tasks.

First sync: every dated task written, an event and a to-do each (the calendar made by name under
the server's root).
Incremental, nothing changed: one sync-collection REPORT, no event read or written, timed
`repeat` times. Then 10 tasks edited: only those 10 are written. Alone:
``.venv/bin/python -m bench.calendar_rows``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from caldav.davclient import DAVClient

from bench.common import INFO, Row, Timings, bench_settings, fmt_ms, verdict
from bench.seed import seed_tasks
from bot.app import Services, build_services
from bot.db.calendar import STATE_ID, CalendarState
from bot.services.calendar_sync.events import resources
from bot.services.tasks.export import install_id
from tests.radicale_server import PASSWORD, USER, Radicale, free_port

FLOOR_FACTOR = 1.5
QUIET_OVER_MS = 100.0


@dataclass
class CalendarBench:
    tasks: int
    first_s: float
    floor_s: float
    written: int
    quiet: Timings
    bare: Timings  # the same sync-collection REPORT by a bare caldav client
    quiet_written: int
    changed_ms: float
    changed_written: int


def run(n: int = 1_000, repeat: int = 10) -> CalendarBench:
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-cal-") as tmp:
        root = Path(tmp)
        server = Radicale(root / "radicale", free_port())
        server.root.mkdir()
        server.start()
        try:
            return _measure(root, server, n, repeat)
        finally:
            server.stop()


def _measure(root: Path, server: Radicale, n: int, repeat: int) -> CalendarBench:
    settings = bench_settings(
        root / "data",
        "http://127.0.0.1:9",
        CALDAV_URL=server.url,
        CALDAV_USERNAME=USER,
        CALDAV_PASSWORD=PASSWORD,
    )
    services = build_services(settings)
    try:
        seed_tasks(services, n)
        assert services.calendar is not None
        sync = services.calendar.sync
        started = time.perf_counter()
        first = sync.run()
        first_s = time.perf_counter() - started
        assert first.error is None, first.error
        floor_s = _floor(server, services)
        sync.run()  # reads back the echo of the first sync's own writes (ETags equal: no GET)
        quiet, bare, written = [], [], 0
        report = _bare_report(server, services)
        for _ in range(repeat):  # interleaved with the floor, so both see the same noise
            started = time.perf_counter()
            done = sync.run()
            quiet.append(time.perf_counter() - started)
            written += done.written + done.pulled
            bare.append(report())
        tasks = services.tasks.list("all")[:10]
        for task in tasks:
            services.tasks.edit(task.id, f"{task.title} (changed)")
        started = time.perf_counter()
        changed = sync.run()
        changed_ms = (time.perf_counter() - started) * 1000
        return CalendarBench(
            n, first_s, floor_s, first.written, Timings.of(quiet), Timings.of(bare), written,
            changed_ms, changed.written,
        )  # fmt: skip
    finally:
        services.close()


def _bare_report(server: Radicale, services: Services) -> Callable[[], float]:
    """A bare caldav client asking the same calendar what changed since the sync's token."""
    client = DAVClient(url=server.url + "/", username=USER, password=PASSWORD)
    with services.sessions() as session:
        state = session.get(CalendarState, STATE_ID)
        assert state is not None and state.calendar_url
        url = state.calendar_url
    calendar: Any = cast(Any, client).calendar(url=url)
    calendar.get_display_name()  # log in once, as the sync's kept connection has

    def report() -> float:
        with services.sessions() as session:
            state = session.get(CalendarState, STATE_ID)
            token = state.sync_token if state else None
        started = time.perf_counter()
        calendar.get_objects_by_sync_token(token, load_objects=False)
        return time.perf_counter() - started

    return report


def _floor(server: Radicale, services: Services) -> float:
    """The same events and to-dos PUT by a bare caldav client into a second calendar: the
    server's cost."""
    now, tz, install = services.clock.now(), services.prefs.tz, install_id(services.sessions)
    tasks = [t for t in services.tasks.list("all") if t.due_at]
    # Radicale holds to-dos: the sync writes each task's event and to-do, and so does the floor
    bodies = [r.body for t in tasks for r in resources(t, tz, now, install, todos=True)]
    client = DAVClient(url=server.url + "/", username=USER, password=PASSWORD)
    calendar: Any = cast(Any, client).principal().make_calendar(name="floor")
    base = str(calendar.url)
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        client.put(f"{base}floor-{i}.ics", body.decode(), headers)
    return time.perf_counter() - started


def rows(c: CalendarBench) -> list[Row]:
    section = f"Calendar sync, {c.tasks:,} tasks, real Radicale on 127.0.0.1"
    quiet = c.quiet
    limit = FLOOR_FACTOR * c.floor_s
    return [
        Row(section, "floor: the same events and to-dos PUT one by one by a bare caldav client",
            f"{c.floor_s:.1f} s", "", "1.0×"),
        Row(section, f"first sync ({c.written:,} events and to-dos written)", f"{c.first_s:.1f} s",
            f"≤ {FLOOR_FACTOR:g}× floor = {limit:.1f} s", f"{c.first_s / c.floor_s:.2f}×",
            verdict(c.first_s <= limit)),
        Row(section, f"floor: the sync-collection REPORT alone, bare client, p50 / p95 "
            f"(n={c.bare.n})", c.bare.text(), "", "1.0×"),
        Row(section, f"incremental, nothing changed, p50 / p95 (n={quiet.n}; "
            f"{c.quiet_written} events read or written)", quiet.text(),
            f"≤ floor p95 + {QUIET_OVER_MS:g} ms = {fmt_ms(c.bare.p95 + QUIET_OVER_MS)} ms",
            f"floor + {fmt_ms(quiet.p95 - c.bare.p95)} ms",
            verdict(quiet.p95 <= c.bare.p95 + QUIET_OVER_MS and not c.quiet_written)),
        Row(section, "10 tasks edited: one round", f"{fmt_ms(c.changed_ms)} ms "
            f"({c.changed_written} written)", "", "", INFO),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import print_table

    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
    print_table(rows(result), "calendar sync")
