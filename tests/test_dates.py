"""Reading /add and /snooze texts, and rolling repeats, in the business's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.tasks import dates
from bot.services.tasks.dates import (
    DateParseError,
    EmptyTitleError,
    describe_rule,
    from_local,
    next_occurrence,
    parse_task_text,
    parse_when,
    to_local,
)
from bot.services.tasks.repeats import ics_rule

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday; 11:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")


def local(at_utc: datetime, tz: ZoneInfo = BERLIN) -> str:
    assert at_utc.utcoffset() == timedelta(0)
    return f"{to_local(at_utc, tz):%Y-%m-%d %H:%M}"


def due_of(text: str, now: datetime = NOW, tz: ZoneInfo = BERLIN) -> tuple[str, str, bool]:
    parsed = parse_task_text(text, now, tz)
    assert parsed.due is not None, text
    return parsed.title, local(parsed.due.at_utc, tz), parsed.due.has_time


@pytest.mark.parametrize(
    ("text", "title", "when", "has_time"),
    [
        ("Call Bob coming friday 3pm", "Call Bob", "2026-11-27 15:00", True),
        ("Call Bob friday", "Call Bob", "2026-11-27 09:00", False),
        ("Pay rent Jan 31", "Pay rent", "2027-01-31 09:00", False),
        ("Pay rent 31 Jan", "Pay rent", "2027-01-31 09:00", False),
        ("Pay rent 2027-01-31", "Pay rent", "2027-01-31 09:00", False),
        ("Review offer in 2 weeks", "Review offer", "2026-12-09 09:00", False),
        ("Chase invoice in 3 days", "Chase invoice", "2026-11-28 09:00", False),
        ("Call Bob tomorrow", "Call Bob", "2026-11-26 09:00", False),
        ("Call Bob tomorrow 9:30", "Call Bob", "2026-11-26 09:30", True),
        ("Ship parcel today 5pm", "Ship parcel", "2026-11-25 17:00", True),
        ("Order stock on 15 March", "Order stock", "2027-03-15 09:00", False),
        ("Send quote by Dec 1", "Send quote", "2026-12-01 09:00", False),
        ("Pay supplier due Jan 31", "Pay supplier", "2027-01-31 09:00", False),
        ("Close the books end of month", "Close the books", "2026-11-30 09:00", False),
        ("Meet Ann at 3pm tomorrow", "Meet Ann", "2026-11-26 15:00", True),
        ("Meet Ann on Monday at 10am", "Meet Ann", "2026-11-30 10:00", True),
        ("Call Sam in 2 hours", "Call Sam", "2026-11-25 13:00", True),
        ("Gym tonight", "Gym", "2026-11-25 20:00", True),
        ("Renew domain March 2027", "Renew domain", "2027-03-01 09:00", False),
        ("Pay rent on the 1st", "Pay rent", "2026-12-01 09:00", False),
        ("Pay rent Jan 31, 2027", "Pay rent", "2027-01-31 09:00", False),
    ],
)
def test_trailing_dates_are_read_in_the_local_zone(
    text: str, title: str, when: str, has_time: bool
) -> None:
    assert due_of(text) == (title, when, has_time)


@pytest.mark.parametrize(("tz", "utc_hour"), [(UTC_ZONE, 9), (BERLIN, 8), (NEW_YORK, 14)])
def test_a_date_only_due_is_stored_at_nine_local_in_utc(tz: ZoneInfo, utc_hour: int) -> None:
    parsed = parse_task_text("File VAT Jan 31", NOW, tz)
    assert parsed.due == dates.Due(datetime(2027, 1, 31, utc_hour, tzinfo=UTC), has_time=False)


def test_the_local_date_not_the_utc_date_decides_tomorrow() -> None:
    late_evening_in_new_york = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Nov 24, 22:00 local
    _, when, _ = due_of("Call Bob tomorrow", late_evening_in_new_york, NEW_YORK)
    assert when == "2026-11-25 09:00"


def test_a_weekday_said_on_that_day_is_asked_and_next_is_a_week_later() -> None:
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    with pytest.raises(dates.DateQuestion) as asked:  # today, or a week from today?
        parse_task_text("Send invoice friday", friday, BERLIN)
    shown = [local(due.at_utc) for _, due in asked.value.choices if due]
    assert shown == ["2026-11-27 09:00", "2026-12-04 09:00"]
    assert due_of("Send invoice next friday", friday)[1] == "2026-12-04 09:00"
    assert due_of("Send invoice friday 3pm", friday)[1] == "2026-11-27 15:00"


def test_a_weekday_time_already_gone_today_means_next_week() -> None:
    friday_afternoon = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    assert due_of("Call Bob friday 3pm", friday_afternoon)[1] == "2026-12-04 15:00"


def test_a_month_day_said_on_that_day_is_today() -> None:
    jan_31 = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert due_of("File VAT Jan 31", jan_31)[1:] == ("2027-01-31 09:00", False)


def test_a_bare_time_already_gone_means_tomorrow() -> None:
    evening = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 19:00 in Berlin
    assert due_of("Call mom 5pm", evening)[1:] == ("2026-11-26 17:00", True)


def test_today_with_a_time_already_gone_is_in_the_past() -> None:
    evening = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    with pytest.raises(DateParseError, match="in the past"):
        parse_task_text("Ship parcel today 5pm", evening, BERLIN)


def test_today_without_a_time_is_fine_even_after_nine() -> None:
    assert due_of("Ship parcel today", datetime(2026, 11, 25, 20, tzinfo=UTC))[1:] == (
        "2026-11-25 09:00",
        False,
    )


@pytest.mark.parametrize(
    "text",
    [
        "Call Bob",
        "Ask May about the report",
        "Renew licence 2027",
        "Sit in the sun",
        "Sun lotion for the stand",
        "Book sat",
        "March madness tickets",
        "Post 2 weeks",
        "1st draft of the book",
        "Check every day's sales",
        "Morning run",
        "Meeting room 10",
    ],
)
def test_title_words_are_not_taken_for_dates(text: str) -> None:
    parsed = parse_task_text(text, NOW, BERLIN)
    assert (parsed.title, parsed.due, parsed.rule) == (text, None, None)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Ask May tomorrow", "Ask May"),
        ("Send 3 invoices tomorrow", "Send 3 invoices"),
        ("Book table for 2 at 8pm", "Book table for 2"),
        ("Pay invoice 2024 Jan 31", "Pay invoice 2024"),
        ("Turn the lights on tomorrow", "Turn the lights on"),
        ("Log in tomorrow", "Log in"),
        ("tomorrow call Bob", "call Bob"),
        ("Jan 31 file VAT", "file VAT"),
    ],
)
def test_only_the_date_words_leave_the_title(text: str, title: str) -> None:
    assert due_of(text)[0] == title


def test_assignee_is_taken_out_and_lower_cased() -> None:
    parsed = parse_task_text("Edit promo video @Maria friday", NOW, BERLIN)
    assert (parsed.title, parsed.assignee) == ("Edit promo video", "maria")
    assert parsed.due is not None
    assert local(parsed.due.at_utc) == "2026-11-27 09:00"
    assert parse_task_text("Edit promo video", NOW, BERLIN).assignee is None


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Call Bob yesterday", "Tuesday 24 November 2026"),
        ("Pay 2020-01-01", "Wednesday 1 January 2020"),
        ("Pay Jan 31 2020", "Friday 31 January 2020"),
    ],
)
def test_past_dates_are_refused_with_a_sentence(text: str, shown: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_task_text(text, NOW, BERLIN)
    assert str(caught.value) == f"That date is in the past: {shown}."


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("File VAT every quarter Jan 31", "FREQ=MONTHLY;INTERVAL=3"),
        ("File VAT quarterly Jan 31", "FREQ=MONTHLY;INTERVAL=3"),
        ("File VAT monthly Jan 31", "FREQ=MONTHLY"),
        ("File VAT every month Jan 31", "FREQ=MONTHLY"),
        ("File VAT yearly Jan 31", "FREQ=YEARLY"),
        ("File VAT annually Jan 31", "FREQ=YEARLY"),
        ("File VAT every year Jan 31", "FREQ=YEARLY"),
        ("File VAT weekly friday", "FREQ=WEEKLY"),
        ("File VAT every week friday", "FREQ=WEEKLY"),
        ("File VAT every 2 weeks friday", "FREQ=WEEKLY;INTERVAL=2"),
        ("File VAT every other week friday", "FREQ=WEEKLY;INTERVAL=2"),
        ("File VAT daily", "FREQ=DAILY"),
        ("File VAT every day", "FREQ=DAILY"),
        ("File VAT every monday", "FREQ=WEEKLY;BYDAY=MO"),
        ("File VAT every mon and thu", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("File VAT monthly on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("File VAT every month on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("File VAT monthly on the 15th at 8am", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("File VAT every quarter on the 15th", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15"),
        ("File VAT weekly on monday", "FREQ=WEEKLY;BYDAY=MO"),
        ("File VAT every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ],
)
def test_repeats_become_rules_and_leave_the_title(text: str, rule: str) -> None:
    parsed = parse_task_text(text, NOW, BERLIN)
    assert (parsed.title, parsed.rule) == ("File VAT", rule)


def test_the_spec_example() -> None:
    parsed = parse_task_text("File VAT return every quarter due Jan 31", NOW, BERLIN)
    assert parsed == dates.ParsedTask(
        title="File VAT return",
        due=dates.Due(datetime(2027, 1, 31, 8, tzinfo=UTC), has_time=False),
        rule="FREQ=MONTHLY;INTERVAL=3",
        assignee=None,
    )


@pytest.mark.parametrize(
    ("text", "when", "has_time"),
    [
        ("Pay rent monthly on the 15th", "2026-12-15 09:00", False),
        ("Team call every monday", "2026-11-30 09:00", False),
        ("Team call every monday at 10am", "2026-11-30 10:00", True),
        ("Team call every wednesday at 10am", "2026-12-02 10:00", True),  # 10:00 today is gone
        ("Check till daily", "2026-11-25 09:00", False),
        ("Pay rent monthly on the 15th at 8am", "2026-12-15 08:00", True),
        ("Pay VAT every quarter on the 15th", "2026-12-15 09:00", False),
    ],
)
def test_a_rule_that_names_the_day_gives_the_first_due(
    text: str, when: str, has_time: bool
) -> None:
    assert due_of(text)[1:] == (when, has_time)


def test_a_monthly_day_that_is_today_starts_today() -> None:
    on_the_15th = datetime(2026, 12, 15, 12, tzinfo=UTC)
    assert due_of("Pay rent monthly on the 15th", on_the_15th)[1] == "2026-12-15 09:00"


def test_an_adjective_inside_the_title_is_not_a_repeat() -> None:
    parsed = parse_task_text("Send monthly report friday", NOW, BERLIN)
    assert (parsed.title, parsed.rule) == ("Send monthly report", None)


def test_a_repeat_without_a_first_date_asks_for_one() -> None:
    with pytest.raises(DateParseError) as caught:
        parse_task_text("File VAT every quarter", NOW, BERLIN)
    assert str(caught.value) == (
        "When is it first due? Add a date, e.g. “… every quarter due Jan 31”."
    )


def test_emoji_rtl_and_html_stay_in_the_title() -> None:
    title = "📦 Ship <b>order</b> & שלום"
    assert due_of(f"{title} tomorrow")[0] == title


@pytest.mark.parametrize("text", ["tomorrow", "   ", "@maria coming friday 3pm", "every monday"])
def test_nothing_left_for_the_title_is_an_error(text: str) -> None:
    with pytest.raises(EmptyTitleError, match="What is the task"):
        parse_task_text(text, NOW, BERLIN)
    assert issubclass(EmptyTitleError, DateParseError)


def test_long_texts_are_read_in_one_pass() -> None:
    text = "Write the May report on the sun deck " * 300
    assert len(text) > 10_000
    assert parse_task_text(text, NOW, BERLIN).due is None
    assert due_of(text + "tomorrow")[1] == "2026-11-26 09:00"
    blob = "x" * 10_000
    assert parse_task_text(blob, NOW, BERLIN).title == blob


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_task_text("Call Bob tomorrow", datetime(2026, 11, 25, 10), BERLIN)


@pytest.mark.parametrize(
    ("text", "when", "has_time"),
    [
        ("tomorrow", "2026-11-26 09:00", False),
        ("2h", "2026-11-25 13:00", True),
        ("in 2h", "2026-11-25 13:00", True),
        ("30m", "2026-11-25 11:30", True),
        ("in 3 days", "2026-11-28 09:00", False),
        ("3 days", "2026-11-28 09:00", False),
        ("1d", "2026-11-26 09:00", False),
        ("1w", "2026-12-02 09:00", False),
        ("next monday 10am", "2026-11-30 10:00", True),
        ("sun", "2026-11-29 09:00", False),
        ("15th", "2026-12-15 09:00", False),
        ("Jan 31", "2027-01-31 09:00", False),
    ],
)
def test_parse_when_reads_snooze_times(text: str, when: str, has_time: bool) -> None:
    due = parse_when(text, NOW, BERLIN)
    assert (local(due.at_utc), due.has_time) == (when, has_time)


@pytest.mark.parametrize("text", ["blah", "", "2027", "Call Bob tomorrow", "friday friday"])
def test_parse_when_refuses_what_is_not_a_date(text: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_when(text, NOW, BERLIN)
    message = str(caught.value)
    assert message.startswith("I couldn't read a date in “")
    assert "“in 2 weeks”" in message


def test_parse_when_refuses_the_past() -> None:
    with pytest.raises(DateParseError, match="That date is in the past"):
        parse_when("yesterday", NOW, BERLIN)


def roll(rule: str, anchor: datetime, count: int) -> list[datetime]:
    found, after = [], anchor
    for _ in range(count):
        after = next_occurrence(rule, anchor, after)
        found.append(after)
    return found


def test_quarterly_from_the_31st_never_skips_a_quarter() -> None:
    assert roll("FREQ=MONTHLY;INTERVAL=3", datetime(2027, 1, 31, 9), 4) == [
        datetime(2027, 4, 30, 9),
        datetime(2027, 7, 31, 9),
        datetime(2027, 10, 31, 9),
        datetime(2028, 1, 31, 9),
    ]


def test_monthly_from_the_31st_uses_each_months_last_day() -> None:
    assert roll("FREQ=MONTHLY", datetime(2028, 1, 31, 9), 3) == [
        datetime(2028, 2, 29, 9),
        datetime(2028, 3, 31, 9),
        datetime(2028, 4, 30, 9),
    ]
    assert roll("FREQ=MONTHLY;BYMONTHDAY=30", datetime(2027, 1, 30, 9), 2) == [
        datetime(2027, 2, 28, 9),
        datetime(2027, 3, 30, 9),
    ]


def test_yearly_from_feb_29_falls_on_feb_28_until_a_leap_year() -> None:
    assert roll("FREQ=YEARLY", datetime(2028, 2, 29, 9), 4) == [
        datetime(2029, 2, 28, 9),
        datetime(2030, 2, 28, 9),
        datetime(2031, 2, 28, 9),
        datetime(2032, 2, 29, 9),
    ]


def test_monthly_nine_oclock_stays_nine_oclock_across_dst() -> None:
    utc_hours = [
        from_local(moment, BERLIN).hour
        for moment in roll("FREQ=MONTHLY", datetime(2027, 2, 15, 9), 9)
    ]
    assert utc_hours == [8, 7, 7, 7, 7, 7, 7, 7, 8]  # Mar 15 … Nov 15 2027
    assert all(m.hour == 9 for m in roll("FREQ=MONTHLY", datetime(2027, 2, 15, 9), 9))


def test_next_occurrence_is_strictly_after() -> None:
    anchor = datetime(2027, 1, 4, 9)  # a Monday
    assert next_occurrence("FREQ=WEEKLY;BYDAY=MO", anchor, anchor) == datetime(2027, 1, 11, 9)
    assert next_occurrence("FREQ=WEEKLY", anchor, datetime(2026, 1, 1)) == anchor
    assert next_occurrence("FREQ=DAILY", anchor, datetime(2027, 1, 4, 12)) == datetime(
        2027, 1, 5, 9
    )


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "every day", "FREQ=DAILY;INTERVAL=0"])
def test_unknown_rules_are_value_errors(rule: str) -> None:
    with pytest.raises(ValueError, match="rule"):
        next_occurrence(rule, datetime(2027, 1, 1), datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="rule"):
        describe_rule(rule)


def test_next_occurrence_wants_naive_local_times() -> None:
    aware = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        next_occurrence("FREQ=DAILY", aware, aware)


def test_ics_rule_spells_out_month_end() -> None:
    assert ics_rule("FREQ=MONTHLY;INTERVAL=3", datetime(2027, 1, 31, 9)) == (
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"
    )
    assert ics_rule("FREQ=MONTHLY", datetime(2027, 1, 15, 9)) == "FREQ=MONTHLY"


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=MONTHLY;INTERVAL=3", "every quarter"),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "monthly on the 15th"),
        ("FREQ=MONTHLY;BYMONTHDAY=22", "monthly on the 22nd"),
        ("FREQ=MONTHLY", "every month"),
        ("FREQ=YEARLY", "every year"),
        ("FREQ=WEEKLY", "every week"),
        ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("FREQ=DAILY", "every day"),
        ("FREQ=WEEKLY;BYDAY=MO", "every monday"),
        ("FREQ=WEEKLY;BYDAY=MO,TH", "every monday and thursday"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
    ],
)
def test_describe_rule(rule: str, words: str) -> None:
    assert describe_rule(rule) == words


def test_from_local_moves_a_skipped_time_forward() -> None:
    skipped = from_local(datetime(2027, 3, 28, 2, 30), BERLIN)  # clocks jump 02:00 → 03:00
    assert to_local(skipped, BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    skipped_ny = from_local(datetime(2027, 3, 14, 2, 30), NEW_YORK)
    assert to_local(skipped_ny, NEW_YORK).strftime("%H:%M %Z") == "03:30 EDT"


def test_from_local_takes_the_first_of_a_repeated_time() -> None:
    repeated = from_local(datetime(2027, 10, 31, 2, 30), BERLIN)  # 02:00-03:00 happens twice
    assert repeated == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the CEST one


def test_to_local_and_from_local_round_trip() -> None:
    moment = datetime(2027, 7, 1, 7, 15, tzinfo=UTC)
    back = to_local(moment, NEW_YORK)
    assert back.utcoffset() == timedelta(hours=-4)
    assert from_local(back.replace(tzinfo=None), NEW_YORK) == moment
    with pytest.raises(ValueError, match="naive"):
        from_local(moment, BERLIN)


def test_a_day_in_a_possessive_is_asked_about_and_keeps_its_word() -> None:
    with pytest.raises(dates.DateQuestion) as asked:
        parse_task_text("Tomorrow's agenda", NOW, BERLIN)
    assert [title for title, _ in asked.value.choices] == ["Tomorrow's agenda"] * 2
    assert asked.value.choices[-1][1] is None


@pytest.mark.parametrize(
    "text",
    ["Call Bob on Fridya", "Pay rent by Janaury 31", "Angebot bis Freitg", "Call on Frdiay 3pm"],
)
def test_a_misspelled_day_or_month_is_asked_about_not_dropped(text: str) -> None:
    with pytest.raises(dates.DateQuestion) as asked:
        parse_task_text(text, NOW, BERLIN)
    assert asked.value.choices[-1] == (text, None)


@pytest.mark.parametrize("text", ["Call Bob on Maria", "Work on Sundance", "Report on sales"])
def test_names_near_no_date_word_stay_titles(text: str) -> None:
    assert parse_task_text(text, NOW, BERLIN).due is None


@pytest.mark.parametrize(
    ("text", "title", "rule"),
    [
        ("Team-Meeting jeden Montag 9 Uhr", "Team-Meeting", "FREQ=WEEKLY;BYDAY=MO"),
        ("Miete monatlich am 1.", "Miete", "FREQ=MONTHLY"),
        ("Payer le loyer chaque mois le 1er", "Payer le loyer", "FREQ=MONTHLY"),
        ("Sauvegarde tous les vendredis", "Sauvegarde", "FREQ=WEEKLY;BYDAY=FR"),
        ("Reunión cada lunes a las 10", "Reunión", "FREQ=WEEKLY;BYDAY=MO"),
        ("Send report every other Tuesday", "Send report", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("Pay VAT monthly on the 10th, on a business day", "Pay VAT", None),
    ],
)
def test_repeats_in_every_language(text: str, title: str, rule: str | None) -> None:
    parsed = parse_task_text(text, NOW, BERLIN)
    assert parsed.title == title
    assert parsed.rule == rule or (rule is None and parsed.rule and "X-SHIFT" in parsed.rule)


def test_a_business_day_repeat_moves_off_weekends_and_holidays() -> None:
    from bot.dates import BusinessCalendar

    rule = "FREQ=MONTHLY;BYMONTHDAY=10;X-SHIFT=NEXT-BUSINESS-DAY"
    anchor = datetime(2027, 1, 10, 9)  # a Sunday
    dates_ = [anchor]
    for _ in range(4):
        dates_.append(next_occurrence(rule, anchor, dates_[-1], BusinessCalendar("DE")))
    assert [d.date().isoformat() for d in dates_[1:]] == [
        "2027-02-10", "2027-03-10", "2027-04-12", "2027-05-10",
    ]  # fmt: skip  # Apr 10 2027 is a Saturday
    assert describe_rule(rule) == "monthly on the 10th, on a business day"
    assert "X-SHIFT" not in ics_rule(rule, anchor)
