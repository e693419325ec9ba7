"""The read-only subscription feed: a secret URL that serves the deadlines as `.ics`.

Calendars that can only subscribe (Google Calendar) read it. Its token is 43 random URL-safe
characters, made on first use and kept in the database; rotating it kills the old URL at once.
The feed is the export's calendar (:func:`bot.services.tasks.export.calendar`), built per request.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.calendar import STATE_ID, CalendarState
from bot.db.models import Task
from bot.services.prefs import Preferences

PATH = "/feed/{token}.ics"
THIS_MACHINE = "http://THIS-MACHINE"


class FeedService:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], clock: Clock, prefs: Preferences
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs

    @property
    def served(self) -> bool:
        """Whether an HTTP server serves the feed (FEED_PORT, or webhook mode's server)."""
        return self._settings.FEED_PORT is not None or self._settings.WEBHOOK_URL is not None

    def token(self) -> str:
        """The feed's token, made on first use."""
        with self._sessions.begin() as session:
            state = _state(session)
            if state.feed_token is None:
                state.feed_token = secrets.token_urlsafe(32)
            return state.feed_token

    def rotate(self) -> str:
        """A new token: the old URL stops working at once."""
        with self._sessions.begin() as session:
            state = _state(session)
            state.feed_token = secrets.token_urlsafe(32)
            return state.feed_token

    def url(self) -> str:
        """The feed's address: on FEED_PORT of this machine, else beside WEBHOOK_URL."""
        path = PATH.format(token=self.token())
        if self._settings.FEED_PORT is not None:
            return f"{THIS_MACHINE}:{self._settings.FEED_PORT}{path}"
        assert self._settings.WEBHOOK_URL is not None
        parts = urlsplit(self._settings.WEBHOOK_URL)
        return f"{parts.scheme}://{parts.netloc}{path}"

    def ics(self, given: str) -> bytes | None:
        """The calendar for a request carrying `given`; None unless it is the current token."""
        with self._sessions() as session:
            state = session.get(CalendarState, STATE_ID)
            token = state.feed_token if state is not None else None
            if token is None or not hmac.compare_digest(given.encode(), token.encode()):
                return None
            tasks = session.scalars(select(Task).order_by(Task.id)).all()
        from bot.services.tasks.export import calendar  # icalendar: on the first request

        return calendar(tasks, self._prefs.tz, self._clock.now())


def _state(session: Session) -> CalendarState:
    state = session.get(CalendarState, STATE_ID)
    if state is None:
        state = CalendarState(id=STATE_ID)
        session.add(state)
    return state
