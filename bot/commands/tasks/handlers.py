"""/add, /tasks, /done, /snooze, /edit, /delete and the task buttons."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.commands import callbacks
from bot.commands.callbacks import BadCallback, Callback
from bot.commands.render import completion_line, task_line, when
from bot.commands.reply import Button, Reply, bold, esc
from bot.commands.tasks.pages import PAGE_SIZE, due_stamp, page_reply, parse_page, task_buttons
from bot.db.models import Task
from bot.errors import UserInputError
from bot.services.tasks.dates import Due
from bot.services.tasks.service import ADD_EXAMPLE, DateChoiceNeeded, TaskDraft

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

SNOOZE_PRESETS = {
    "1h": ("1 hour", "in 1 hour"),
    "tm": ("Tomorrow 9:00", "tomorrow 9am"),
    "3d": ("3 days", "in 3 days"),
    "1w": ("Next week", "in 1 week"),
}


DATE_QUESTION = "date-question"


def _draft_json(draft: TaskDraft) -> dict[str, object]:
    due = draft.due
    return {
        "title": draft.title,
        "at": due.at_utc.isoformat() if due else None,
        "has_time": due.has_time if due else False,
        "rule": draft.rule,
        "assignee": draft.assignee,
    }


def _draft_of(data: dict[str, object]) -> TaskDraft:
    at = data.get("at")
    due = (
        Due(datetime.fromisoformat(at), bool(data.get("has_time"))) if isinstance(at, str) else None
    )
    rule, who = data.get("rule"), data.get("assignee")
    return TaskDraft(
        str(data["title"]), due, rule if isinstance(rule, str) else None,
        who if isinstance(who, str) else None,
    )  # fmt: skip


def zoned_when(s: Services, at: datetime | None, has_time: bool) -> str:
    """A date as the cards show it; until a zone is chosen, it says which zone it is in."""
    text = when(at, has_time, s.prefs.tz, s.clock.now())
    if at is not None and not s.prefs.zone_chosen:
        text += f" ({s.prefs.timezone_name})"
    return text


def date_question(s: Services, ask: DateChoiceNeeded) -> Reply:
    """One button per reading and one for "no date"; nothing is saved until one is pressed
    (the press is handled by :meth:`TaskCommands.press_date_choice`)."""
    stamp = str(int(s.clock.now().timestamp() * 1000) % 10**9)
    drafts = [_draft_json(d) for d in ask.drafts]
    s.prefs.set_note(DATE_QUESTION, json.dumps({"stamp": stamp, "drafts": drafts}))
    buttons = [
        Button(zoned_when(s, d.due.at_utc, d.due.has_time) if d.due else "No date",
               callbacks.encode("dq", stamp, index))
        for index, d in enumerate(ask.drafts)
    ]  # fmt: skip
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    return Reply(f"🤔 {esc(ask.question)} Nothing is saved until you choose.", buttons=rows)


def parse_id(args: str, usage: str) -> tuple[int, str]:
    head, _, rest = args.strip().partition(" ")
    head = head.lstrip("#")
    if not (head.isascii() and head.isdigit()) or len(head) > 9:
        raise UserInputError(f"Give the task number first, e.g. {usage}.")
    return int(head), rest.strip()


class TaskCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def register(self, router: Router) -> None:
        router.command("add", "add a task: /add Pay rent monthly on the 1st", self.add)
        router.command("tasks", "list tasks: today, week, overdue, all, done, @name", self.tasks)
        router.command("done", "mark a task done: /done 3", self.done)
        router.command("snooze", "move a task: /snooze 3 tomorrow 9am", self.snooze)
        router.command("edit", "change a task: /edit 3 New title friday", self.edit)
        router.command("delete", "delete a task (asks first): /delete 3", self.delete)
        router.on_callback("td", self.press_done)
        router.on_callback("ts", self.press_snooze)
        router.on_callback("tz", self.press_snooze_preset)
        router.on_callback("tx", self.press_delete)
        router.on_callback("ty", self.press_delete_yes)
        router.on_callback("tn", self.press_delete_no)
        router.on_callback("tp", self.press_page)
        router.on_callback("dq", self.press_date_choice)

    def _line(self, task: Task) -> str:
        now = self.s.clock.now()
        line = task_line(task, self.s.prefs.tz, now, overdue=self.s.tasks.is_overdue(task, now))
        if task.due_at is not None and not self.s.prefs.zone_chosen:
            line += f" ({esc(self.s.prefs.timezone_name)})"  # until a zone is chosen
        return line

    def _due(self, task: Task) -> str:
        return self._when(task.due_at, task.has_time)

    def _when(self, at: datetime | None, has_time: bool) -> str:
        return zoned_when(self.s, at, has_time)

    async def add(self, args: str) -> list[Reply]:
        """Save a task from the owner's words; a date that reads two ways is asked about."""
        try:
            task = self.s.tasks.add(args)
        except DateChoiceNeeded as ask:
            return [date_question(self.s, ask)]
        return [self._added(task)]

    def _added(self, task: Task, *, edit: bool = False) -> Reply:
        text = "Added: " + self._line(task)
        return Reply(text, buttons=(task_buttons(task),), edit=edit)

    async def press_date_choice(self, cb: Callback) -> list[Reply]:
        """The owner picked a reading (or "no date"): the task is saved with it."""
        stored = json.loads(self.s.prefs.note(DATE_QUESTION) or "{}")
        index = cb.args[1]
        drafts = stored.get("drafts", [])
        if stored.get("stamp") != cb.args[0] or not index.isdigit() or int(index) >= len(drafts):
            raise BadCallback()
        self.s.prefs.set_note(DATE_QUESTION, "{}")
        task = self.s.tasks.create(_draft_of(drafts[int(index)]))
        return [self._added(task, edit=True)]

    async def tasks(self, args: str) -> list[Reply]:
        """List open tasks a page at a time, due first, with Done / Snooze buttons."""
        which = args.strip().lower() or None
        if which == "done":
            return [self._completions()]
        if which == "all":  # the open tasks, then what was done
            return [self._page(None, 0), self._completions()]
        return [self._page(which, 0)]

    async def press_page(self, cb: Callback) -> list[Reply]:
        """◂ Back / More ▸ under a task list: the same message shows the other page."""
        which, offset = parse_page(cb)
        return [replace(self._page(which, offset), edit=True)]

    def _page(self, which: str | None, offset: int) -> Reply:
        page = self.s.tasks.page(which, offset, PAGE_SIZE)
        if not page.total:
            label = f" ({which})" if which else ""
            return Reply(f"No open tasks{label}. Add one with {ADD_EXAMPLE}")
        return page_reply(page, which, self._line)

    def _completions(self) -> Reply:
        done = self.s.tasks.completions()
        if not done:
            return Reply("Nothing marked done yet.")
        tz, now = self.s.prefs.tz, self.s.clock.now()
        return Reply("\n".join(["<b>Done</b>", *(completion_line(d, tz, now) for d in done)]))

    async def done(self, args: str) -> list[Reply]:
        """Mark a task done; a repeating one rolls to its next date."""
        task_id, _ = parse_id(args, "/done 3")
        return [self._completed(task_id)]

    def _completed(self, task_id: int) -> Reply:
        result = self.s.tasks.complete(task_id)
        task = result.task
        if result.next_due is None:
            return Reply(f"✓ Done: {bold(task.title)}", toast="Done")
        text = f"✓ Done: {bold(task.title)}. Next due: {self._due(task)}."
        return Reply(text, buttons=(task_buttons(task),), toast="Done; rolled to the next date")

    async def snooze(self, args: str) -> list[Reply]:
        """Move a task's due date."""
        task_id, when_text = parse_id(args, "/snooze 3 tomorrow 9am")
        task = self.s.tasks.snooze(task_id, when_text)
        return [Reply(f"⏰ Moved {bold(task.title)} to {self._due(task)}.")]

    async def edit(self, args: str) -> list[Reply]:
        """Change a task's title, date or assignee."""
        task_id, text = parse_id(args, "/edit 3 Renew licence friday")
        task = self.s.tasks.edit(task_id, text)
        return [Reply("Changed: " + self._line(task))]

    async def delete(self, args: str) -> list[Reply]:
        """Ask before deleting a task."""
        task_id, _ = parse_id(args, "/delete 3")
        task = self.s.tasks.get(task_id)
        buttons = (
            Button("🗑 Delete", callbacks.encode("ty", task.id)),
            Button("Keep", callbacks.encode("tn", task.id)),
        )
        text = f"Delete #{task.id} {bold(task.title)}? This can't be undone."
        return [Reply(text, buttons=(buttons,))]

    async def press_done(self, cb: Callback) -> list[Reply]:
        task = self.s.tasks.get(cb.int_arg(0))
        if task.status == "open" and due_stamp(task) != cb.args[1]:
            raise UserInputError("That task has changed since this list; send /tasks again.")
        return [self._completed(task.id)]

    async def press_snooze(self, cb: Callback) -> list[Reply]:
        task = self.s.tasks.get(cb.int_arg(0))
        row = tuple(
            Button(label, callbacks.encode("tz", task.id, key))
            for key, (label, _) in SNOOZE_PRESETS.items()
        )
        return [Reply(f"Snooze {bold(task.title)} until…", buttons=(row[:2], row[2:]))]

    async def press_snooze_preset(self, cb: Callback) -> list[Reply]:
        preset = SNOOZE_PRESETS.get(cb.args[1])
        if preset is None:
            raise BadCallback()
        task = self.s.tasks.snooze(cb.int_arg(0), preset[1])
        return [Reply(f"⏰ Moved {bold(task.title)} to {self._due(task)}.", edit=True)]

    async def press_delete(self, cb: Callback) -> list[Reply]:
        return await self.delete(str(cb.int_arg(0)))

    async def press_delete_yes(self, cb: Callback) -> list[Reply]:
        task = self.s.tasks.delete(cb.int_arg(0))
        return [Reply(f"🗑 Deleted #{task.id} {bold(task.title)}.", edit=True, toast="Deleted")]

    async def press_delete_no(self, cb: Callback) -> list[Reply]:
        task = self.s.tasks.get(cb.int_arg(0))
        return [Reply(f"Kept #{task.id} {bold(task.title)}.", edit=True)]
