"""Calendar and CSV export: the .ics is parsed back with icalendar and checked against the bot's
own dates (every deadline, every repeat rolled by /done, DST, month ends); /export over the fake
Bot API; `microdesk export` on the command line."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar, Event

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.db.models import Task
from bot.services.tasks import export
from tests.conftest import OWNER, make_settings
from tests.fakes.botapi import FakeBotAPI

BERLIN = ZoneInfo("Europe/Berlin")


def parse(services: Services) -> Calendar:
    data = export.export_all(services.sessions, services.prefs.tz, services.clock.now()).ics
    assert b"\r\n" in data and all(len(line) <= 75 for line in data.split(b"\r\n"))
    return Calendar.from_ical(data)


def events(cal: Calendar) -> dict[str, Event]:
    """Events by UID with the install's id left out (``task-3@microdesk``); a moved occurrence
    (an override with RECURRENCE-ID) as ``task-3-moved@microdesk``."""
    found: dict[str, Event] = {}
    for event in cal.walk("VEVENT"):
        uid = re.sub(r"^(task-\d+)-[0-9a-f]{12}@", r"\1@", str(event["UID"]))
        if "RECURRENCE-ID" in event:
            uid = uid.replace("@", "-moved@")
        assert uid not in found, uid
        found[uid] = event
    return found


def expand(event: Event, count: int) -> list[datetime | date]:
    """The first `count` occurrences of the event, as a calendar app computes them."""
    start = event.decoded("DTSTART")
    all_day = not isinstance(start, datetime)
    first = datetime.combine(start, time()) if all_day else start
    rule = event["RRULE"].to_ical().decode()
    found = list(islice(rrulestr(rule, dtstart=first), count))
    return [d.date() if all_day else d for d in found]


def rolled(services: Services, task: Task, count: int) -> list[datetime]:
    """The task's next `count` due instants, by marking it done again and again."""
    assert task.due_at is not None
    dues = [task.due_at]
    for _ in range(count - 1):
        nxt = services.tasks.complete(task.id).next_due
        assert nxt is not None
        dues.append(nxt)
    return dues


def test_every_deadline_and_repeat_matches_the_bot(services: Services) -> None:
    vat = services.tasks.add("File VAT return every quarter due Jan 31")
    payroll = services.tasks.add("Run payroll every month on the 31st due Jan 31 10am")
    call = services.tasks.add("Call accountant every week due Mar 19 2027 at 9am")
    rent = services.tasks.add("Pay rent monthly on the 1st due Dec 1")
    invoice = services.tasks.add("Send invoice to Acme @maria tomorrow 3pm")
    services.tasks.add("Think about pricing")  # no date: not in the calendar
    found = events(parse(services))
    assert set(found) == {f"task-{t.id}@microdesk" for t in (vat, payroll, call, rent, invoice)}

    vat_event = found[f"task-{vat.id}@microdesk"]
    assert (
        vat_event["RRULE"].to_ical()
        == b"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"
    )
    assert vat_event.decoded("DTSTART") == date(2027, 1, 31)
    assert vat_event.decoded("DTEND") == date(2027, 2, 1)

    for task in (vat, rent):  # all-day: the local dates of the bot's own rolls
        days = expand(found[f"task-{task.id}@microdesk"], 6)
        assert days == [d.astimezone(BERLIN).date() for d in rolled(services, task, 6)]
    assert expand(vat_event, 5)[1:4] == [date(2027, 4, 30), date(2027, 7, 31), date(2027, 10, 31)]

    for task in (payroll, call):  # timed: the same instants, across DST
        starts = expand(found[f"task-{task.id}@microdesk"], 6)
        assert [s.astimezone(UTC) for s in starts] == rolled(services, task, 6)
    call_starts = expand(found[f"task-{call.id}@microdesk"], 3)
    assert [s.astimezone(UTC).hour for s in call_starts] == [8, 8, 7]  # CET, CET, CEST (Mar 28)
    assert found[f"task-{call.id}@microdesk"]["DTSTART"].params["TZID"] == "Europe/Berlin"
    payroll_days = [s.date() for s in expand(found[f"task-{payroll.id}@microdesk"], 4)]
    assert payroll_days == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]

    one_off = found[f"task-{invoice.id}@microdesk"]
    assert "RRULE" not in one_off
    assert one_off.decoded("DTSTART").astimezone(UTC) == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    assert str(one_off["SUMMARY"]) == "Send invoice to Acme" and "@maria" in one_off["DESCRIPTION"]


def test_a_vtimezone_is_included_and_utc_is_written_as_z(services: Services) -> None:
    services.tasks.add("Send invoice to Acme tomorrow 3pm")
    cal = parse(services)
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert {str(cal[k]) for k in ("VERSION", "PRODID")} == {"2.0", export.PRODID}
    with services.sessions() as session:
        tasks = session.query(Task).all()
    utc = export.calendar(tasks, ZoneInfo("UTC"), services.clock.now())
    assert b"DTSTART:20261126T140000Z" in utc and b"VTIMEZONE" not in utc


def test_alarms_fire_with_the_reminder_ladder(services: Services) -> None:
    timed = services.tasks.add("Send invoice to Acme Dec 10 3pm")
    dated = services.tasks.add("Renew licence Dec 10")
    found = events(parse(services))
    for task in (timed, dated):
        event = found[f"task-{task.id}@microdesk"]
        start = event.decoded("DTSTART")
        if not isinstance(start, datetime):
            start = datetime.combine(start, time(), tzinfo=BERLIN)
        fires = sorted(start + a.decoded("TRIGGER") for a in event.walk("VALARM"))
        assert task.due_at is not None
        assert fires == [
            task.due_at - timedelta(days=7),
            task.due_at - timedelta(days=1),
            task.due_at,
        ]
        assert {str(a["ACTION"]) for a in event.walk("VALARM")} == {"DISPLAY"}


def test_a_snoozed_repeat_is_one_event_with_the_moved_occurrence_overridden(
    services: Services,
) -> None:
    rent = services.tasks.add("Pay rent monthly on the 1st due Dec 1")
    services.tasks.snooze(rent.id, "Dec 3")
    found = events(parse(services))
    moved = found[f"task-{rent.id}-moved@microdesk"]
    series = found[f"task-{rent.id}@microdesk"]
    assert str(moved["UID"]) == str(series["UID"])  # one event, not a second copy
    assert moved.decoded("RECURRENCE-ID") == date(2026, 12, 1)
    assert moved.decoded("DTSTART") == date(2026, 12, 3) and "RRULE" not in moved
    assert expand(series, 3) == [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    assert moved.decoded("SEQUENCE") > 0
    next_due = services.tasks.complete(rent.id).next_due  # the bot agrees: back on the 1st
    assert next_due is not None and next_due.astimezone(BERLIN).date() == date(2027, 1, 1)


def test_uids_are_stable_and_done_tasks_leave_the_calendar(services: Services) -> None:
    keep = services.tasks.add("Renew licence Dec 10")
    gone = services.tasks.add("Send invoice tomorrow")
    before = set(events(parse(services)))
    services.tasks.edit(keep.id, "Renew trade licence Dec 12")
    services.tasks.complete(gone.id)
    after = events(parse(services))
    assert set(after) == {f"task-{keep.id}@microdesk"} and set(after) < before
    assert after[f"task-{keep.id}@microdesk"].decoded("DTSTART") == date(2026, 12, 12)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_lists_every_task_and_its_done_history_in_local_time(
    services: Services, clock: FrozenClock
) -> None:
    vat = services.tasks.add("File VAT return every quarter due Jan 31")
    invoice = services.tasks.add("Send invoice to Acme @maria tomorrow 3pm")
    services.tasks.add('=HYPERLINK(1) plan 💶, "quoted"')
    clock.advance(timedelta(hours=2))
    services.tasks.complete(invoice.id)
    services.tasks.complete(vat.id)  # rolls to Apr 30; Jan 31 is history
    data = export.export_all(services.sessions, services.prefs.tz, clock.now()).csv
    rows = csv_rows(data)
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert rows[0] == {
        "id": str(vat.id),
        "title": "File VAT return",
        "assignee": "",
        "due_date": "2027-01-31",
        "due_time": "",
        "repeat": "every quarter",
        "status": "done",
        "created": "2026-11-25 11:00",
        "done": "2026-11-25 13:00",
    }
    assert (rows[1]["due_date"], rows[1]["status"], rows[1]["done"]) == ("2027-04-30", "open", "")
    assert (rows[2]["due_date"], rows[2]["due_time"], rows[2]["status"], rows[2]["done"]) == (
        "2026-11-26",
        "15:00",
        "done",
        "2026-11-25 13:00",
    )
    assert rows[2]["assignee"] == "maria" and len(rows) == 4  # the done invoice once, not twice
    assert rows[3]["title"] == '\'=HYPERLINK(1) plan 💶, "quoted"' and rows[3]["due_date"] == ""


# --- /export over the fake Bot API ------------------------------------------------------------


@pytest.fixture
async def bot_services(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> Iterator[Services]:
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url)
    services = build_services(settings, clock)
    yield services
    services.close()


async def test_export_command_sends_both_files(bot_services: Services, botapi: FakeBotAPI) -> None:
    from bot.tg.app import TelegramAdapter

    task = bot_services.tasks.add("File VAT return every quarter due Jan 31")
    adapter = TelegramAdapter(bot_services, tick_seconds=60)
    await adapter.startup(poll_timeout=1)
    try:
        botapi.send_message("/export", user_id=OWNER)
        sent = await botapi.wait_for(lambda: len(botapi.calls_to("sendDocument")) >= 2 or None)
    finally:
        await adapter.shutdown()
    assert sent
    calls = botapi.calls_to("sendDocument")
    assert [c.files["document"].filename for c in calls] == [
        "microdesk-2026-11-25.ics",
        "microdesk-2026-11-25.csv",
    ]
    assert all(c.params["chat_id"] == OWNER and c.status == 200 for c in calls)
    ics, table = (c.files["document"].content for c in calls)
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert re.fullmatch(rf"task-{task.id}-[0-9a-f]{{12}}@microdesk", str(event["UID"]))
    assert [r["title"] for r in csv_rows(table)] == ["File VAT return"]
    assert "1 deadline as a calendar" in calls[0].params["caption"]
    assert "export" in [c["command"] for c in botapi.my_commands()]


# --- the command line ---------------------------------------------------------------------------


def test_cli_export_writes_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    settings = make_settings(tmp_path / "data")
    services = build_services(settings, FrozenClock(datetime.now(UTC)))
    services.tasks.add("Renew licence every year due Mar 1")
    services.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    ics, table = tmp_path / "out" / "deadlines.ics", tmp_path / "out" / "tasks.csv"
    ics.parent.mkdir()
    assert main(["export", "--ics", str(ics), "--csv", str(table)]) == 0
    [event] = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert event["RRULE"].to_ical() == b"FREQ=YEARLY"
    assert csv_rows(table.read_bytes())[0]["repeat"] == "every year"
    assert "wrote 1 deadline(s)" in capsys.readouterr().err
    assert sorted(p.name for p in ics.parent.iterdir()) == ["deadlines.ics", "tasks.csv"]
    with pytest.raises(SystemExit) as exited:
        main(["export"])
    assert exited.value.code == 2


def import_into(store: dict[tuple[str, str], Event], ics: bytes) -> None:
    """What a calendar app does on import: an event with a known UID (and RECURRENCE-ID)
    replaces the stored one when its SEQUENCE is not lower; anything else is added."""
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        key = (str(event["UID"]), str(event.get("RECURRENCE-ID", "")))
        old = store.get(key)
        if old is None or int(event.get("SEQUENCE", 0)) >= int(old.get("SEQUENCE", 0)):
            store[key] = event


def occurrences(store: dict[tuple[str, str], Event], start: date, end: date) -> list[tuple]:
    import recurring_ical_events

    cal = Calendar()
    for event in store.values():
        cal.add_component(event)
    found = recurring_ical_events.of(cal).between(start, end)
    return sorted((str(e["SUMMARY"]), str(e.decoded("DTSTART"))) for e in found)


def test_importing_two_exports_updates_instead_of_duplicating(
    services: Services, tmp_path: Path, clock: FrozenClock
) -> None:
    rent = services.tasks.add("Pay rent monthly on the 1st due Dec 1")
    meeting = services.tasks.add("Team meeting Monday 9am")
    store: dict[tuple[str, str], Event] = {}
    first = export.export_all(services.sessions, services.prefs.tz, clock.now()).ics
    import_into(store, first)
    before = {str(e["UID"]): int(e["SEQUENCE"]) for e in Calendar.from_ical(first).walk("VEVENT")}

    services.tasks.snooze(rent.id, "Dec 3")  # one occurrence moves
    services.tasks.edit(meeting.id, "Team meeting with Ann")
    second = export.export_all(services.sessions, services.prefs.tz, clock.now()).ics
    import_into(store, second)
    import_into(store, second)  # importing the same file again changes nothing

    seen = occurrences(store, date(2026, 11, 25), date(2027, 2, 2))
    assert seen == [
        ("Pay rent", "2026-12-03"),  # the moved occurrence, once; not also on Dec 1
        ("Pay rent", "2027-01-01"),
        ("Pay rent", "2027-02-01"),
        ("Team meeting with Ann", "2026-11-30 09:00:00+01:00"),
    ]
    after = Calendar.from_ical(second).walk("VEVENT")
    assert all(int(e["SEQUENCE"]) > before[str(e["UID"])] for e in after)
    timed = [e for e in after if "meeting" in str(e["SUMMARY"])]
    assert timed[0].decoded("DTEND") - timed[0].decoded("DTSTART") == export.TIMED_LENGTH

    other = build_services(make_settings(tmp_path / "other"), clock)  # another install
    try:
        other.tasks.add("Pay rent monthly on the 1st due Dec 1")
        theirs = export.export_all(other.sessions, other.prefs.tz, clock.now()).ics
        uids = {str(e["UID"]) for e in Calendar.from_ical(theirs).walk("VEVENT")}
        assert uids.isdisjoint(before)
    finally:
        other.close()
