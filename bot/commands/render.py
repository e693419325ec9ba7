"""Task, date and briefing text in Telegram's HTML subset (every user text escaped)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.commands.reply import bold, esc
from bot.db.models import Task, TaskCompletion
from bot.services.tasks import dates
from bot.services.tasks.briefing import Briefing, by_assignee


def when(at: datetime | None, has_time: bool, tz: ZoneInfo, now: datetime) -> str:
    """'Fri 28 Nov 15:00', 'Sun 31 Jan 2027' (the year only when it isn't this one)."""
    if at is None:
        return "no date"
    local = dates.to_local(at, tz)
    text = local.strftime("%a %d %b").replace(" 0", " ")
    if local.year != dates.to_local(now, tz).year:
        text += f" {local.year}"
    if has_time:
        text += local.strftime(" %H:%M")
    return text


def task_line(task: Task, tz: ZoneInfo, now: datetime, *, overdue: bool = False) -> str:
    parts = [f"#{task.id} {bold(task.title)}", "— " + when(task.due_at, task.has_time, tz, now)]
    if task.repeat_rule:
        parts.append("· " + esc(dates.describe_rule(task.repeat_rule)))
    if task.assignee:
        parts.append("· @" + esc(task.assignee))
    line = " ".join(parts)
    return ("⚠️ " + line + " <i>(overdue)</i>") if overdue else line


def completion_line(done: TaskCompletion, tz: ZoneInfo, now: datetime) -> str:
    due = when(done.due_at, True, tz, now).rsplit(" ", 1)[0] if done.due_at else "no date"
    who = f" · @{esc(done.assignee)}" if done.assignee else ""
    finished = when(done.done_at, False, tz, now)
    return f"✓ {esc(done.title)} (due {due}){who} — done {finished}"


def briefing_text(b: Briefing, tz: ZoneInfo, now: datetime, *, late: bool = False) -> str:
    head = f"☀️ <b>Briefing for {b.day.strftime('%a %d %b').replace(' 0', ' ')}</b>"
    if late:
        head += " <i>(late: I was offline at the usual time)</i>"
    if b.empty:
        return head + "\nNothing due in the next 7 days, no open proposals, no one waiting. 🎉"
    lines = [head]
    for title, tasks, overdue in (
        ("Overdue", b.overdue, True),
        ("Due today", b.today, False),
        ("Next 7 days", b.week, False),
    ):
        if tasks:
            lines += ["", f"<b>{title}</b>", *_grouped(tasks, tz, now, overdue)]
    for title, items in b.extras.items():
        if items:
            lines += ["", f"<b>{esc(title)}</b>", *items]
    return "\n".join(lines)


def _grouped(tasks: Sequence[Task], tz: ZoneInfo, now: datetime, overdue: bool) -> list[str]:
    lines: list[str] = []
    for who, group in by_assignee(tasks):
        if who is not None:
            lines.append(f"  👤 <i>@{esc(who)}</i>")
        indent = "    " if who is not None else "  "
        lines += [indent + task_line(t, tz, now, overdue=overdue) for t in group]
    return lines
