"""Dates through the real Application and the terminal chat: a question with a button per
reading instead of a guess, the zone question at the first start, bad dates refused in one
sentence with nothing stored. The clock is Wednesday 25 Nov 2026, 11:00 in Berlin.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.services.tasks.dates import to_local
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, TOKEN
from tests.fakes.botapi import FakeBotAPI
from tests.test_console import chat

pytestmark = pytest.mark.asyncio


async def say(botapi: FakeBotAPI, text: str, contains: str) -> dict[str, object]:
    before = len(botapi.bot_messages(OWNER))
    botapi.send_message(text, user_id=OWNER)
    return dict(await botapi.wait_for_message(OWNER, contains=contains, after=before))


def buttons(message: dict[str, object]) -> list[str]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def open_tasks(services: Services) -> list[tuple[str, str | None]]:
    tz = services.prefs.tz
    return [
        (t.title, f"{to_local(t.due_at, tz):%Y-%m-%d %H:%M}" if t.due_at else None)
        for t in services.tasks.list()
    ]


async def test_next_friday_said_on_wednesday_is_asked_and_the_press_saves_it(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    asked = await say(botapi, "/add Call Bob next friday 3pm about the logo", "Which date")
    assert buttons(asked) == ["Fri 27 Nov 15:00", "Fri 4 Dec 15:00", "No date"]
    assert open_tasks(bot.s) == []  # nothing saved before the owner chooses
    before = len(botapi.bot_messages(OWNER))
    botapi.press_button(asked, text="Fri 4 Dec 15:00", user_id=OWNER)
    await botapi.wait_for_message(OWNER, contains="Added", after=before - 1)
    assert open_tasks(bot.s) == [("Call Bob about the logo", "2026-12-04 15:00")]
    with pytest.raises(LookupError):  # the question became the "Added" card: no second pick
        botapi.press_button(asked, text="Fri 27 Nov 15:00", user_id=OWNER)
    assert len(open_tasks(bot.s)) == 1


async def test_no_date_is_a_choice_the_owner_makes(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    asked = await say(botapi, "/add Pay rent 31 Feb", "couldn't read")
    assert buttons(asked) == ["No date"]
    assert open_tasks(bot.s) == []
    botapi.press_button(asked, text="No date", user_id=OWNER)
    await botapi.wait_for(lambda: open_tasks(bot.s), what="the task saved without a date")
    assert open_tasks(bot.s) == [("Pay rent 31 Feb", None)]


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        ("/add Call at 25:99", "couldn't read"),
        ("/add Renew on 12/12/9999", "couldn't read"),
        ("/add Archive 1/1/1900", "couldn't read"),
        ("/add Meet " + " ".join(["friday", "tomorrow", "Jan 3", "at 5pm"] * 50), "too long"),
        ("/settings timezone Mars/Olympus", "not a time zone"),
        ("/add Call Bob завтра tomorrow 2pm", "Added"),
    ],
)
async def test_bad_dates_get_one_sentence_and_nothing_is_stored(
    bot: TelegramAdapter, botapi: FakeBotAPI, text: str, contains: str
) -> None:
    reply = await say(botapi, text, contains)
    assert str(reply["text"]).count(".") <= 3
    if contains == "Added":  # mixed scripts: the Cyrillic word stays in the title
        assert open_tasks(bot.s) == [("Call Bob завтра", "2026-11-26 14:00")]
    else:
        assert open_tasks(bot.s) == []
        assert bot.s.prefs.timezone_name == "Europe/Berlin"


async def test_snooze_keeps_the_time_of_day(bot: TelegramAdapter, botapi: FakeBotAPI) -> None:
    await say(botapi, "/add Call the bank tomorrow 15:00", "Added")
    moved = await say(botapi, "/snooze 1 2 days", "Moved")
    assert "Fri 27 Nov 15:00" in str(moved["text"])
    moved = await say(botapi, "/snooze 1 monday 9am", "Moved")
    assert "Mon 30 Nov 09:00" in str(moved["text"])


@pytest.fixture
async def new_owner(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> AsyncIterator[TelegramAdapter]:
    """A first start: no TIMEZONE, nothing chosen yet."""
    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path),
            "OWNER_TELEGRAM_ID": str(OWNER),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": botapi.base_url,
            "KNOWLEDGE_DIR": str(tmp_path / "knowledge"),
            "LANGUAGES": "de,en",
        }
    )
    services = build_services(settings, clock)
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    yield adapter
    await adapter.shutdown()
    services.close()


async def test_the_first_start_asks_for_a_zone_and_dates_say_theirs_until_then(
    new_owner: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    asked = await say(botapi, "/start", "Which time zone")
    assert buttons(asked)[:3] == ["Berlin", "Vienna", "Zurich"] and "UTC" in buttons(asked)
    added = await say(botapi, "/add Call Bob tomorrow 9am", "Added")
    assert str(added["text"]).count("(UTC)") == 1
    listed = await say(botapi, "/tasks", "open task")
    assert "Thu 26 Nov 09:00 (UTC)" in str(listed["text"])
    botapi.press_button(asked, text="Berlin", user_id=OWNER)

    def changed() -> list[str]:
        texts = [str(m["text"]) for m in botapi.bot_messages(OWNER)]
        return [t for t in texts if "Time zone: Europe/Berlin" in t]

    said = await botapi.wait_for(changed, what="the zone changed, said in the question's place")
    assert "1 task kept its local clock time" in said[0]
    assert open_tasks(new_owner.s) == [("Call Bob", "2026-11-26 09:00")]  # 09:00, now in Berlin
    listed = await say(botapi, "/tasks", "open task")
    assert "(UTC)" not in str(listed["text"])
    again = await say(botapi, "/start", "microdesk")
    assert "Which time zone" not in str(again["text"])


async def test_the_terminal_chat_asks_too(services: Services, clock: FrozenClock) -> None:
    services.settings = services.settings.model_copy(update={"DATE_ORDER": ""})
    services.prefs.set_timezone("UTC")  # a zone with no country: numeric dates read two ways
    text = await chat(services, ["/add Dentist 05/06", "2"])
    assert "Which date do you mean by “05/06”?" in text
    assert "‹1› Sat 5 Jun 2027   ‹2› Thu 6 May 2027   ‹3› No date" in text
    assert open_tasks(services) == [("Dentist", "2027-05-06 09:00")]
    stored = json.loads(services.prefs.note("date-question") or "{}")
    assert stored == {}


async def test_a_model_suggested_date_is_read_by_the_same_reader(services: Services) -> None:
    draft = services.tasks.draft_parts("Send the quote", "2026-12-03T15:00:00Z", None, None)
    assert draft.due is not None and draft.due.has_time
    assert f"{to_local(draft.due.at_utc, services.prefs.tz):%Y-%m-%d %H:%M}" == "2026-12-03 15:00"
    draft = services.tasks.draft_parts("Send the quote", "next monday", None, None)
    assert draft.due is not None
    from bot.errors import DateError

    with pytest.raises(DateError, match="reads two ways"):
        services.tasks.draft_parts("Send the quote", "next friday", None, None)
    with pytest.raises(DateError, match="past"):
        services.tasks.draft_parts("Send the quote", "2020-01-01", None, None)
    assert datetime.now(UTC).year >= 2026


async def test_a_request_in_plain_words_asks_the_same_question(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    asked = await say(botapi, "remind me to call Bob next friday", "Which date")
    assert buttons(asked) == ["Fri 27 Nov", "Fri 4 Dec", "No date"]
    botapi.press_button(asked, text="Fri 27 Nov", user_id=OWNER)
    await botapi.wait_for(lambda: open_tasks(bot.s), what="the task saved with the pick")
    assert open_tasks(bot.s) == [("call Bob", "2026-11-27 09:00")]


async def test_the_first_terminal_chat_asks_for_a_zone(tmp_path: Path, clock: FrozenClock) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "KNOWLEDGE_DIR": str(tmp_path / "k")})
    services = build_services(settings, clock)
    try:
        text = await chat(services, ["1", "/settings"])
        assert "Which time zone are your dates in?" in text and "‹1› London" in text
        assert services.prefs.timezone_name == "Europe/London"
        assert "Time zone: Europe/London (chosen in /settings)" in text
        again = await chat(services, ["/tasks"])
        assert "Which time zone" not in again
    finally:
        services.close()
