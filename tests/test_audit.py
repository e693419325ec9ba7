"""The audit log over the fake Bot API: every change, who made it, in plain words; paged and
filtered."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console

from bot.app import build_services
from bot.config import Settings
from bot.console.backup import restore_command
from bot.services.audit import TASKS, contractor
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER
from tests.fakes.botapi import FakeBotAPI
from tests.test_bot_e2e import say

pytestmark = pytest.mark.asyncio


async def test_every_change_is_recorded_with_who_made_it(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    await say(botapi, "/add File VAT return due Jan 31", "Added")
    await say(botapi, "/add Call the accountant friday 10am", "Added")
    await say(botapi, "/edit 1 File VAT return Q4", "#1")
    await say(botapi, "/snooze 2 monday 9am", "Moved")
    await say(botapi, "/done 2", "Done")
    asked = await say(botapi, "/delete 1", "Delete #1")
    botapi.press_button(asked, text="🗑 Delete", user_id=OWNER)
    await botapi.wait_for(lambda: "Deleted" in botapi.bot_messages(OWNER)[-1]["text"])
    await say(botapi, "/settings timezone Asia/Tokyo", "Tokyo")
    await say(botapi, "/autodraft off", "off")
    card = await say(botapi, "remind me to renew the licence on Jan 31", "Proposal #")
    botapi.press_button(card, text="✅ Approve", user_id=OWNER)
    await botapi.wait_for(lambda: "✅ Approved" in botapi.bot_messages(OWNER)[-1]["text"])

    log = (await say(botapi, "/audit", "Recent actions"))["text"]
    expected = [
        "AI, approved by you · added a task: #3 renew the licence · due 2027-01-31",
        "you · approved card #1 (a new task)",
        "assistant (no AI) · proposed card #1 (a new task)",
        "you · changed a setting: drafting replies to clients: on → off",
        "you · changed a setting: time zone: Europe/Berlin → Asia/Tokyo",
        "you · deleted a task: #1 File VAT return Q4 · due 2027-01-31",
        "you · marked a task done: #2 Call the accountant · due 2026-11-30 09:00",
        "you · snoozed a task: #2 Call the accountant · due 2026-11-30 09:00",
        "you · edited a task: #1 File VAT return · due 2027-01-31 → #1 File VAT return Q4 · "
        "due 2027-01-31",
        "you · added a task: #2 Call the accountant · due 2026-11-27 10:00",
        "you · added a task: #1 File VAT return · due 2027-01-31",
    ]
    positions = [log.find(line) for line in expected]
    assert -1 not in positions, log
    assert positions == sorted(positions)  # newest first
    assert "create_task" not in log and "proposed #" not in log

    tasks_only = (await say(botapi, "/audit tasks", "Recent actions · tasks"))["text"]
    assert "changed a setting" not in tasks_only and "proposed card" not in tasks_only
    assert tasks_only.count("a task") == 7
    ai_only = (await say(botapi, "/audit ai", "Recent actions · ai"))["text"]
    assert "AI, approved by you · added a task" in ai_only and "· you · added" not in ai_only
    wrong = await say(botapi, "/audit everything", "I can show")
    assert "tasks" in wrong["text"]


async def test_the_log_is_paged_under_telegrams_limit(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    for n in range(1, 21):
        bot.s.tasks.add(f"Task number {n} with a long title {'x' * 200} friday")
    first = await say(botapi, "/audit", "Recent actions")
    assert first["text"].count("added a task") == 15 and "#20 " in first["text"]
    assert len(first["text"]) < 4096
    botapi.press_button(first, text="More ▸", user_id=OWNER)
    await botapi.wait_for(lambda: "#5 " in botapi.bot_messages(OWNER)[-1]["text"])
    second = botapi.bot_messages(OWNER)[-1]["text"]
    assert second.count("added a task") == 5 and "#20 " not in second and "#1 " in second


async def test_backups_restores_and_contractors_are_recorded(
    bot: TelegramAdapter, botapi: FakeBotAPI, tmp_path: Path
) -> None:
    sent = await say(botapi, "/backup", "Backup of your data")
    path = sent["caption"].split("microdesk restore ", 1)[1]
    assert Path(path).is_absolute() and await asyncio.to_thread(Path(path).is_file)  # as shown
    bot.s.audit.record(contractor("maria"), TASKS, "marked done", "#7 Edit promo video")
    log = (await say(botapi, "/audit", "Recent actions"))["text"]
    assert f"you · made a backup: {path}" in log
    assert "@maria (contractor) · marked a task done: #7 Edit promo video" in log

    settings: Settings = bot.s.settings
    quiet = Console(file=io.StringIO())
    assert restore_command(settings, Path(path), quiet, confirmed=True) == 0
    restored = build_services(settings)
    try:
        [entry] = restored.audit.page("backups", None, 1).entries
        assert entry.action == "restored" and path in entry.detail
    finally:
        restored.close()
