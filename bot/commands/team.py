"""The owner's side of the team: /invite, /team, /revoke, a note's file, the briefing section,
and the scheduled job that queues and sends what contractors are owed (bot.services.team.sweep).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.commands.callbacks import Callback
from bot.commands.render import task_line, when
from bot.commands.reply import Button, Document, Reply, esc
from bot.commands.team_desk import card, task_text
from bot.db.team import TEAM
from bot.errors import UserInputError
from bot.services.delivery.outbox import Claimed, NotWanted
from bot.services.team import render
from bot.services.team.sweep import Due, contractor_of

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

log = logging.getLogger(__name__)
SendTo = Callable[[int, Reply], Awaitable[int | None]]  # chat id, reply → Telegram's message id
RUNG_TEXT = {"7d": "in a week", "1d": "tomorrow", "due": "now"}
SECTION = "From your team"
TEAM_TASKS = 5  # open tasks shown under each contractor in /team


class TeamCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.bot_username: str | None = None  # set by the Telegram adapter once it knows it
        self.send_to: SendTo | None = None  # set by the Telegram adapter; None in the terminal

    def register(self, router: Router) -> None:
        router.command("invite", "a one-time link for a contractor: /invite @maria", self.invite)
        router.command("team", "your contractors, their open tasks, last active", self.team)
        router.command("revoke", "end a contractor's access at once: /revoke @maria", self.revoke)
        router.on_callback(render.FILE_ACTION, self.press_file)

    def connect(self, bot_username: str | None, send_to: SendTo) -> None:
        self.bot_username, self.send_to = bot_username, send_to

    async def invite(self, args: str) -> list[Reply]:
        """A one-time deep link that makes whoever opens it the contractor @name."""
        if self.bot_username is None:
            raise UserInputError("Invites work in Telegram: send /invite @name to your bot there.")
        token = self.s.team.invite(args)
        name = args.strip().lstrip("@").lower()
        link = f"https://t.me/{self.bot_username}?start={token}"
        return [
            Reply(
                f"Send this link to @{esc(name)} yourself. It works once, for 7 days; "
                f"whoever opens it becomes @{esc(name)}:\n<code>{esc(link)}</code>"
            )
        ]

    async def team(self, args: str) -> list[Reply]:
        """Contractors with their open tasks and when each was last active."""
        tz, now = self.s.prefs.tz, self.s.clock.now()
        lines: list[str] = []
        for m in self.s.team.members():
            lines.append(
                f"@{esc(m.contractor.name)} — {m.open_tasks} open "
                f"{'task' if m.open_tasks == 1 else 'tasks'} — last active "
                f"{when(m.contractor.last_active_at, True, tz, now)}"
            )
            tasks = self.s.team.tasks_of(m.contractor)
            lines += [f"    {task_line(t, tz, now)}" for t in tasks[:TEAM_TASKS]]
            if len(tasks) > TEAM_TASKS:
                lines.append(f"    … /tasks @{esc(m.contractor.name)} for all {len(tasks)}")
        lines += [
            f"@{esc(i.name)} — invited, link valid until {when(i.expires_at, True, tz, now)}"
            for i in self.s.team.invited()
        ]
        if not lines:
            return [Reply("No contractors yet. Invite one with /invite @maria.")]
        return [Reply("\n".join(["<b>Your team</b>", *lines]))]

    async def revoke(self, args: str) -> list[Reply]:
        """End a contractor's access now: their next message is refused."""
        name = self.s.team.revoke(args)
        return [Reply(f"@{esc(name)} no longer has access. Their tasks stay yours to reassign.")]

    async def press_file(self, cb: Callback) -> list[Reply]:
        """The owner asks for the file a contractor sent with a note."""
        file = self.s.team.note_file(cb.int_arg(0))
        return [Reply("", document=Document(file.name, file.content))]

    # --- the briefing and the scheduled sends ------------------------------------------------

    def section(self) -> tuple[str, list[str]] | None:
        """What contractors did since the last scheduled briefing (none in instant mode)."""
        if self.s.team.instant():
            return None
        lines = [
            "  "
            + render.line(event, name)
            + (f": “{esc(_short(event.text))}”" if event.text else "")
            for event, name in self.s.team.events_since_briefing()
        ]
        return (SECTION, lines) if lines else None

    async def send_due(self) -> int:
        """Queue what contractors are owed now, then send it (once the adapter is connected).
        Returns 0: nothing here is for the owner's outbox."""
        for due in await asyncio.to_thread(self.s.team_sweep.due):  # off the event loop
            text, buttons = self._message(due)
            self.s.team_sweep.put(due, text, buttons)
        if self.send_to is not None:
            await self.s.outbox.drain(self._deliver, TEAM)
        return 0

    def _message(self, due: Due) -> tuple[str, tuple[tuple[tuple[str, str], ...], ...]]:
        member, now = due.contractor, self.s.clock.now()
        tz = self.s.team_sweep.zone(member)
        owner_tz = self.s.prefs.tz
        if ":daily:" in due.key:
            lines = [task_text(t, tz, owner_tz, now) for t in due.tasks]
            return "\n".join(["☀️ <b>Due by today</b>", *lines]), ()
        task = due.tasks[0]
        reply = card(task, tz, owner_tz, now, self.s.team.snooze_days() > 0)
        if ":rem:" in due.key:
            late = " <i>(late: I was offline)</i>" if due.late else ""
            head = f"⏰ Reminder{late}: due {RUNG_TEXT[due.rung]}\n"
        else:
            head = "📌 A task for you\n"
        return head + reply.text, tuple(tuple((b.text, b.data) for b in r) for r in reply.buttons)

    async def _deliver(self, item: Claimed) -> int | None:
        """One message to a contractor, only while they still have access."""
        assert self.send_to is not None
        member = self.s.team.by_id(contractor_of(item.key))
        if member is None:
            raise NotWanted("the contractor no longer has access")
        buttons = tuple(tuple(Button(label, data) for label, data in row) for row in item.buttons)
        assert member.tg_user_id is not None
        return await self.send_to(member.tg_user_id, Reply(item.text, buttons=buttons))


def _short(text: str, limit: int = 160) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
