"""Contractors through the real Application and the fake Bot API: the owner, Maria, Tom and a
stranger. Access (invite, revoke, expiry, reuse, forgery), leaks (every owner command and every
foreign button from a contractor changes and reveals nothing), the owner's news, reminders in
a contractor's own zone, and a restore that keeps a revocation."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.commands import callbacks
from bot.services.backup.restore import restore_backup
from bot.tg.app import TelegramAdapter
from tests.conftest import services_for
from tests.fakes.botapi import FakeBotAPI
from tests.team_helpers import (
    MARIA,
    OWNER,
    REFUSAL,
    STRANGER,
    TOM,
    buttons,
    forge,
    invite,
    join,
    say,
    snapshot,
)

pytestmark = pytest.mark.asyncio
NOT_HERE = "That isn't something I can do for you here; send /help to see what you can."


def contractors(data: Path) -> list[tuple[str, int | None, str]]:
    with sqlite3.connect(data / "microdesk.db") as db:
        return list(db.execute("SELECT name, tg_user_id, status FROM contractors ORDER BY id"))


async def test_invite_link_joins_once_and_stores_only_a_hash(
    bot: TelegramAdapter, botapi: FakeBotAPI, tmp_path: Path
) -> None:
    token = await invite(botapi, "Maria")
    welcome = await say(botapi, MARIA, f"/start {token}", "time zone")
    assert "@maria" in welcome["text"] and "Owner" not in welcome["text"]
    await say(botapi, MARIA, "Asia/Tokyo", "Time zone set")
    assert contractors(tmp_path) == [("maria", MARIA, "active")]
    # only its hash is kept (the durable inbox keeps Maria's update, which used it up)
    for table, rows in snapshot(tmp_path).items():
        assert token not in repr(rows), table
    with sqlite3.connect(tmp_path / "microdesk.db") as db:
        [(digest, status)] = db.execute("SELECT token_hash, status FROM team_invites")
    assert digest == hashlib.sha256(token.encode()).hexdigest() and status == "used"
    listed = await say(botapi, OWNER, "/team", "Your team")
    assert "@maria — 0 open tasks — last active" in listed["text"]
    # her own command menu, not the owner's
    scoped = [c for c in botapi.calls if c.method == "setMyCommands" and "scope" in c.params]
    assert {c["command"] for c in scoped[-1].params["commands"]} >= {"tasks", "note"}
    assert "invite" not in {c["command"] for c in scoped[-1].params["commands"]}


async def test_stranger_reused_expired_forged_and_revoked_all_get_the_one_refusal(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock, tmp_path: Path
) -> None:
    token = await invite(botapi, "maria")
    await say(botapi, MARIA, f"/start {token}", "time zone")
    before = snapshot(tmp_path)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    attempts = [
        (STRANGER, "/start"),  # a stranger
        (STRANGER, "/tasks"),
        (TOM, f"/start {token}"),  # reused
        (TOM, f"/start {forged}"),  # forged
        (TOM, "/start " + "x" * 500),  # junk
    ]
    for user, text in attempts:
        await say(botapi, user, text, REFUSAL)
    tom_token = await invite(botapi, "tom")
    clock.advance(timedelta(days=7, seconds=1))
    await say(botapi, TOM, f"/start {tom_token}", REFUSAL)  # expired
    assert contractors(tmp_path) == [("maria", MARIA, "active")]
    after = snapshot(tmp_path)
    assert after["contractors"] == before["contractors"]
    assert [m["text"] for m in botapi.bot_messages(TOM)] == [REFUSAL] * 4
    assert [m["text"] for m in botapi.bot_messages(STRANGER)] == [REFUSAL] * 2
    # revoked: at once, the same refusal
    menu = {"type": "chat", "chat_id": MARIA}
    assert botapi.my_commands(menu)
    await say(botapi, OWNER, "/revoke @maria", "no longer has access")
    await say(botapi, MARIA, "/tasks", REFUSAL)
    assert contractors(tmp_path) == [("maria", MARIA, "revoked")]
    assert botapi.my_commands(menu) == []  # her menu is gone with her access
    await say(botapi, MARIA, f"/start {token}", REFUSAL)
    audit = await say(botapi, OWNER, "/audit", "revoked")
    assert "@maria" in audit["text"]


async def test_a_contractor_reaches_no_owner_command_and_no_foreign_button(
    bot: TelegramAdapter, botapi: FakeBotAPI, tmp_path: Path
) -> None:
    await join(botapi, MARIA, "maria")
    await join(botapi, TOM, "tom")
    await say(botapi, OWNER, "/add Secret owner plan friday", "Added")
    owner_card = await say(botapi, OWNER, "/add Promo cut friday @maria", "Added")
    await botapi.wait_for_message(MARIA, contains="A task for you")
    tom_card = await say(botapi, OWNER, "/add Tom's edit monday @tom", "Added")
    await botapi.wait_for_message(TOM, contains="A task for you")
    maria_list = await say(botapi, MARIA, "/tasks", "Your open tasks")
    await botapi.wait_idle()
    before = snapshot(tmp_path)
    seen_before = len(botapi.bot_messages(MARIA))
    owner_before = len(botapi.bot_messages(OWNER))
    own = {"start", "help", "tasks"}
    for name in sorted(set(bot.conversation.router.commands) - own):
        reply = await say(botapi, MARIA, f"/{name} 1 x @maria", None)
        assert reply["text"] == NOT_HERE, name
    for text in ("what does the owner earn?", "/ask what are the clients' names?", "/clients"):
        await say(botapi, MARIA, text, None)
    for card in (owner_card, tom_card):  # buttons of other people's cards
        for _, data in buttons(card):
            botapi.press_button(card, data, user_id=MARIA, first_name="Maria")
    for _, data in buttons(maria_list):  # Maria's buttons pressed by Tom and by the owner
        botapi.press_button(maria_list, data, user_id=TOM, first_name="Tom")
    # every kind of button there is, forged on Maria's own card, aimed at others' rows
    for action, arity in callbacks.ACTIONS.items():
        for target in ("1", "3"):  # the owner's task and Tom's (Maria's is #2)
            args = [target, *(["1h"] if action in ("tz", "kz") else ["0"]) * (arity - 1)]
            forge(botapi, MARIA, maria_list, ":".join([action, *args][: arity + 1]))
    await botapi.wait_idle()
    assert snapshot(tmp_path) == before
    told = " ".join(m.get("text", "") for m in botapi.bot_messages(MARIA)[seen_before:])
    for secret in ("Secret owner plan", "Tom's edit", "Owner", "@tom", "1001"):
        assert secret not in told
    assert len(botapi.bot_messages(OWNER)) == owner_before  # nothing reached the owner's chat
    toasts = [c.params.get("text") for c in botapi.calls_to("answerCallbackQuery")]
    assert "That button is no longer valid; send the command again." in toasts
    assert "There is no open task #2 of yours; /tasks lists them." in toasts
    # the owner pressing Maria's own buttons: not the owner's, refused the same way
    botapi.press_button(maria_list, buttons(maria_list)[0][1], user_id=OWNER)
    await botapi.wait_idle()
    assert snapshot(tmp_path) == before


async def test_assignment_done_note_reach_the_owner_and_audit(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock, tmp_path: Path
) -> None:
    await join(botapi, MARIA, "maria")
    await say(botapi, OWNER, "/add Promo cut friday 3pm @maria", "Added")
    notice = await botapi.wait_for_message(MARIA, contains="A task for you")
    assert "Promo cut" in notice["text"] and "Fri 27 Nov 15:00" in notice["text"]
    await say(botapi, OWNER, "/add Monthly invoice every month due Dec 1 @maria", "Added")
    await botapi.wait_for_message(MARIA, contains="Monthly invoice")
    await say(botapi, MARIA, "/note 1 Draft is uploaded, link follows", "Passed on")
    listed = await say(botapi, MARIA, "/tasks", "Your open tasks (2)")
    done = next(d for t, d in buttons(listed) if t.startswith("✓ #2"))
    botapi.press_button(listed, done, user_id=MARIA, first_name="Maria")
    await botapi.wait_for(lambda: "Next time" in botapi.bot_messages(MARIA)[-1]["text"])
    [task] = [t for t in bot.s.tasks.list() if t.id == 2]
    assert task.due_at == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)  # rolled to Jan 1, 09:00 Berlin
    briefing = await say(botapi, OWNER, "/briefing", "From your team")
    assert "@maria wrote on #1 Promo cut" in briefing["text"]
    assert "@maria marked done #2 Monthly invoice" in briefing["text"]
    # instant: the owner hears of the next note right away, the words quoted
    await say(botapi, OWNER, "/settings team instant", "Team news: instant")
    before = len(botapi.bot_messages(OWNER))
    await say(botapi, MARIA, "/note 1 <b>final</b> cut ready", "Passed on")
    heard = await botapi.wait_for_message(OWNER, contains="@maria wrote on #1", after=before)
    assert "<b>final</b> cut ready" in heard["text"]  # shown as text, not as markup
    # reassigning with /edit tells the new contractor, once
    await say(botapi, OWNER, "/add Newsletter copy tomorrow", "Added")
    await say(botapi, OWNER, "/edit 3 @maria", "Changed")
    told = await botapi.wait_for_message(MARIA, contains="Newsletter copy")
    assert "A task for you" in told["text"] and "Thu 26 Nov" in told["text"]
    await say(botapi, OWNER, "/edit 3 Newsletter copy v2", "Changed")
    await bot.ticks_pass(3)  # three more scheduler ticks
    assert len([m for m in botapi.bot_messages(MARIA) if "Newsletter" in m["text"]]) == 1
    team = await say(botapi, OWNER, "/team", "Your team")
    assert "@maria — 3 open tasks" in team["text"] and "#1 Promo cut" in team["text"]
    audit = await say(botapi, OWNER, "/audit", "contractor")
    for action in ("joined", "note", "done"):
        assert f"@maria {action}" in audit["text"], action
    assert bot.s.outbox.ready() == []


async def test_a_file_replied_to_a_task_card_reaches_the_owner(
    bot: TelegramAdapter, botapi: FakeBotAPI, tmp_path: Path
) -> None:
    await join(botapi, MARIA, "maria")
    await say(botapi, OWNER, "/settings team instant", "Team news: instant")
    await say(botapi, OWNER, "/add Promo cut friday @maria", "Added")
    card = await botapi.wait_for_message(MARIA, contains="A task for you")
    botapi.upload_document(
        b"frame 1\nframe 2\n",
        "cut-v2.txt",
        user_id=MARIA,
        first_name="Maria",
        caption="second cut",
        reply_to_message=card,
    )
    await botapi.wait_for_message(MARIA, contains="Passed on")
    heard = await botapi.wait_for_message(OWNER, contains="cut-v2.txt")
    assert "second cut" in heard["text"]
    before = len(botapi.bot_messages(OWNER))
    botapi.press_button(heard, buttons(heard)[0][1], user_id=OWNER)
    sent = await botapi.wait_for(
        lambda: [m for m in botapi.bot_messages(OWNER)[before:] if "document" in m]
    )
    assert botapi.file_bytes(sent[0]["document"]["file_id"]) == b"frame 1\nframe 2\n"
    botapi.upload_document(
        b"x",
        "huge.mov",
        user_id=MARIA,
        first_name="Maria",
        file_size=30 * 1024 * 1024,
        reply_to_message=card,
    )
    await botapi.wait_for_message(MARIA, contains="over 10 MB")
    with sqlite3.connect(tmp_path / "microdesk.db") as db:
        assert db.execute("SELECT count(*) FROM team_events WHERE kind = 'note'").fetchone() == (1,)


async def test_reminders_come_at_the_contractors_local_time(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    await join(botapi, MARIA, "maria", zone="Asia/Tokyo")
    await join(botapi, TOM, "tom", zone="Europe/Berlin")
    await say(botapi, OWNER, "/add Tokyo edit Dec 10 @maria", "Added")
    await say(botapi, OWNER, "/add Berlin edit Dec 10 @tom", "Added")
    await botapi.wait_for_message(TOM, contains="A task for you")
    await botapi.wait_for_message(MARIA, contains="A task for you")

    def reminders(user: int) -> list[str]:
        return [m["text"] for m in botapi.bot_messages(user) if "Reminder" in m["text"]]

    clock.set(datetime(2026, 12, 2, 23, 59, tzinfo=UTC))  # 08:59 in Tokyo on Dec 3
    await bot.ticks_pass(3)  # three more scheduler ticks
    assert reminders(MARIA) == [] and reminders(TOM) == []
    clock.set(datetime(2026, 12, 3, 0, 1, tzinfo=UTC))  # 09:01 in Tokyo, 01:01 in Berlin
    await botapi.wait_for(lambda: reminders(MARIA))
    await bot.ticks_pass(3)  # three more scheduler ticks
    assert reminders(TOM) == []
    [maria] = reminders(MARIA)
    assert "due in a week" in maria and "Tokyo edit" in maria and "late" not in maria
    clock.set(datetime(2026, 12, 3, 8, 1, tzinfo=UTC))  # 09:01 in Berlin
    await botapi.wait_for(lambda: reminders(TOM))
    await bot.ticks_pass(3)  # three more scheduler ticks
    assert len(reminders(MARIA)) == 1 and len(reminders(TOM)) == 1
    # the owner's own ladder is unchanged: the owner's reminder is the owner's
    assert not any("Tokyo edit" in m["text"] for m in botapi.bot_messages(TOM))


async def test_daily_list_is_opt_in_at_eight_local(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    await join(botapi, MARIA, "maria", zone="America/New_York")
    await say(botapi, OWNER, "/add Post reel Nov 26 @maria", "Added")
    await botapi.wait_for_message(MARIA, contains="A task for you")
    await say(botapi, MARIA, "/daily on", "08:00")
    clock.set(datetime(2026, 11, 26, 12, 59, tzinfo=UTC))  # 07:59 in New York
    await bot.ticks_pass(3)  # three more scheduler ticks

    def daily() -> list[dict[str, Any]]:
        return [m for m in botapi.bot_messages(MARIA) if "Due by today" in m["text"]]

    assert daily() == []
    clock.set(datetime(2026, 11, 26, 13, 1, tzinfo=UTC))
    await botapi.wait_for(daily)
    clock.advance(timedelta(hours=2))
    await bot.ticks_pass(3)  # three more scheduler ticks
    assert len(daily()) == 1 and "Post reel" in daily()[0]["text"]


async def test_restore_of_an_older_backup_keeps_a_revocation(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    services = services_for(tmp_path, botapi, clock)
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    try:
        await join(botapi, MARIA, "maria")
        tom_token = await invite(botapi, "tom")
        info = await asyncio.to_thread(services.backups.create)
        await say(botapi, OWNER, "/revoke @maria", "no longer has access")
        await say(botapi, OWNER, "/invite @tom", "t.me/")  # the backup's token is replaced
    finally:
        await adapter.shutdown()
        services.close()
    restore_backup(info.path, services.settings)
    assert contractors(tmp_path) == [("maria", MARIA, "revoked")]
    services = services_for(tmp_path, botapi, clock)
    adapter = TelegramAdapter(services, tick_seconds=0.05)
    await adapter.startup(poll_timeout=1)
    try:
        await say(botapi, MARIA, "/tasks", REFUSAL)
        await say(botapi, TOM, f"/start {tom_token}", REFUSAL)
    finally:
        await adapter.shutdown()
        services.close()


async def test_snooze_stays_within_the_owners_limit(
    bot: TelegramAdapter, botapi: FakeBotAPI, clock: FrozenClock, tmp_path: Path
) -> None:
    await join(botapi, MARIA, "maria")
    await say(
        botapi,
        OWNER,
        "/settings team snooze 1",
        "snooze up to 1 day",
    )
    await say(botapi, OWNER, "/add Promo cut today 6pm @maria", "Added")
    card = await botapi.wait_for_message(MARIA, contains="A task for you")
    botapi.press_button(card, text="⏰ Snooze", user_id=MARIA, first_name="Maria")
    menu = await botapi.wait_for_message(MARIA, contains="Snooze Promo cut until")
    assert [t for t, _ in buttons(menu)] == ["1 hour", "Tomorrow 9:00"]  # not 2 days, 1 week
    # a forged press past the limit is refused and changes nothing
    before = snapshot(tmp_path)
    forged = {
        **menu,
        "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "kz:1:1w"}]]},
    }
    botapi.enqueue(
        {
            "callback_query": {
                "id": "4242",
                "from": botapi.make_user(MARIA, "Maria"),
                "message": forged,
                "chat_instance": "1",
                "data": "kz:1:1w",
            }
        }
    )
    await botapi.wait_idle()
    assert snapshot(tmp_path) == before
    assert (
        botapi.calls_to("answerCallbackQuery")[-1].params["text"]
        == "You can snooze at most 1 day ahead."
    )
    botapi.press_button(menu, text="Tomorrow 9:00", user_id=MARIA, first_name="Maria")
    await botapi.wait_for(lambda: any("Snoozed" in m["text"] for m in botapi.bot_messages(MARIA)))
    assert bot.s.tasks.get(1).due_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 Berlin
    audit = await say(botapi, OWNER, "/audit", "contractor")
    assert "@maria snooze #1" in audit["text"]
    await say(botapi, OWNER, "/settings team snooze 0", "up to")
    botapi.press_button(card, text="⏰ Snooze", user_id=MARIA, first_name="Maria")
    await botapi.wait_for(
        lambda: (
            botapi.calls_to("answerCallbackQuery")[-1]
            .params.get("text", "")
            .startswith("Snoozing is off")
        )
    )
