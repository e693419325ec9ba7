"""/tasks as one message a page: a header with the total, each task's line and buttons, and
"◂ Back" / "More ▸" buttons that edit the message to the neighbouring page.

A page button carries the list's filter and its first row (``tp:week:15``); the service clamps
an offset past the end, so a button older than the latest changes shows the current last page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.commands import callbacks
from bot.commands.reply import Button, Reply, esc
from bot.db.models import Task
from bot.services.tasks.service import TaskPage

PAGE_SIZE = 15  # a phone screen of tasks and their Done / Snooze rows
PAGE_CHARS = 3800  # a page stays one Telegram message (4,096 characters) even with long titles
MAX_OFFSET_DIGITS = 9
LABELS = {
    "today": "due by today",
    "week": "due within 7 days",
    "overdue": "overdue",
}


def due_stamp(task: Task) -> str:
    """A short token of the task's current due instant, carried in the Done button."""
    return "0" if task.due_at is None else format(int(task.due_at.timestamp()) // 60, "x")


def task_buttons(task: Task) -> tuple[Button, Button]:
    short = task.title if len(task.title) <= 18 else task.title[:17] + "…"
    return (
        Button(f"✓ #{task.id} {short}", callbacks.encode("td", task.id, due_stamp(task))),
        Button("⏰ Snooze", callbacks.encode("ts", task.id)),
    )


def what(which: str | None, total: int) -> str:
    """'1,000 open tasks', '1 overdue task', '3 open tasks for @maria'."""
    noun = "task" if total == 1 else "tasks"
    if which == "overdue":
        return f"{total:,} overdue {noun}"
    if which is not None and which.startswith("@"):
        return f"{total:,} open {noun} for {which}"
    label = LABELS.get(which or "", "")
    return f"{total:,} open {noun}" + (f" {label}" if label else "")


def page_reply(page: TaskPage, which: str | None, line: Callable[[Task], str]) -> Reply:
    """One message: the header, as many of the page's tasks as fit, their buttons, the paging."""
    lines = [line(t) for t in page.tasks]
    shown = _fitting(lines)
    end = page.offset + shown
    header = f"<b>{esc(what(which, page.total))}</b>"
    if page.offset == 0 and end < page.total:
        header += f" — the next {shown} by due date"
    elif page.offset > 0:
        header += f" — {page.offset + 1:,} to {end:,} by due date"
    rows: list[tuple[Button, ...]] = [task_buttons(t) for t in page.tasks[:shown]]
    nav = [
        b
        for b in (
            _page_button("◂ Back", which, max(0, page.offset - PAGE_SIZE), page.offset > 0),
            _page_button("More ▸", which, end, end < page.total),
        )
        if b is not None
    ]
    if nav:
        rows.append(tuple(nav))
    return Reply("\n".join([header, *lines[:shown]]), buttons=tuple(rows))


def parse_page(cb: callbacks.Callback) -> tuple[str | None, int]:
    """The filter and offset of a page button; anything else is not a button of ours."""
    which, offset = cb.args
    if not (offset.isascii() and offset.isdigit()) or len(offset) > MAX_OFFSET_DIGITS:
        raise callbacks.BadCallback()
    if which == "done":
        raise callbacks.BadCallback()
    return which or None, int(offset)


def _fitting(lines: Sequence[str]) -> int:
    """How many of `lines` fit in one message (at least one)."""
    used = 200  # the header
    for count, text in enumerate(lines):
        used += len(text) + 1
        if used > PAGE_CHARS:
            return max(1, count)
    return len(lines)


def _page_button(label: str, which: str | None, offset: int, wanted: bool) -> Button | None:
    if not wanted:
        return None
    try:
        return Button(label, callbacks.encode("tp", which or "", offset))
    except ValueError:  # an @name too long for Telegram's 64 bytes: the list stays one page
        return None
