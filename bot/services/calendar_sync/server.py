"""The CalDAV server, through the blocking `caldav` client: call it from a worker thread.

Errors become :class:`CalendarError`, whose message is one sentence naming the setting to fix:

    CalendarError
      kind "auth"         the server refused CALDAV_USERNAME / CALDAV_PASSWORD
      kind "unreachable"  no answer at CALDAV_URL (down, wrong host, time-out)
      kind "refused"      the server answered, but not as a calendar server would
      kind "gone"         the calendar was deleted on the server (made again next round)
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.elements import dav
from caldav.lib import error

from bot.config import Settings

log = logging.getLogger(__name__)
TIMEOUT = 30
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
FAKE_TOKEN = "fake-"  # the caldav library's own token when the server can't sync-collection


class CalendarError(Exception):
    """The calendar can't be used now; the message is one sentence for the owner."""

    def __init__(self, kind: str, sentence: str) -> None:
        super().__init__(sentence)
        self.kind = kind


class Stale(Exception):
    """The event changed on the server since we read it (HTTP 412): try again next round."""


@dataclass(frozen=True)
class Changes:
    """What changed on the server since `token`: paths with their new ETag, and paths deleted;
    `full` when the listing is the whole calendar (so a path not in it is gone)."""

    changed: dict[str, str | None]
    deleted: set[str]
    token: str | None
    full: bool
    seen: set[str] = field(default_factory=set)


def path_of(url: object) -> str:
    """The unquoted path of an event's URL: how links and the server's listings are matched."""
    return unquote(urlsplit(str(url)).path)


class CalDAVServer:
    """One connection to the owner's calendar server."""

    def __init__(self, settings: Settings, *, timeout: int = TIMEOUT) -> None:
        assert settings.CALDAV_URL is not None
        password = settings.CALDAV_PASSWORD
        self.url = settings.CALDAV_URL
        self.name = settings.CALDAV_CALENDAR
        self.client = DAVClient(
            url=self.url + "/",
            username=settings.CALDAV_USERNAME,
            password=password.get_secret_value() if password else None,
            timeout=timeout,
        )
        self.calendar: Calendar | None = None
        self.todos = False  # the calendar holds VTODOs too (its supported-calendar-component-set)

    def close(self) -> None:
        self.client.close()

    def open(self, known_url: str | None, *, create: bool = True) -> str | None:
        """The calendar's URL: `known_url` when it still answers, else found by its display name
        (created when missing and `create`); None when missing and not created. Also learns
        whether the calendar holds to-dos (:attr:`todos`)."""
        with guarded():
            self.calendar = self._known(known_url) if known_url else None
            if self.calendar is None:
                self.calendar = self._find(create)
            if self.calendar is None:
                return None
            components = cast(Any, self.calendar).get_supported_components()
            self.todos = "VTODO" in {str(c).upper() for c in components}
            return str(self.calendar.url)

    def _known(self, url: str) -> Calendar | None:
        calendar = cast(Any, self.client).calendar(url=url)
        try:
            calendar.get_display_name()
        except error.NotFoundError:
            log.info("calendar: the known calendar is gone; looking it up by name")
            return None
        found: Calendar = calendar
        return found

    def _find(self, create: bool) -> Calendar | None:
        principal = cast(Any, self.client).principal()
        for calendar in cast(list[Calendar], principal.calendars()):
            if calendar.get_display_name() == self.name:
                return calendar
        if not create:
            return None
        log.info("calendar: creating the calendar %r", self.name)
        made: Calendar = principal.make_calendar(name=self.name)
        return made

    def changes(self, token: str | None) -> Changes:
        """Paths changed or deleted since `token` (everything when it is None)."""
        calendar = self._calendar()
        with guarded():
            found: Any = calendar.get_objects_by_sync_token(token, load_objects=False)
        changed = {path_of(o.url): o.props.get(dav.GetEtag.tag) for o in found.objects}
        deleted = {path_of(u) for u in getattr(found, "deleted_urls", set()) or set()}
        for path in deleted:
            changed.pop(path, None)
        new_token = str(found.sync_token) if found.sync_token else None
        full = token is None or ((new_token or "").startswith(FAKE_TOKEN) and bool(changed))
        return Changes(changed, deleted, new_token, full)

    def fetch(self, path: str) -> bytes | None:
        """The event's iCalendar text, or None if it is gone."""
        with guarded():
            response = self.client.request(self._url(path), "GET")
        if response.status == 404:
            return None
        _check(response.status, "GET")
        raw = response.raw
        return raw if isinstance(raw, bytes) else str(raw).encode()

    def put(self, path: str, body: bytes, etag: str | None) -> str | None:
        """Write the event (only over `etag` when given); the new ETag when the server says it."""
        headers = dict(ICS)
        if etag:
            headers["If-Match"] = etag
        with guarded():
            response = self.client.put(self._url(path), body.decode(), headers)
        if response.status == 412:
            raise Stale(path)
        _check(response.status, "PUT")
        new: str | None = response.headers.get("ETag")
        return new

    def delete(self, path: str, etag: str | None) -> None:
        """Delete the event (only if still at `etag` when given); gone already is fine."""
        headers = {"If-Match": etag} if etag else {}
        with guarded():
            response = self.client.delete(self._url(path), headers)
        if response.status == 412:
            raise Stale(path)
        if response.status != 404:
            _check(response.status, "DELETE")

    def probe(self) -> None:
        """Write a throw-away event and delete it (doctor's "writable"); raises CalendarError."""
        path = self.event_path(f"microdesk-doctor-probe-{secrets.token_hex(8)}")
        body = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//microdesk//doctor//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:{path.rsplit('/', 1)[1]}\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART;VALUE=DATE:20260101\r\nSUMMARY:microdesk doctor\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n"
        )
        try:
            self.put(path, body.encode(), None)
        except CalendarError as exc:
            if exc.kind != "auth":
                raise
            raise CalendarError(
                "read-only",
                f"CALDAV_USERNAME may not write to the calendar “{self.name}”: "
                "give it write access, or set CALDAV_CALENDAR to one it can write.",
            ) from None
        self.delete(path, None)

    def event_path(self, uid: str) -> str:
        return path_of(self._calendar().url) + uid.replace("/", "_") + ".ics"

    def _url(self, path: str) -> str:
        base = urlsplit(str(self._calendar().url))
        return f"{base.scheme}://{base.netloc}{quote(path, safe='/@')}"

    def _calendar(self) -> Calendar:
        if self.calendar is None:
            raise RuntimeError("open() the calendar first")
        return self.calendar


@contextmanager
def guarded() -> Iterator[None]:
    """Library and network errors as one CalendarError sentence (details go to the log)."""
    try:
        yield
    except CalendarError:
        raise
    except error.NotFoundError:
        log.info("calendar: the calendar is gone from the server; made again next round")
        raise CalendarError(
            "gone", "The calendar is gone from the server; I make it again on the next round."
        ) from None
    except error.AuthorizationError as exc:
        log.warning("calendar: authorization refused (%s)", type(exc).__name__)
        raise CalendarError(
            "auth",
            "The calendar server refused the login: check CALDAV_USERNAME and CALDAV_PASSWORD.",
        ) from None
    except error.DAVError as exc:
        log.warning("calendar: the server refused a request (%s)", type(exc).__name__)
        raise CalendarError(
            "refused",
            "The calendar server at CALDAV_URL did not answer like a CalDAV server: "
            "check CALDAV_URL.",
        ) from None
    except (OSError, ValueError) as exc:  # connection refused, DNS, time-out; a malformed URL
        log.warning("calendar: no answer from the server (%s)", type(exc).__name__)
        raise CalendarError(
            "unreachable", "The calendar server at CALDAV_URL can't be reached right now."
        ) from None


def _check(status: int, method: str) -> None:
    if status in (401, 403):
        with guarded():
            raise error.AuthorizationError(f"{method} {status}")
    if status >= 400:
        with guarded():
            raise error.DAVError(f"{method} {status}")
