"""Tasks and deadlines: add, list, complete (repeating tasks roll), snooze, edit, delete.

Instants are stored in UTC; parsing and repeats are computed in the business's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.dates import Context
from bot.db.models import DONE, OPEN, Task, TaskCompletion
from bot.db.tasks import OpenFilter, TaskRepo
from bot.errors import DateError, NotFoundError, UserInputError
from bot.services.audit import OWNER, TASKS, AuditLog
from bot.services.prefs import Preferences
from bot.services.tasks import dates

MAX_TITLE = 300
FILTERS = ("today", "week", "overdue", "all", "done")
ADD_EXAMPLE = "/add File VAT return every quarter due Jan 31"


@dataclass(frozen=True)
class TaskDraft:
    """A task read from words, not yet saved: exactly what a proposal card shows."""

    title: str
    due: dates.Due | None
    rule: str | None
    assignee: str | None


class DateChoiceNeeded(DateError):
    """The date words read more than one way: the owner picks one of `drafts`.

    The last draft is always the task with no date; str(exc) is the question.
    """

    def __init__(self, question: str, drafts: Sequence[TaskDraft]) -> None:
        super().__init__(question)
        self.question = question
        self.drafts = tuple(drafts)


@dataclass(frozen=True)
class TaskChange:
    """What an edit changes; None leaves a field as it is."""

    title: str | None = None
    due: dates.Due | None = None
    assignee: str | None = None
    rule: str | None = None


@dataclass(frozen=True)
class Completed:
    """The result of marking a task done: for a repeating task, its next due instant."""

    task: Task
    next_due: datetime | None


@dataclass(frozen=True)
class TaskPage:
    """One page of a task list: its tasks, where it starts, and how many the whole list has."""

    tasks: Sequence[Task]
    offset: int
    total: int


class TaskService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        prefs: Preferences,
        audit: AuditLog,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs
        self._audit = audit

    def draft(self, text: str) -> TaskDraft:
        """Read a task from the owner's words (title, date, repeat, @assignee) without saving.

        DateChoiceNeeded when the date reads two ways (or can't be read): nothing is saved.
        """
        parsed = self._parse(text)
        if parsed.rule and parsed.due is None:
            raise DateError("When is it first due? Add a date, e.g. “… every quarter due Jan 31”.")
        return TaskDraft(parsed.title, parsed.due, parsed.rule, parsed.assignee)

    def draft_parts(
        self, title: str, due: str | None, repeat: str | None, assignee: str | None
    ) -> TaskDraft:
        """A task from separate parts (as the AI proposes them), read like /add would."""
        title = " ".join(title.split())
        if not title or len(title) > MAX_TITLE:
            raise UserInputError(f"A task title needs 1 to {MAX_TITLE} characters.")
        when: dates.Due | None = None
        rule: str | None = None
        if repeat and due:
            rule = self._parse(f"task {repeat} today").rule  # the rule alone; the date follows
            when = self._suggested(due)
        elif repeat:  # "every monday" names its own first day
            parsed = self._parse(f"task {repeat}")
            when, rule = parsed.due, parsed.rule
        elif due:
            when = self._suggested(due)
        if rule and when is None:
            raise DateError("When is it first due? Add a date, e.g. “… every quarter due Jan 31”.")
        who = normalise_assignee(assignee) if assignee else None
        return TaskDraft(title, when, rule, who or None)

    @staticmethod
    def change_of(title: str | None, due: dates.Due | None) -> TaskChange:
        return TaskChange(title=" ".join(title.split()) if title else None, due=due)

    def add(self, text: str, by: str = OWNER) -> Task:
        """A task from the owner's words: title, date, repeat and @assignee."""
        return self.create(self.draft(text), by)

    def create(self, draft: TaskDraft, by: str = OWNER) -> Task:
        with self._sessions.begin() as session:
            return self.create_in(session, draft, by)

    def create_in(self, session: Session, draft: TaskDraft, by: str = OWNER) -> Task:
        """Save a task inside the caller's transaction; `by` is who (bot.services.audit)."""
        now = self._clock.now()
        due = draft.due
        task = Task(
            title=draft.title,
            assignee=draft.assignee,
            due_at=due.at_utc if due else None,
            has_time=due.has_time if due else False,
            repeat_rule=draft.rule if due else None,
            repeat_anchor=self._local_naive(due.at_utc) if due and draft.rule else None,
            status=OPEN,
            created_at=now,
            updated_at=now,
        )
        TaskRepo(session).add(task)
        self._record(session, by, "added", task)
        return task

    def get(self, task_id: int) -> Task:
        with self._sessions() as session:
            return self._find(session, task_id)

    def list(self, which: str | None = None) -> Sequence[Task]:
        """Open tasks, due first; `which` is today, week, overdue, all or @name."""
        query = self._filter(which)
        with self._sessions() as session:
            return TaskRepo(session).open_filtered(query)

    def page(self, which: str | None, offset: int, size: int) -> TaskPage:
        """`size` open tasks from `offset` of the list `which` names, and how many there are.

        An offset past the end (the list shrank since a page button was sent) gives the last page.
        """
        query = self._filter(which)
        with self._sessions() as session:
            repo = TaskRepo(session)
            total = repo.count_filtered(query)
            if offset >= total:
                offset = max(0, (total - 1) // size * size)
            return TaskPage(repo.open_filtered(query, offset=offset, limit=size), offset, total)

    def _filter(self, which: str | None) -> OpenFilter:
        now = self._clock.now()
        if which is None or which == "all":
            return OpenFilter()
        if which.startswith("@") and normalise_assignee(which):
            return OpenFilter(assignee=normalise_assignee(which))
        if which == "today":
            return OpenFilter(due_before=self.end_of_day(now))
        if which == "week":
            return OpenFilter(due_before=self.end_of_day(now + timedelta(days=7)))
        if which == "overdue":
            return OpenFilter(overdue=(now, self.start_of_day(now)))
        raise UserInputError(f"I can list today, week, overdue, all, done or @name, not “{which}”.")

    def completions(self, limit: int = 50) -> Sequence[TaskCompletion]:
        with self._sessions() as session:
            return TaskRepo(session).completions(limit)

    def complete(self, task_id: int, by: str = OWNER) -> Completed:
        """Mark done; a repeating task records the completion and rolls to its next date."""
        with self._sessions.begin() as session:
            return self.complete_in(session, task_id, by)

    def complete_in(self, session: Session, task_id: int, by: str = OWNER) -> Completed:
        now = self._clock.now()
        task = self._open(session, task_id)
        self._record(session, by, "marked done", task)
        TaskRepo(session).add_completion(
            TaskCompletion(
                task_id=task.id,
                title=task.title,
                assignee=task.assignee,
                due_at=task.due_at,
                done_at=now,
            )
        )
        task.updated_at = now
        task.revision = (task.revision or 0) + 1
        if task.repeat_rule and task.due_at and task.repeat_anchor:
            task.due_at = self._next_due(task)
            return Completed(task, task.due_at)
        task.status = DONE
        task.done_at = now
        return Completed(task, None)

    def snooze(self, task_id: int, when: str, by: str = OWNER) -> Task:
        """Move the due date (the repeat rule keeps its anchor).

        A new date without a time keeps the task's time of day: "/snooze 3 2 days" on a 15:00
        task gives 15:00 two days later.
        """
        if not when.strip():
            raise UserInputError("Say until when, e.g. /snooze 3 tomorrow 9am.")
        due = self._when(when)
        with self._sessions.begin() as session:
            task = self._open(session, task_id)
            if not due.has_time and task.has_time and task.due_at is not None:
                due = self._keep_time(due, task.due_at)
            task.due_at, task.has_time = due.at_utc, due.has_time
            task.updated_at = self._clock.now()
            task.revision = (task.revision or 0) + 1
            self._record(session, by, "snoozed", task)
            return task

    def edit(self, task_id: int, text: str, by: str = OWNER) -> Task:
        """New title and/or date and/or @assignee; what the text leaves out stays."""
        change = self.read_change(text)
        with self._sessions.begin() as session:
            return self.change_in(session, task_id, change, by)

    def read_change(self, text: str) -> TaskChange:
        """What an edit text changes: a title, a date, an assignee, a repeat."""
        if not text.strip():
            raise UserInputError("Say what to change, e.g. /edit 3 Renew licence friday.")
        try:
            parsed = self._parse(text)
        except UserInputError:
            # only a date and/or an @assignee ("/edit 3 friday", "/edit 3 @maria"): keep the title
            words = text.split()
            named = [w for w in words if w.startswith("@") and normalise_assignee(w)]
            rest = " ".join(w for w in words if w not in named)
            who = normalise_assignee(named[0]) if named else None
            return TaskChange(due=self._when(rest) if rest else None, assignee=who)
        return TaskChange(parsed.title, parsed.due, parsed.assignee, parsed.rule)

    def change_in(
        self, session: Session, task_id: int, change: TaskChange, by: str = OWNER
    ) -> Task:
        task = self._open(session, task_id)
        before = self._described(task)
        task.title = change.title or task.title
        task.assignee = change.assignee or task.assignee
        if change.due is not None:
            task.due_at, task.has_time = change.due.at_utc, change.due.has_time
        if change.rule is not None and task.due_at is not None:
            task.repeat_rule, task.repeat_anchor = change.rule, self._local_naive(task.due_at)
        task.updated_at = self._clock.now()
        task.revision = (task.revision or 0) + 1
        self._audit.record(
            by, TASKS, "edited", f"{before} → {self._described(task)}"[:500], session=session
        )
        return task

    def delete(self, task_id: int, by: str = OWNER) -> Task:
        with self._sessions.begin() as session:
            task = self._find(session, task_id)
            self._record(session, by, "deleted", task)
            TaskRepo(session).delete(task)
            return task

    def _record(self, session: Session, by: str, action: str, task: Task) -> None:
        self._audit.record(by, TASKS, action, self._described(task), session=session)

    def _described(self, task: Task) -> str:
        """'#3 File VAT return · due 2027-01-31 10:00' (the owner's zone) for the audit log."""
        text = f"#{task.id} {task.title}"
        if task.assignee:
            text += f" · @{task.assignee}"
        if task.due_at is not None:
            local = task.due_at.astimezone(self._prefs.tz)
            text += f" · due {local:%Y-%m-%d %H:%M}" if task.has_time else f" · due {local:%F}"
        return text

    # --- time helpers shared by briefing and rendering -------------------------------------

    def is_overdue(self, task: Task, now: datetime) -> bool:
        """Timed tasks are overdue after their instant; date-only ones after their day."""
        if task.due_at is None:
            return False
        if task.has_time:
            return task.due_at < now
        return (
            dates.to_local(task.due_at, self._prefs.tz).date()
            < dates.to_local(now, self._prefs.tz).date()
        )

    def start_of_day(self, instant: datetime) -> datetime:
        """The UTC instant at which the local day containing `instant` began."""
        local = dates.to_local(instant, self._prefs.tz)
        return dates.from_local(datetime.combine(local.date(), datetime.min.time()), self._prefs.tz)

    def end_of_day(self, instant: datetime) -> datetime:
        """The UTC instant at which the local day containing `instant` ends."""
        local = dates.to_local(instant, self._prefs.tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
        return dates.from_local(midnight, self._prefs.tz)

    # --- internals --------------------------------------------------------------------------

    def rezone(self, old: ZoneInfo, new: ZoneInfo) -> int:
        """Keep every open task at its local wall-clock time when the zone changes.

        A 09:00 meeting stays 09:00 in the new zone; a date-only task keeps its date. Returns
        how many tasks moved. Call it in the same breath as the zone change.
        """
        moved = 0
        with self._sessions.begin() as session:
            for task in TaskRepo(session).open_filtered(OpenFilter()):
                if task.due_at is None:
                    continue
                wall = dates.to_local(task.due_at, old).replace(tzinfo=None)
                task.due_at = dates.from_local(wall, new)
                task.revision = (task.revision or 0) + 1
                moved += 1
        return moved

    def _keep_time(self, due: dates.Due, old_due: datetime) -> dates.Due:
        tz = self._prefs.tz
        day = dates.to_local(due.at_utc, tz).date()
        clock = dates.to_local(old_due, tz).time().replace(tzinfo=None)
        return dates.Due(dates.from_local(datetime.combine(day, clock), tz), True)

    def _suggested(self, due: str) -> dates.Due:
        try:
            return dates.read_suggested(due, self._clock.now(), self._prefs.tz, self._context())
        except dates.DateParseError as exc:
            raise DateError(f"I couldn't use the date “{due[:40]}”: {exc}") from exc

    def _context(self) -> Context:
        return self._prefs.date_context(self._clock.now())

    def _parse(self, text: str) -> dates.ParsedTask:
        text = text.strip()
        if not text:
            raise UserInputError(f"Tell me what to add, for example: {ADD_EXAMPLE}")
        if len(text) > MAX_TITLE + 100:
            raise UserInputError(
                f"That is too long for a task; keep it under {MAX_TITLE} characters."
            )
        try:
            parsed = dates.parse_task_text(text, self._clock.now(), self._prefs.tz, self._context())
        except dates.DateQuestion as ask:
            raise DateChoiceNeeded(ask.question, self._drafts_of(ask)) from ask
        except dates.EmptyTitleError as exc:
            raise UserInputError(f"Tell me what to add, for example: {ADD_EXAMPLE}") from exc
        except dates.DateParseError as exc:
            raise DateError(str(exc)) from exc
        if len(parsed.title) > MAX_TITLE:
            raise UserInputError(
                f"That is too long for a task; keep it under {MAX_TITLE} characters."
            )
        return parsed

    @staticmethod
    def _drafts_of(ask: dates.DateQuestion) -> Sequence[TaskDraft]:
        drafts: Sequence[TaskDraft] = ()
        for title, due in ask.choices:
            if title and len(title) <= MAX_TITLE:
                drafts = (*drafts, TaskDraft(title, due, ask.rule if due else None, ask.assignee))
        return drafts

    def _when(self, when: str) -> dates.Due:
        try:
            return dates.parse_when(when, self._clock.now(), self._prefs.tz, self._context())
        except dates.DateParseError as exc:
            raise DateError(str(exc)) from exc

    def _next_due(self, task: Task) -> datetime:
        assert task.repeat_rule and task.due_at and task.repeat_anchor
        tz = self._prefs.tz
        after = self._local_naive(task.due_at)
        business = self._prefs.business
        nxt = dates.next_occurrence(task.repeat_rule, task.repeat_anchor, after, business)
        return dates.from_local(nxt, tz)

    def _local_naive(self, at_utc: datetime) -> datetime:
        return dates.to_local(at_utc, self._prefs.tz).replace(tzinfo=None)

    def _find(self, session: Session, task_id: int) -> Task:
        task = TaskRepo(session).get(task_id)
        if task is None:
            raise NotFoundError(f"There is no task #{task_id}; /tasks lists them.")
        return task

    def _open(self, session: Session, task_id: int) -> Task:
        task = self._find(session, task_id)
        if task.status != OPEN:
            raise UserInputError(f"Task #{task_id} is already done.")
        return task


def normalise_assignee(name: str) -> str:
    return name.lstrip("@").strip().lower()
