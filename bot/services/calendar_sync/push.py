"""Out to the calendar: the half of a round that writes microdesk's tasks to the server.

    run(links) ─▶ each open dated task whose fingerprint differs from its links, or whose links
                  name other UIDs (an older version's, or a to-do the calendar now holds or no
                  longer does), is written: its event, and its to-do where the calendar holds
                  VTODOs (If-Match the link's ETag; a 412 waits for the next round's pull)
               ─▶ links of done, deleted or undated tasks, and of UIDs a task no longer has,
                  are deleted on the server
    sweep(changes) (a round without a token: the first, or the first after a restore)
               ─▶ events of ours on the server that no link names are deleted

Only changed tasks are loaded as objects: a quiet round reads plain columns. What was written
is recorded BATCH at a time, never inside a network call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.calendar import CalendarLink
from bot.db.models import OPEN, Task
from bot.services.calendar_sync import events
from bot.services.calendar_sync.records import Link, Round, read_links
from bot.services.calendar_sync.server import CalDAVServer, Changes, Stale
from bot.services.tasks import export

BATCH = 100  # writes recorded per transaction while pushing
Write = Callable[[Session], None]

FINGERPRINTED = (
    Task.id,
    Task.title,
    Task.assignee,
    Task.due_at,
    Task.has_time,
    Task.repeat_rule,
    Task.repeat_anchor,
    Task.status,
)


class Push:
    """One round's writes to `server`, counted in `done`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        server: CalDAVServer,
        tz: ZoneInfo,
        install: str,
        now: datetime,
        done: Round,
    ) -> None:
        self._sessions, self._server, self._tz = sessions, server, tz
        self._install, self._now, self._done = install, now, done
        self._writes: list[Write] = []

    def run(self, known: list[Link] | None = None) -> None:
        """Write the tasks that differ from their links; delete what is gone."""
        with self._sessions() as session:
            rows = session.execute(
                select(*FINGERPRINTED).where(Task.status == OPEN, Task.due_at.is_not(None))
            ).all()
            links = known if known is not None else read_links(session)
        by_task: dict[int, list[Link]] = {}
        for link in links:
            by_task.setdefault(link.task_id, []).append(link)
        prints = {row.id: events.fingerprint(row, self._tz) for row in rows}
        for link in links:
            if link.task_id not in prints:
                self._delete(link)
        changed = [
            task_id
            for task_id, print_ in prints.items()
            if {link.uid for link in by_task.get(task_id, [])} != self._uids(task_id)
            or any(link.fingerprint != print_ for link in by_task[task_id])
        ]
        for start in range(0, len(changed), BATCH):
            for task in self._tasks(changed[start : start + BATCH]):
                self._write(task, prints[task.id], by_task.get(task.id, []))
            self._commit()
        self._commit()

    def sweep(self, changes: Changes) -> None:
        """A round without a token saw the whole calendar: an event of ours that no link names
        belongs to no task any more (written before a restore, or by a sync whose links were
        lost), so it is deleted, never read back as the owner's."""
        with self._sessions() as session:
            linked = set(session.scalars(select(CalendarLink.href)))
        for href, etag in sorted(changes.changed.items()):
            if href in linked or not events.ours(href, self._install):
                continue
            try:
                self._server.delete(href, etag)
            except Stale:
                continue  # the owner just changed it: it stays theirs
            self._done.deleted += 1

    def _uids(self, task_id: int) -> set[str]:
        """The UIDs a task's resources have on the server: its event, and its to-do."""
        event = export.uid_for(task_id, self._install)
        if not self._server.todos:
            return {event}
        return {event, events.todo_uid(task_id, self._install)}

    def _tasks(self, ids: Sequence[int]) -> Sequence[Task]:
        with self._sessions() as session:
            return session.scalars(select(Task).where(Task.id.in_(ids)).order_by(Task.id)).all()

    def _write(self, task: Task, print_: str, mine: Sequence[Link]) -> None:
        known = {link.uid: link for link in mine}
        server = self._server
        made = events.resources(task, self._tz, self._now, self._install, todos=server.todos)
        for resource in made:
            link = known.get(resource.uid)
            href = link.href if link else server.event_path(resource.uid)
            try:
                etag = server.put(href, resource.body, link.etag if link else None)
            except Stale:
                continue  # changed meanwhile in the calendar: the next round reads it first
            self._writes.append(_upsert(resource, task.id, href, etag, print_, self._now))
            self._done.written += 1
        uids = {r.uid for r in made}
        for link in mine:
            if link.uid not in uids:
                self._delete(link)

    def _delete(self, link: Link) -> None:
        try:
            self._server.delete(link.href, link.etag)
        except Stale:
            return
        self._writes.append(_unlink(link.uid))
        self._done.deleted += 1

    def _commit(self) -> None:
        if not self._writes:
            return
        with self._sessions.begin() as session:
            for write in self._writes:
                write(session)
        self._writes.clear()


def _upsert(
    resource: events.Resource,
    task_id: int,
    href: str,
    etag: str | None,
    print_: str,
    now: datetime,
) -> Write:
    def write(session: Session) -> None:
        row = session.get(CalendarLink, resource.uid)
        if row is None:
            row = CalendarLink(uid=resource.uid)
            session.add(row)
        row.task_id, row.href, row.etag, row.fingerprint = task_id, href, etag, print_
        row.start, row.carries_due, row.synced_at = resource.start, bool(resource.start), now

    return write


def _unlink(uid: str) -> Write:
    def write(session: Session) -> None:
        session.execute(delete(CalendarLink).where(CalendarLink.uid == uid))

    return write
