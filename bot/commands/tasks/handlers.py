"""/add, /tasks, /done, /snooze, /edit, /delete and the task buttons."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.commands import callbacks
from bot.commands.callbacks import BadCallback, Callback
from bot.commands.render import completion_line, task_line, when
from bot.commands.reply import Button, Reply, bold
from bot.commands.tasks.pages import PAGE_SIZE, due_stamp, page_reply, parse_page, task_buttons
from bot.db.models import Task
from bot.errors import UserInputError
from bot.services.tasks.service import ADD_EXAMPLE

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

SNOOZE_PRESETS = {
    "1h": ("1 hour", "in 1 hour"),
    "tm": ("Tomorrow 9:00", "tomorrow 9am"),
    "3d": ("3 days", "in 3 days"),
    "1w": ("Next week", "in 1 week"),
}


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

    def _line(self, task: Task) -> str:
        now = self.s.clock.now()
        return task_line(task, self.s.prefs.tz, now, overdue=self.s.tasks.is_overdue(task, now))

    def _due(self, task: Task) -> str:
        return when(task.due_at, task.has_time, self.s.prefs.tz, self.s.clock.now())

    async def add(self, args: str) -> list[Reply]:
        """Save a task from the owner's words."""
        task = self.s.tasks.add(args)
        return [Reply("Added: " + self._line(task), buttons=(task_buttons(task),))]

    async def tasks(self, args: str) -> list[Reply]:
        """List open tasks a page at a time, due first, with Done / Snooze buttons."""
        which = args.strip().lower() or None
        if which == "done":
            return [self._completions()]
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
