"""/briefing on demand, and the scheduled sends: reminders and the daily briefing."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from bot.commands.backup import weekly_backup
from bot.commands.outgoing import Send, deliver, stored
from bot.commands.render import briefing_text, when
from bot.commands.reply import Reply, bold, esc
from bot.commands.tasks.pages import task_buttons
from bot.services.clients.service import Summary
from bot.services.delivery.outbox import Undelivered
from bot.services.delivery.reminders import DueReminder

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[int]]  # more scheduled work; how many messages it queued
RUNG_TEXT = {"7d": "in a week", "1d": "tomorrow", "due": "now"}
UNDELIVERED_DAYS = 7


class BriefingCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.jobs: list[Job] = []
        self._recovered = False

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
        missed = [self._undelivered(row) for row in self._missed()]
        if missed:
            extras = {**briefing.extras, "Messages I may not have delivered": missed}
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
        """Queue what is due (reminders, then the briefing) and send the outbox; then the
        weekly backup and the jobs, and send what they queued. How many messages went out."""
        self.s.proposals.expire_due()
        if not self._recovered:  # the first sweep after start: interrupted sends are unknown
            self.s.outbox.recover()
            self._recovered = True
        for due in self.s.scheduler.due_reminders():
            reply = self.reminder(due)
            self.s.scheduler.queue_reminder(due, reply.text, stored(reply))
        briefing = self.s.scheduler.due_briefing()
        if briefing is not None:
            reply = self.render(late=briefing.late)
            self.s.scheduler.queue_briefing(briefing, reply.text, stored(reply))
        send_row = partial(deliver, send, self.s.proposals)
        sent = await self.s.outbox.drain(send_row)
        queued = await weekly_backup(self.s)  # in a worker thread, once per ISO week
        for job in self.jobs:
            queued += await job()
        if queued:
            sent += await self.s.outbox.drain(send_row)
        return sent

    def _missed(self) -> list[Undelivered]:
        return self.s.outbox.undelivered(self.s.clock.now() - timedelta(days=UNDELIVERED_DAYS))

    def _undelivered(self, row: Undelivered) -> str:
        first = html.unescape(re.sub(r"<[^>]*>", "", row.text.split("\n", 1)[0]))
        first = esc(first if len(first) <= 120 else first[:119] + "…")
        at = when(row.created_at, True, self.s.prefs.tz, self.s.clock.now())
        why = "refused by Telegram" if row.status == "failed" else "no answer from Telegram"
        return f"  {first} ({at}: {why})"
