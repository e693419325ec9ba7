"""A contractor's private chat: their own tasks and nothing else.

Reachable: /start (asks their time zone the first time), /help, /tasks, /note ID TEXT (or a
reply to a task card, with text or a file), /timezone ZONE, /daily on|off, and the Done and
Snooze buttons of their own cards. Every other command gets one sentence; every other button
reads as no longer valid; a task that is not theirs reads as not there. Nothing here names the
owner, and nothing here reaches the owner's commands, the AI, documents, clients or settings.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.commands import callbacks
from bot.commands.render import when
from bot.commands.reply import Button, Reply, bold, esc
from bot.commands.router import guarded
from bot.commands.tasks.handlers import parse_id
from bot.db.models import Task
from bot.db.team import Contractor
from bot.errors import UserInputError
from bot.services.tasks import dates
from bot.services.team.service import NoteFile, due_stamp

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)
ACTIONS = ("kd", "ks", "kz")
CARD_ID = re.compile(r"#(\d{1,9})\b")
MAX_LISTED = 15
NOT_HERE = "That isn't something I can do for you here; send /help to see what you can."
HELP = (
    "You can use:\n"
    "/tasks — your open tasks, due first\n"
    "/note ID TEXT — a note on your task (or reply to a task's card with text or a file)\n"
    "/timezone ZONE — your time zone, for reminders (e.g. Europe/Berlin)\n"
    "/daily on|off — a short list of what is due, each morning at 08:00"
)
ASK_ZONE = (
    "Which time zone are you in? Reply with its name, e.g. Europe/Berlin or America/New_York, "
    "so reminders come at your local time."
)
COMMANDS = {
    "start": "your tasks and how to use this chat",
    "help": "what you can do here",
    "tasks": "your open tasks, due first",
    "note": "a note on your task: /note 3 Draft sent",
    "timezone": "your time zone: /timezone Europe/Berlin",
    "daily": "a daily list of what is due: /daily on",
}
# preset -> label; each is offered only within the owner's snooze limit
SNOOZES = {"1h": "1 hour", "tm": "Tomorrow 9:00", "2d": "2 days", "1w": "1 week"}


@dataclass(frozen=True)
class Incoming:
    """What a contractor sent, as the adapter read it."""

    source: str  # the Telegram message or button press it came from (replays add nothing)
    text: str = ""
    replied_to: str | None = None  # the text of the bot's message they replied to
    file: NoteFile | None = None


def task_text(task: Task, tz: ZoneInfo, owner_tz: ZoneInfo, now: datetime) -> str:
    """'#3 <b>Promo cut</b> — Fri 4 Dec 15:00': a timed task in their zone, a date as set."""
    at = when(task.due_at, task.has_time, tz if task.has_time else owner_tz, now)
    line = f"#{task.id} {bold(task.title)} — {at}"
    if task.repeat_rule:
        line += " · " + esc(dates.describe_rule(task.repeat_rule))
    return line


def buttons_for(task: Task, snooze: bool) -> tuple[Button, ...]:
    short = task.title if len(task.title) <= 18 else task.title[:17] + "…"
    row = [Button(f"✓ #{task.id} {short}", callbacks.encode("kd", task.id, due_stamp(task)))]
    if snooze:
        row.append(Button("⏰ Snooze", callbacks.encode("ks", task.id)))
    return tuple(row)


def card(task: Task, tz: ZoneInfo, owner_tz: ZoneInfo, now: datetime, snooze: bool) -> Reply:
    """One task's card: reply to it to send a note or a file about it."""
    return Reply(task_text(task, tz, owner_tz, now), buttons=(buttons_for(task, snooze),))


class ContractorDesk:
    def __init__(self, services: Services) -> None:
        self.s = services
        self._commands: dict[str, Callable[[Contractor, str, Incoming], Awaitable[list[Reply]]]]
        self._commands = {
            "start": self.start,
            "help": self.help,
            "tasks": self.tasks,
            "note": self.note,
            "timezone": self.timezone,
            "daily": self.daily,
        }

    # --- entry points (each answers with one or more replies, never raises) ------------------

    async def command(self, who: Contractor, name: str, args: str, msg: Incoming) -> list[Reply]:
        run = self._commands.get(name.lower())
        if run is None:
            return [Reply(NOT_HERE)]
        return await guarded(run(who, args.strip(), msg), f"contractor /{name.lower()}")

    async def text(self, who: Contractor, msg: Incoming) -> list[Reply]:
        """Plain text: their time zone when asked, a note when it replies to a task card."""
        return await guarded(self._text(who, msg), "contractor text")

    async def press(self, who: Contractor, data: str | None, source: str) -> list[Reply]:
        return await guarded(self._press(who, data, source), "contractor button")

    # --- commands ----------------------------------------------------------------------------

    async def start(self, who: Contractor, args: str, msg: Incoming) -> list[Reply]:
        """Welcome; the first time, ask their time zone."""
        if who.timezone is None:
            return [Reply(f"👋 You're on the team as @{esc(who.name)}.\n{esc(ASK_ZONE)}")]
        return await self.help(who, args, msg)

    async def help(self, who: Contractor, args: str, msg: Incoming) -> list[Reply]:
        return [Reply(esc(HELP))]

    async def tasks(self, who: Contractor, args: str, msg: Incoming) -> list[Reply]:
        """Their open tasks, due first, each with Done (and Snooze)."""
        tasks = list(self.s.team.tasks_of(who))
        self.s.team.touch(who)
        if not tasks:
            return [Reply("You have no open tasks.")]
        tz, owner_tz, now = self.s.team.tz(who), self.s.prefs.tz, self.s.clock.now()
        snooze = self.s.team.snooze_days() > 0
        shown = tasks[:MAX_LISTED]
        lines = [task_text(t, tz, owner_tz, now) for t in shown]
        more = len(tasks) - len(shown)
        head = f"<b>Your open tasks ({len(tasks)})</b>"
        if more:
            lines.append(f"… and {more} more")
        rows = tuple(buttons_for(t, snooze) for t in shown)
        return [Reply("\n".join([head, *lines]), buttons=rows)]

    async def note(self, who: Contractor, args: str, msg: Incoming) -> list[Reply]:
        """/note ID TEXT: passed on with the task."""
        task_id, text = parse_id(args, "/note 3 Draft sent")
        return self._noted(who, task_id, text, msg.source, msg.file)

    async def timezone(self, who: Contractor, args: str, msg: Incoming) -> list[Reply]:
        if not args:
            return [Reply(f"Your time zone: <b>{esc(who.timezone or '(not set)')}</b>. {ASK_ZONE}")]
        zone = self.s.team.set_timezone(who, args)
        return [Reply(f"Time zone set: <b>{esc(zone)}</b>. Reminders follow it.")]

    async def daily(self, who: Contractor, args: str, msg: Incoming) -> list[Reply]:
        word = args.lower()
        if word not in ("on", "off"):
            return [Reply("Use /daily on or /daily off.")]
        self.s.team.set_daily(who, word == "on")
        if word == "on":
            return [Reply("Each morning at 08:00 your time, a short list of what is due.")]
        return [Reply("No more daily list.")]

    # --- internals ---------------------------------------------------------------------------

    async def _text(self, who: Contractor, msg: Incoming) -> list[Reply]:
        task_id = self._card_of(msg.replied_to)
        if task_id is not None:
            return self._noted(who, task_id, msg.text, msg.source, msg.file)
        if msg.replied_to is not None:
            raise UserInputError("Reply to one task's card, or send /note ID TEXT.")
        if msg.file is not None:
            raise UserInputError("Send a file as a reply to its task's card, so I know which.")
        if who.timezone is None:
            zone = self.s.team.set_timezone(who, msg.text)
            return [Reply(f"Time zone set: <b>{esc(zone)}</b>.\n{esc(HELP)}")]
        return [Reply("To pass a note on, reply to a task's card or send /note ID TEXT.")]

    @staticmethod
    def _card_of(replied_to: str | None) -> int | None:
        ids = set(CARD_ID.findall(replied_to or ""))
        return int(ids.pop()) if len(ids) == 1 else None

    def _noted(
        self, who: Contractor, task_id: int, text: str, source: str, file: NoteFile | None
    ) -> list[Reply]:
        task = self.s.team.task_of(who, task_id)
        if not self.s.team.note(who, task_id, text, source, file):
            return [Reply("That note was already passed on.")]
        return [Reply(f"📝 Passed on, with #{task.id} {bold(task.title)}.")]

    async def _press(self, who: Contractor, data: str | None, source: str) -> list[Reply]:
        cb = callbacks.decode(data)
        if cb.action not in ACTIONS:
            raise callbacks.BadCallback()
        task_id = cb.int_arg(0)
        if cb.action == "kd":
            result = self.s.team.done(who, task_id, cb.args[1], source)
            task = result.task
            if result.next_due is None:
                return [Reply(f"✓ Done: {bold(task.title)}. Thank you!", edit=True, toast="Done")]
            now = self.s.clock.now()
            line = task_text(task, self.s.team.tz(who), self.s.prefs.tz, now)
            return [Reply(f"✓ Done. Next time: {line}", edit=True, toast="Done")]
        if cb.action == "ks":
            return [self._snooze_menu(who, task_id)]
        until = self._preset(who, cb.args[1])
        task = self.s.team.snooze(who, task_id, until, source)
        now = self.s.clock.now()
        line = task_text(task, self.s.team.tz(who), self.s.prefs.tz, now)
        return [Reply(f"⏰ Snoozed: {line}", edit=True, toast="Snoozed")]

    def _snooze_menu(self, who: Contractor, task_id: int) -> Reply:
        task = self.s.team.task_of(who, task_id)
        limit = timedelta(days=self.s.team.snooze_days())
        now = self.s.clock.now()
        row = tuple(
            Button(label, callbacks.encode("kz", task.id, key))
            for key, label in SNOOZES.items()
            if self._preset(who, key) <= now + limit
        )
        if not row:
            raise UserInputError("Snoozing is off for your tasks; add a /note instead.")
        return Reply(f"Snooze {bold(task.title)} until…", buttons=(row,))

    def _preset(self, who: Contractor, key: str) -> datetime:
        now, tz = self.s.clock.now(), self.s.team.tz(who)
        if key == "1h":
            return now + timedelta(hours=1)
        if key == "2d":
            return now + timedelta(days=2)
        if key == "1w":
            return now + timedelta(days=7)
        if key == "tm":
            tomorrow = dates.to_local(now, tz).date() + timedelta(days=1)
            return dates.from_local(datetime.combine(tomorrow, time(9, 0)), tz)
        raise callbacks.BadCallback()
