"""/briefing on demand, and the scheduled sends: reminders and the daily briefing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.commands.backup import weekly_backup
from bot.commands.render import briefing_text, when
from bot.commands.reply import Reply, bold, esc
from bot.commands.task_list import task_buttons
from bot.services.clients import Summary
from bot.services.scheduler import DueReminder

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

log = logging.getLogger(__name__)
Send = Callable[[Reply], Awaitable[None]]
Job = Callable[[Send], Awaitable[int]]  # more scheduled work; returns how many messages it sent
RUNG_TEXT = {"7d": "in a week", "1d": "tomorrow", "due": "now"}


class BriefingCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.jobs: list[Job] = []

    def register(self, router: Router) -> None:
        router.command("briefing", "the daily briefing, now", self.briefing)

    def render(self, *, late: bool = False) -> Reply:
        now = self.s.clock.now()
        briefing = self.s.briefing.compose(now)
        waiting = [
            f"  #{row.id} {esc(row.kind.replace('_', ' '))}" for row in self.s.proposals.pending()
        ]
        if waiting:
            extras = {**briefing.extras, "Proposals waiting (/pending)": waiting}
            briefing = replace(briefing, extras=extras)
        clients = [self._waiting_client(s) for s in self.s.clients.waiting()]
        if clients:
            extras = {**briefing.extras, "Clients waiting for a reply (/clients)": clients}
            briefing = replace(briefing, extras=extras)
        return Reply(briefing_text(briefing, self.s.prefs.tz, now, late=late))

    def _waiting_client(self, summary: Summary) -> str:
        since = when(summary.waiting_since, True, self.s.prefs.tz, self.s.clock.now())
        return f"  {esc(summary.client.name)} — since {since}"

    async def briefing(self, args: str) -> list[Reply]:
        """The briefing now (does not count as the day's scheduled one)."""
        return [self.render()]

    def reminder(self, due: DueReminder) -> Reply:
        task = due.task
        at = when(task.due_at, task.has_time, self.s.prefs.tz, self.s.clock.now())
        head = "⏰ Reminder" + (" <i>(late: I was offline)</i>" if due.late else "")
        text = f"{head}: {bold(task.title)} is due {RUNG_TEXT[due.rung]} — {at}."
        if task.assignee:
            text += f" (@{task.assignee})"
        return Reply(text, buttons=(task_buttons(task),))

    async def send_due(self, send: Send) -> int:
        """Send what is due (reminders, then the briefing); record each after it went out."""
        sent = 0
        self.s.proposals.expire_due()
        for due in self.s.scheduler.due_reminders():
            await send(self.reminder(due))
            self.s.scheduler.mark_reminded(due)
            sent += 1
        briefing = self.s.scheduler.due_briefing()
        if briefing is not None:
            await send(self.render(late=briefing.late))
            self.s.scheduler.mark_briefed(briefing)
            sent += 1
        sent += await weekly_backup(self.s, send)  # in a worker thread, once per ISO week
        for job in self.jobs:
            sent += await job(send)
        return sent
