"""Two-way calendar sync against a real Radicale server (127.0.0.1, a temp folder, plain auth).

The owner's calendar app is played by the `caldav` client: it moves and deletes events the way
an app does (a PUT of the changed event, a DELETE), on the same server the bot syncs with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from caldav.davclient import DAVClient
from icalendar import Calendar, Event
from sqlalchemy import select

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.console.doctor import check_calendar, run_checks
from bot.db.calendar import CalendarLink
from bot.db.outbox import NOTICE, OutboxMessage
from bot.db.proposals import AuditEntry
from bot.errors import SettingsError
from bot.services.calendar_sync.records import Round
from bot.services.tasks.export import export_all, install_id, uid_of
from tests.conftest import make_settings
from tests.radicale_server import PASSWORD, USER, Radicale, free_port


class CalendarApp:
    """The owner's calendar app: reads, moves and deletes events on the server."""

    def __init__(self, server: Radicale, name: str = "microdesk") -> None:
        self.client = DAVClient(url=server.url + "/", username=USER, password=PASSWORD)
        self.name = name

    def calendar(self) -> Any:
        principal: Any = self.client.principal()  # type: ignore[no-untyped-call]
        [found] = [c for c in principal.calendars() if c.get_display_name() == self.name]
        return found

    def events(self) -> dict[str, Any]:
        """Each event's UID and its master VEVENT (overrides aside)."""
        found: dict[str, Any] = {}
        principal: Any = self.client.principal()  # type: ignore[no-untyped-call]
        if not any(c.get_display_name() == self.name for c in principal.calendars()):
            return found  # not made yet
        for obj in self.calendar().search():
            for event in Calendar.from_ical(obj.data).walk("VEVENT"):
                if "recurrence-id" not in event:
                    found[str(event["uid"])] = event
        return found

    def make(self, *components: str) -> None:
        """Make the calendar first, holding only these components (as iCloud's hold events)."""
        principal: Any = self.client.principal()  # type: ignore[no-untyped-call]
        principal.make_calendar(name=self.name, supported_calendar_component_set=list(components))

    def todos(self) -> dict[str, Any]:
        """Each to-do's UID and its VTODO."""
        found: dict[str, Any] = {}
        for obj in self.calendar().search(todo=True, include_completed=True):
            for todo in Calendar.from_ical(obj.data).walk("VTODO"):
                found[str(todo["uid"])] = todo
        return found

    def only(self) -> Any:
        [event] = self.events().values()
        return event

    def move(self, uid: str, start: date | datetime) -> None:
        event: Any = self.calendar().event_by_uid(uid)
        component = event.icalendar_component
        component.pop("dtstart")
        component.pop("dtend", None)
        component.add("dtstart", start)
        if not isinstance(start, datetime):
            component.add("dtend", start + timedelta(days=1))
        event.save()

    def delete(self, uid: str) -> None:
        self.calendar().event_by_uid(uid).delete()


def calendar_settings(tmp_path: Path, server: Radicale, **more: str) -> Settings:
    values = {
        "CALDAV_URL": server.url,  # the server's root: the calendar is found or made by name
        "CALDAV_USERNAME": USER,
        "CALDAV_PASSWORD": PASSWORD,
        "CALDAV_POLL": "1s",
    }
    return make_settings(tmp_path, **{**values, **more})


@pytest.fixture
def synced(tmp_path: Path, radicale: Radicale, clock: FrozenClock) -> Iterator[Services]:
    services = build_services(calendar_settings(tmp_path, radicale), clock)
    yield services
    services.close()


def sync(services: Services) -> Round:
    assert services.calendar is not None
    done = services.calendar.sync.run()
    assert done.error is None, done.error
    return done


def notices(services: Services) -> list[str]:
    query = select(OutboxMessage.text).where(OutboxMessage.kind == NOTICE)
    with services.sessions() as session:
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def audit(services: Services) -> list[tuple[str, str, str]]:
    with services.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.actor, r.action, r.detail) for r in rows]


def test_a_task_becomes_one_event_with_its_alarms_and_changes_follow_it(
    synced: Services, radicale: Radicale
) -> None:
    task = synced.tasks.add("Renew licence Dec 10 3pm")
    first = sync(synced)
    assert first.written == 2  # the event, and its to-do (Radicale holds VTODOs)
    app = CalendarApp(radicale)  # the calendar was made by name under the server's root
    event = app.only()
    assert str(event["summary"]) == "Renew licence"
    assert event.decoded("dtstart") == datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # 15:00 Berlin
    triggers = sorted(a.decoded("trigger") for a in event.walk("VALARM"))
    assert triggers == [timedelta(days=-7), timedelta(days=-1), timedelta(0)]

    again = sync(synced)  # nothing changed: nothing written, nothing read back
    assert (again.written, again.deleted, again.pulled, again.applied) == (0, 0, 0, 0)

    synced.tasks.edit(task.id, "Renew trade licence Dec 11 3pm")
    assert sync(synced).written == 2
    event = app.only()
    assert str(event["summary"]) == "Renew trade licence"
    assert event.decoded("dtstart") == datetime(2026, 12, 11, 14, 0, tzinfo=UTC)
    assert notices(synced) == []  # our own writes are not taken for the owner's moves

    synced.tasks.complete(task.id)
    assert sync(synced).deleted == 2
    assert app.events() == {}


def test_a_repeat_is_a_series_and_done_rolls_it(synced: Services, radicale: Radicale) -> None:
    task = synced.tasks.add("File VAT return every quarter due Jan 31")
    sync(synced)
    event = CalendarApp(radicale).only()
    assert event["rrule"]["FREQ"] == ["MONTHLY"] and event["rrule"]["INTERVAL"] == [3]
    assert event.decoded("dtstart") == date(2027, 1, 31)
    synced.tasks.complete(task.id)
    sync(synced)
    assert CalendarApp(radicale).only().decoded("dtstart") == date(2027, 4, 30)


def test_a_deleted_task_leaves_the_calendar(synced: Services, radicale: Radicale) -> None:
    keep = synced.tasks.add("Call the accountant Dec 2")
    gone = synced.tasks.add("Pay insurance Dec 3")
    sync(synced)
    assert len(CalendarApp(radicale).events()) == 2
    synced.tasks.delete(gone.id)
    assert sync(synced).deleted == 2  # its event and its to-do
    [event] = CalendarApp(radicale).events().values()
    assert str(event["summary"]) == keep.title
    with synced.sessions() as session:
        assert {link.task_id for link in session.scalars(select(CalendarLink))} == {keep.id}


def test_a_move_in_the_calendar_moves_the_task_audited_and_told(
    synced: Services, radicale: Radicale
) -> None:
    task = synced.tasks.add("Send invoices Dec 4")  # date only: 09:00 Berlin
    sync(synced)
    app = CalendarApp(radicale)
    [uid] = app.events()
    app.move(uid, date(2026, 12, 8))
    done = sync(synced)
    assert (done.applied, done.conflicts) == (1, 0)
    moved = synced.tasks.get(task.id)
    assert moved.due_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC) and not moved.has_time
    assert audit(synced)[-1][:2] == ("owner", "calendar move")
    assert notices(synced) == [
        f"🗓 You moved “Send invoices” in your calendar: task #{task.id} is now due Tue 8 Dec 2026."
    ]
    app.move(uid, datetime(2026, 12, 9, 16, 30, tzinfo=UTC))  # to a time of day
    sync(synced)
    moved = synced.tasks.get(task.id)
    assert moved.due_at == datetime(2026, 12, 9, 16, 30, tzinfo=UTC) and moved.has_time
    assert sync(synced).applied == 0  # told once; the rewrite of the event is not a move


def test_a_delete_in_the_calendar_deletes_the_task(synced: Services, radicale: Radicale) -> None:
    task = synced.tasks.add("Renew domain Dec 12")
    sync(synced)
    app = CalendarApp(radicale)
    [uid] = app.events()
    app.delete(uid)
    assert sync(synced).applied == 1
    assert [t.id for t in synced.tasks.list("all")] == []
    assert audit(synced)[-1][:2] == ("owner", "calendar delete")
    assert notices(synced)[-1] == (
        f"🗓 You deleted “Renew domain” in your calendar, so I deleted task #{task.id}."
    )
    assert sync(synced).applied == 0 and app.events() == {}


def test_a_change_on_both_sides_keeps_microdesks_version_and_says_so(
    synced: Services, radicale: Radicale
) -> None:
    task = synced.tasks.add("Quarterly report Dec 15 10am")
    sync(synced)
    app = CalendarApp(radicale)
    [uid] = app.events()
    app.move(uid, datetime(2026, 12, 20, 9, 0, tzinfo=UTC))
    synced.tasks.edit(task.id, "Quarterly report Dec 16 11am")  # changed here too
    done = sync(synced)
    assert (done.applied, done.conflicts) == (0, 1)
    kept = synced.tasks.get(task.id)
    assert kept.due_at == datetime(2026, 12, 16, 10, 0, tzinfo=UTC)  # 11:00 Berlin
    assert app.only().decoded("dtstart") == datetime(2026, 12, 16, 10, 0, tzinfo=UTC)
    [told] = notices(synced)
    assert "changed both here and in your calendar" in told and "kept microdesk's" in told
    assert audit(synced)[-1][:2] == ("owner", "calendar conflict")
    assert sync(synced).conflicts == 0


def test_a_deleted_event_whose_task_changed_here_comes_back(
    synced: Services, radicale: Radicale
) -> None:
    task = synced.tasks.add("Book the venue Dec 18")
    sync(synced)
    app = CalendarApp(radicale)
    app.delete(next(iter(app.events())))
    synced.tasks.edit(task.id, "Book the big venue")
    assert sync(synced).conflicts == 1
    assert synced.tasks.get(task.id).title == "Book the big venue"
    assert str(app.only()["summary"]) == "Book the big venue"


def test_a_wrong_password_is_one_sentence_naming_the_setting_told_once(
    tmp_path: Path, radicale: Radicale, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = calendar_settings(tmp_path, radicale, CALDAV_PASSWORD="not-the-password")
    services = build_services(settings, clock)
    try:
        services.tasks.add("Renew licence Dec 10")
        assert services.calendar is not None
        with caplog.at_level(logging.DEBUG):
            first = services.calendar.sync.run()
            second = services.calendar.sync.run()
        expected = (
            "The calendar server refused the login: check CALDAV_USERNAME and CALDAV_PASSWORD."
        )
        assert first.error == second.error == expected
        [told] = notices(services)
        assert expected in told and "reminders go on" in told
        assert "not-the-password" not in caplog.text
    finally:
        services.close()


def test_the_sync_catches_up_after_the_server_was_down(
    synced: Services, radicale: Radicale
) -> None:
    sync(synced)
    radicale.stop()
    task = synced.tasks.add("Pay rent Dec 1")
    assert synced.calendar is not None
    down = synced.calendar.sync.run()
    assert down.error == "The calendar server at CALDAV_URL can't be reached right now."
    assert len(notices(synced)) == 1
    radicale.start()
    back = sync(synced)
    assert back.written == 2 and str(CalendarApp(radicale).only()["summary"]) == task.title
    assert notices(synced)[-1] == "🗓 Calendar sync works again."


def test_doctor_checks_the_calendar_and_names_a_wrong_password(
    tmp_path: Path, radicale: Radicale
) -> None:
    good = calendar_settings(tmp_path, radicale)
    first = check_calendar(good)
    assert first.ok and "made at the first sync" in first.detail  # doctor made nothing
    assert CalendarApp(radicale).events() == {}
    CalendarApp(radicale).client.principal().make_calendar(name="microdesk")  # type: ignore[no-untyped-call]
    fine = check_calendar(good)
    assert fine.ok and fine.detail == "“microdesk” is reachable, logged in and writable"
    assert CalendarApp(radicale).events() == {}  # the probe event was deleted again

    wrong = calendar_settings(
        tmp_path, radicale, CALDAV_PASSWORD="wrong-pass-0123", TELEGRAM_API_BASE_URL=closed()
    )
    report = asyncio.run(run_checks(lambda: wrong, min_free_bytes=1))
    [calendar] = [c for c in report if c.name == "calendar"]
    assert not calendar.ok
    assert calendar.detail == (
        "The calendar server refused the login: check CALDAV_USERNAME and CALDAV_PASSWORD."
    )
    assert "CALDAV_PASSWORD" in calendar.fix
    assert all("wrong-pass-0123" not in c.detail + c.fix for c in report)

    radicale.stop()
    down = check_calendar(good)
    assert not down.ok and "CALDAV_URL" in down.detail


def closed() -> str:
    """A local URL nothing answers at (doctor's Telegram check fails fast, offline)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CALDAV_POLL", "soon", "Bad setting CALDAV_POLL: expected a duration such as 30s"),
        ("CALDAV_POLL", "0s", "Bad setting CALDAV_POLL"),
        ("CALDAV_URL", "nas.local/caldav", "Bad setting CALDAV_URL: must start with http"),
        ("FEED_PORT", "99999", "Bad setting FEED_PORT"),
    ],
)
def test_a_bad_calendar_setting_fails_the_start_with_one_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings(tmp_path, **{name: value})
    assert str(caught.value).startswith(says) and "\n" not in str(caught.value)


def test_the_poll_reads_seconds_minutes_and_hours(tmp_path: Path) -> None:
    assert make_settings(tmp_path).caldav_poll == timedelta(minutes=2)
    assert make_settings(tmp_path, CALDAV_POLL="30s").caldav_poll == timedelta(seconds=30)
    assert make_settings(tmp_path, CALDAV_POLL="1h").caldav_poll == timedelta(hours=1)
    unset = make_settings(tmp_path, CALDAV_URL="", FEED_PORT="")
    assert unset.CALDAV_URL is None and unset.FEED_PORT is None
    secret = make_settings(tmp_path, CALDAV_PASSWORD="pw-1234")
    assert "pw-1234" in secret.secrets()


def test_moving_only_the_due_occurrence_of_a_series_moves_the_task(
    synced: Services, radicale: Radicale
) -> None:
    task = synced.tasks.add("File VAT return every quarter due Jan 31")
    sync(synced)
    event: Any = (
        CalendarApp(radicale).calendar().event_by_uid(next(iter(CalendarApp(radicale).events())))
    )
    cal = event.icalendar_instance
    master = next(c for c in cal.walk("VEVENT") if "recurrence-id" not in c)
    this_one = Event()  # "this event only", as calendar apps write it: an override
    for key in ("uid", "summary", "dtstamp"):
        this_one.add(key, master.decoded(key))
    this_one.add("recurrence-id", date(2027, 1, 31))
    this_one.add("dtstart", date(2027, 2, 2))
    this_one.add("dtend", date(2027, 2, 3))
    cal.add_component(this_one)
    event.save()
    assert sync(synced).applied == 1
    moved = synced.tasks.get(task.id)
    assert dates_local(moved.due_at) == datetime(2027, 2, 2, 9, 0)
    assert moved.repeat_rule == task.repeat_rule  # the series itself keeps its rule and anchor


def dates_local(at: datetime | None) -> datetime:
    from zoneinfo import ZoneInfo

    assert at is not None
    return at.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)


def test_a_calendar_deleted_on_the_server_is_made_again_with_every_task(
    synced: Services, radicale: Radicale
) -> None:
    synced.tasks.add("Renew licence Dec 10")
    sync(synced)
    CalendarApp(radicale).calendar().delete()
    assert synced.calendar is not None
    assert synced.calendar.sync.run().error is not None  # this round finds it gone
    again = sync(synced)
    assert again.written == 2 and str(CalendarApp(radicale).only()["summary"]) == "Renew licence"
    assert notices(synced) == []  # nothing for the owner to fix


def test_uids_carry_the_install_id_and_older_events_are_replaced_once(
    synced: Services, radicale: Radicale
) -> None:
    assert synced.calendar is not None
    moved = synced.tasks.add("Send invoices Dec 4")
    kept = synced.tasks.add("Call the bank Dec 5")
    app = CalendarApp(radicale)
    app.make("VEVENT")  # events only, as versions before the install id wrote them
    synced.calendar.sync._install_id = ""  # and their UIDs
    sync(synced)
    assert set(app.events()) == {f"task-{moved.id}@microdesk", f"task-{kept.id}@microdesk"}
    app.move(f"task-{moved.id}@microdesk", date(2026, 12, 8))  # the owner, before the upgrade

    synced.calendar.sync._install_id = None  # this version
    done = sync(synced)
    assert (done.applied, done.written, done.deleted) == (1, 2, 2)
    install = install_id(synced.sessions)
    uids = {uid_of(t, install) for t in (moved, kept)}
    assert set(app.events()) == uids  # each event once, under the export's own UID
    exported = export_all(synced.sessions, synced.prefs.tz, synced.clock.now()).ics
    assert uids == {str(e["uid"]) for e in Calendar.from_ical(exported).walk("VEVENT")}
    assert app.events()[uid_of(moved, install)].decoded("dtstart") == date(2026, 12, 8)
    with synced.sessions() as session:
        assert set(session.scalars(select(CalendarLink.uid))) == uids

    again = sync(synced)
    assert (again.written, again.deleted, again.pulled, again.applied) == (0, 0, 0, 0)
    app.move(uid_of(kept, install), date(2026, 12, 9))  # the new events come back as before
    assert sync(synced).applied == 1
    assert dates_local(synced.tasks.get(kept.id).due_at).date() == date(2026, 12, 9)


def components(app: CalendarApp) -> list[str]:
    """The component of every object in the calendar, as the server holds them."""
    found: Any = app.calendar().get_objects_by_sync_token(None, load_objects=False)
    got = [app.client.request(str(o.url), "GET") for o in found.objects]
    bodies = [r.raw for r in got if r.status == 200]  # a deleted one may still be listed
    return sorted(
        str(c.name) for body in bodies for c in Calendar.from_ical(body).subcomponents
        if c.name != "VTIMEZONE"
    )  # fmt: skip


def test_a_task_is_also_a_todo_where_the_calendar_holds_them(
    synced: Services, radicale: Radicale
) -> None:
    timed = synced.tasks.add("Renew licence Dec 10 3pm")
    repeat = synced.tasks.add("File VAT return every quarter due Jan 31")
    sync(synced)
    app = CalendarApp(radicale)
    assert components(app) == ["VEVENT", "VEVENT", "VTODO", "VTODO"]
    install = install_id(synced.sessions)
    todos = app.todos()
    todo = todos[f"todo-{timed.id}-{install}@microdesk"]
    assert str(todo["summary"]) == "Renew licence" and str(todo["status"]) == "NEEDS-ACTION"
    assert todo.decoded("due") == datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # 15:00 Berlin
    assert todos[f"todo-{repeat.id}-{install}@microdesk"].decoded("due") == date(2027, 1, 31)

    synced.tasks.edit(timed.id, "Renew trade licence Dec 11 3pm")
    synced.tasks.complete(repeat.id)  # the series rolls: the to-do is the next occurrence
    assert sync(synced).written == 4
    todos = app.todos()
    assert str(todos[f"todo-{timed.id}-{install}@microdesk"]["summary"]) == "Renew trade licence"
    assert todos[f"todo-{timed.id}-{install}@microdesk"].decoded("due") == datetime(
        2026, 12, 11, 14, 0, tzinfo=UTC
    )
    assert todos[f"todo-{repeat.id}-{install}@microdesk"].decoded("due") == date(2027, 4, 30)

    ticked: Any = app.calendar().todo_by_uid(f"todo-{timed.id}-{install}@microdesk")
    ticked.complete()  # ticked off in a task app: a copy, not read back
    done = sync(synced)
    assert (done.applied, done.conflicts, done.written) == (0, 0, 0)
    assert synced.tasks.get(timed.id).status == "open" and notices(synced) == []

    synced.tasks.complete(timed.id)  # done here: the event and the to-do leave together
    assert sync(synced).deleted == 2
    assert components(app) == ["VEVENT", "VTODO"]
    assert set(app.todos()) == {f"todo-{repeat.id}-{install}@microdesk"}


def test_a_calendar_without_todos_gets_events_only(synced: Services, radicale: Radicale) -> None:
    app = CalendarApp(radicale)
    app.make("VEVENT")  # the owner's calendar, made for events only
    task = synced.tasks.add("Renew licence Dec 10 3pm")
    assert sync(synced).written == 1
    assert components(app) == ["VEVENT"]
    synced.tasks.edit(task.id, "Renew trade licence")
    assert sync(synced).written == 1
    assert components(app) == ["VEVENT"]
