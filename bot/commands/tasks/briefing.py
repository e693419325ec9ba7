"""/briefing on demand, and the words of the scheduled reminders and daily briefing (the tick
that sends them is bot.services.delivery.tick)."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.render import briefing_text, when
from bot.commands.reply import Reply, bold, esc
from bot.commands.tasks.pages import task_buttons
from bot.db.team import TEAM
from bot.services.clients.service import Summary
from bot.services.delivery.outbox import Undelivered
from bot.services.delivery.reminders import DueReminder
from bot.services.team.sweep import contractor_of

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router
    from bot.services.delivery.tick import Job

log = logging.getLogger(__name__)
RUNG_TEXT = {"7d": "in a week", "1d": "tomorrow", "due": "now"}
UNDELIVERED_DAYS = 7
Section = Callable[[], tuple[str, list[str]] | None]  # more of the briefing: a title, its lines


class BriefingCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.jobs: list[Job] = []  # build_conversation sets the tick's list: the old hook
        self.sections: list[Section] = []  # more of the briefing (contractors' news)

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
        for section in self.sections:
            found = section()
            if found is not None:
                briefing = replace(briefing, extras={**briefing.extras, found[0]: found[1]})
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

    def _missed(self) -> list[Undelivered]:
        return self.s.outbox.undelivered(self.s.clock.now() - timedelta(days=UNDELIVERED_DAYS))

    def _undelivered(self, row: Undelivered) -> str:
        first = html.unescape(re.sub(r"<[^>]*>", "", row.text.split("\n", 1)[0]))
        first = esc(first if len(first) <= 120 else first[:119] + "…")
        at = when(row.created_at, True, self.s.prefs.tz, self.s.clock.now())
        why = "refused by Telegram" if row.status == "failed" else "no answer from Telegram"
        if row.kind == TEAM:  # a message to a contractor: say to whom
            first += f" — to @{esc(self.s.team.name_of(contractor_of(row.key)))}"
        return f"  {first} ({at}: {why})"
