"""A restore wins in the calendar: after `microdesk restore` of an older backup, the next sync
writes the restored tasks over whatever the calendar (real Radicale) got since the backup, and
reads none of those later changes back as the owner's moves or deletes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from bot.app import build_services
from bot.clock import FrozenClock
from bot.db.calendar import CalendarLink
from bot.services.backup.restore import restore_backup
from tests.radicale_server import Radicale
from tests.test_calendar_sync import CalendarApp, audit, calendar_settings, notices, sync


def starts(app: CalendarApp) -> dict[str, date | datetime]:
    return {str(e["summary"]): e.decoded("dtstart") for e in app.events().values()}


def test_after_a_restore_the_calendar_shows_the_restored_dates(
    tmp_path: Path, radicale: Radicale, clock: FrozenClock
) -> None:
    settings = calendar_settings(tmp_path, radicale)
    services = build_services(settings, clock)
    app = CalendarApp(radicale)
    try:
        here = services.tasks.add("Send invoices Dec 10")  # date only: 09:00 Berlin
        there = services.tasks.add("Call the bank Dec 12 3pm")
        gone = services.tasks.add("Renew domain Dec 14")
        sync(services)
        info = services.backups.create()

        # after the backup: a move here, a move and a delete in the calendar, a new task
        services.tasks.edit(here.id, "Send invoices Dec 20")
        [uid] = [u for u, e in app.events().items() if str(e["summary"]) == "Call the bank"]
        app.move(uid, datetime(2026, 12, 15, 9, 0, tzinfo=UTC))
        [uid] = [u for u, e in app.events().items() if str(e["summary"]) == "Renew domain"]
        app.delete(uid)
        services.tasks.add("Written after the backup Dec 22")
        assert sync(services).applied == 2  # the calendar's move and delete, taken here
        assert set(starts(app)) == {"Send invoices", "Call the bank", "Written after the backup"}
    finally:
        services.close()

    restore_backup(info.path, settings)

    services = build_services(settings, clock)
    try:
        told, audited = notices(services), audit(services)
        done = sync(services)
        assert (done.applied, done.conflicts, done.pulled) == (0, 0, 0)
        restored = {
            "Send invoices": date(2026, 12, 10),
            "Call the bank": datetime(2026, 12, 12, 14, 0, tzinfo=UTC),
            "Renew domain": date(2026, 12, 14),
        }
        assert starts(app) == restored  # the task made after the backup left the calendar
        assert services.tasks.get(here.id).due_at == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
        assert services.tasks.get(there.id).due_at == datetime(2026, 12, 12, 14, 0, tzinfo=UTC)
        assert services.tasks.get(gone.id).title == "Renew domain"
        assert (notices(services), audit(services)) == (told, audited)  # nothing announced

        again = sync(services)  # the restored state is now the synced state
        assert (again.written, again.deleted, again.applied, again.pulled) == (0, 0, 0, 0)
        assert starts(app) == restored
        with services.sessions() as session:
            linked = sorted(session.scalars(select(CalendarLink.task_id)))
        assert linked == sorted([here.id, there.id, gone.id] * 2)  # events and to-dos
    finally:
        services.close()
