"""One sync round with the owner's CalDAV calendar: back from the calendar, then out to it.

    connect ─▶ open the calendar (the remembered URL, else found or created by name)
            ─▶ back:  what changed since the sync token (ETags); for each event of ours
                 unchanged start ............ remember the new ETag, nothing else
                 moved, task unchanged here . the task's due moves too (the owner's own action:
                                              applied, audited, announced in one line)
                 deleted, task unchanged .... the task is deleted (audited, announced)
                 moved/deleted, task changed here too ─▶ conflict: microdesk's version is
                                              written back, and the owner is told
            ─▶ out:   (:mod:`bot.services.calendar_sync.push`) each open dated task whose
                      fingerprint differs from its link is written (If-Match its ETag): its
                      event, and its to-do where the calendar holds VTODOs; events and to-dos
                      of done, deleted or undated tasks are deleted; an event linked under an
                      older version's UID (without the install id) is replaced once by the one
                      under the export's UID
            ─▶ sweep (a round without a token only: the first, or the first after a restore):
                      events of ours on the server that no link names are deleted
            ─▶ the new sync token; a failure is told to the owner once per kind, until a round
               succeeds again

Network calls never run inside a database transaction; every change and its notice share one.
Blocking throughout: :mod:`bot.services.calendar_sync.runner` runs it in a worker thread.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.calendar import STATE_ID, CalendarLink, CalendarState
from bot.db.models import OPEN, Task
from bot.db.outbox import NOTICE
from bot.db.proposals import AuditEntry
from bot.services.audit import CALENDAR, OWNER
from bot.services.calendar_sync import events
from bot.services.calendar_sync.push import Push
from bot.services.calendar_sync.records import Link, Round, read_links
from bot.services.calendar_sync.server import TIMEOUT, CalDAVServer, CalendarError, Changes
from bot.services.delivery.outbox import Outgoing, queue
from bot.services.prefs import Preferences
from bot.services.tasks import export
from bot.services.tasks.dates import Due

log = logging.getLogger(__name__)


class CalendarSync:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        prefs: Preferences,
        connect: Callable[[], CalDAVServer] | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs
        self.timeout = TIMEOUT  # seconds a request may wait for the server
        self._connect = connect or (lambda: CalDAVServer(settings, timeout=self.timeout))
        self._server: CalDAVServer | None = None
        self._install_id: str | None = None

    @property
    def target(self) -> str:
        s = self._settings
        return f"{s.CALDAV_URL}|{s.CALDAV_USERNAME or ''}|{s.CALDAV_CALENDAR}"

    def run(self) -> Round:
        """One round; a CalendarError is recorded (and told once), not raised. The connection
        (and the calendar found on it) is kept for the next round while rounds succeed."""
        done = Round()
        try:
            server = self._open()
            token = self._token()
            changes = server.changes(token)
            links = self._pull(server, changes, done)
            push = Push(self._sessions, server, self._tz, self._install, self._clock.now(), done)
            push.run(links)
            if token is None:
                push.sweep(changes)
            self._succeeded(changes.token, done)
        except CalendarError as exc:
            self.close()
            self._failed(done, exc)
        except BaseException:
            self.close()
            raise
        return done

    def close(self) -> None:
        """Drop the connection (the next round opens a new one)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def _open(self) -> CalDAVServer:
        if self._server is not None:
            return self._server
        server = self._connect()
        try:
            state = self._state()
            url = server.open(state.calendar_url if state.target == self.target else None)
            assert url is not None
            self._adopt(url)
        except BaseException:
            server.close()
            raise
        self._server = server
        return server

    def _token(self) -> str | None:
        with self._sessions() as session:
            state = session.get(CalendarState, STATE_ID)
            return state.sync_token if state is not None else None

    # --- back from the calendar --------------------------------------------------------------

    def _pull(self, server: CalDAVServer, changes: Changes, done: Round) -> list[Link] | None:
        """Apply what the owner changed in the calendar; the links as they are after it (None
        when something changed, so the push reads them again)."""
        with self._sessions() as session:
            links = {link.href: link for link in read_links(session)}
        gone = set(changes.deleted)
        if changes.full:
            gone |= {href for href in links if href not in changes.changed}
        for href in sorted(gone):
            if href in links:
                self._gone(links[href], done)
        for href, etag in changes.changed.items():
            link = links.get(href)
            if link is None or (etag is not None and etag == link.etag):
                continue  # not ours (an event the owner made), or our own write
            body = server.fetch(href)
            done.pulled += 1
            if body is None:
                self._gone(link, done)
            elif link.carries_due:
                self._changed(link, events.remote_start(body, link.start, self._tz), etag, done)
            else:
                self._set_etag(link.uid, etag)
        touched = bool(gone & links.keys()) or done.pulled > 0
        return None if touched else list(links.values())

    def _gone(self, link: Link, done: Round) -> None:
        """The owner deleted the event in the calendar."""
        with self._sessions.begin() as session:
            row, task = session.get(CalendarLink, link.uid), session.get(Task, link.task_id)
            if row is None:
                return
            session.delete(row)  # whatever happens, the next push writes what should be there
            if not _live(task) or not link.carries_due:
                return
            assert task is not None
            if self._changed_here(task, link):
                self._conflict(session, task, link.uid, "gone", done)
                return
            session.delete(task)  # its other events (if any) stay linked: the push deletes them
            title = html.escape(task.title)
            self._record(session, "calendar delete", f"task #{task.id} deleted in the calendar")
            self._tell(
                session,
                f"calendar:deleted:{link.uid}:{self._clock.now().isoformat()}",
                f"🗓 You deleted “{title}” in your calendar, so I deleted task #{task.id}.",
                done,
            )
            done.applied += 1

    def _changed(self, link: Link, start: str | None, etag: str | None, done: Round) -> None:
        """The owner changed the event in the calendar: a new start is a move of the task."""
        pushed = link.start.partition("|")[2]
        with self._sessions.begin() as session:
            row, task = session.get(CalendarLink, link.uid), session.get(Task, link.task_id)
            if row is None:
                return
            row.etag = etag
            if start is None or start == pushed:
                return  # not moved (a title, a note, our own write seen again)
            if not _live(task):
                return  # deleted or done here: the push deletes the event (ours is kept)
            assert task is not None and task.due_at is not None
            if self._changed_here(task, link):
                self._conflict(session, task, link.uid, etag or "moved", done)
                return
            due = events.parse_key(start, task.due_at, self._tz)
            task.due_at, task.has_time = due.at_utc, due.has_time
            task.updated_at = self._clock.now()
            when = events.describe(due, self._tz)
            self._record(session, "calendar move", f"task #{task.id} moved to {when}")
            self._tell(
                session,
                f"calendar:moved:{link.uid}:{self._clock.now().isoformat()}:{etag}",
                f"🗓 You moved “{html.escape(task.title)}” in your calendar: "
                f"task #{task.id} is now due {when}.",
                done,
            )
            done.applied += 1

    def _conflict(self, session: Session, task: Task, uid: str, tag: str, done: Round) -> None:
        assert task.due_at is not None
        when = events.describe(Due(task.due_at, task.has_time), self._tz)
        self._record(session, "calendar conflict", f"task #{task.id}: kept microdesk's version")
        self._tell(
            session,
            f"calendar:conflict:{uid}:{tag}:{self._clock.now().isoformat()}",
            f"🗓 “{html.escape(task.title)}” changed both here and in your calendar since the "
            f"last sync; I kept microdesk's version (task #{task.id}, due {when}) and put it "
            "back in the calendar.",
            done,
        )
        done.conflicts += 1

    def _changed_here(self, task: Task, link: Link) -> bool:
        return events.fingerprint(task, self._tz) != link.fingerprint

    def _set_etag(self, uid: str, etag: str | None) -> None:
        with self._sessions.begin() as session:
            row = session.get(CalendarLink, uid)
            if row is not None:
                row.etag = etag

    # --- state, failures, notices --------------------------------------------------------------

    @property
    def _tz(self) -> ZoneInfo:
        return self._prefs.tz

    @property
    def _install(self) -> str:
        """This install's id, part of every UID (read once: a restore needs a new process)."""
        if self._install_id is None:
            self._install_id = export.install_id(self._sessions)
        return self._install_id

    def _state(self) -> CalendarState:
        with self._sessions.begin() as session:
            state = session.get(CalendarState, STATE_ID)
            if state is None:
                state = CalendarState(id=STATE_ID)
                session.add(state)
                session.flush()
            session.expunge(state)
            return state

    def _adopt(self, url: str) -> None:
        """Remember the calendar; a different one (settings changed) starts from nothing."""
        with self._sessions.begin() as session:
            state = session.get(CalendarState, STATE_ID)
            assert state is not None
            if state.target != self.target or state.calendar_url != url:
                log.info("calendar: syncing with a new calendar; writing every task to it")
                session.execute(delete(CalendarLink))
                state.target, state.calendar_url, state.sync_token = self.target, url, None

    def _succeeded(self, token: str | None, done: Round) -> None:
        """Keep the new token; a quiet round (same token, nothing failing) writes nothing."""
        with self._sessions() as session:
            state = session.get(CalendarState, STATE_ID)
            if state is not None and state.sync_token == token and state.failing is None:
                return
        with self._sessions.begin() as session:
            state = session.get(CalendarState, STATE_ID)
            assert state is not None
            state.sync_token, state.synced_at = token, self._clock.now()
            if state.failing is not None:
                stamp = self._clock.now().isoformat()
                self._tell(session, f"calendar:ok:{stamp}", "🗓 Calendar sync works again.", done)
                state.failing = None

    def _failed(self, done: Round, exc: CalendarError) -> Round:
        done.error = str(exc)
        log.warning("calendar sync failed (%s); trying again next round", exc.kind)
        if exc.kind == "gone":
            return done  # nothing for the owner to do: the next round makes it again
        with self._sessions.begin() as session:
            state = session.get(CalendarState, STATE_ID)
            if state is None:
                state = CalendarState(id=STATE_ID)
                session.add(state)
            if state.failing != exc.kind:
                state.failing = exc.kind
                stamp = self._clock.now().isoformat()
                self._tell(
                    session,
                    f"calendar:failing:{exc.kind}:{stamp}",
                    f"🗓 Calendar sync paused: {html.escape(str(exc))} I keep trying every "
                    f"{self._settings.CALDAV_POLL}; reminders go on as usual.",
                    done,
                )
        return done

    def _tell(self, session: Session, key: str, text: str, done: Round) -> None:
        if queue(session, Outgoing(key, NOTICE, text), self._clock.now()):
            done.queued += 1

    def _record(self, session: Session, action: str, detail: str) -> None:
        """The audit entry of a change the owner made in the calendar (one call to replace)."""
        session.add(
            AuditEntry(
                at=self._clock.now(), actor=OWNER, area=CALENDAR, action=action, detail=detail[:500]
            )
        )


def _live(task: Task | None) -> bool:
    return task is not None and task.status == OPEN and task.due_at is not None
