"""The business's time zone and briefing time: from settings, overridable at run time."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings, parse_hhmm
from bot.db.models import Setting
from bot.errors import UserInputError
from bot.services.audit import OWNER, SETTINGS, AuditLog

TIMEZONE = "timezone"
BRIEFING = "briefing"


class Preferences:
    """Reads the run-time overrides once and keeps them; writes go through `set_*`."""

    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, audit: AuditLog
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        with sessions() as session:
            stored = {row.key: row.value for row in session.query(Setting)}
        self._stored = stored
        self._zone = stored.get(TIMEZONE, settings.TIMEZONE)
        self._briefing = stored.get(BRIEFING, settings.BRIEFING_TIME)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self._zone)

    @property
    def timezone_name(self) -> str:
        return self._zone

    @property
    def briefing_time(self) -> time:
        return parse_hhmm(self._briefing)

    def set_timezone(self, name: str) -> None:
        try:
            ZoneInfo(name)
        except (ValueError, KeyError) as exc:
            raise UserInputError(f"“{name}” is not a time zone I know; try Europe/Berlin.") from exc
        self._store(TIMEZONE, name, f"time zone: {self._zone} → {name}")
        self._zone = name

    def set_briefing_time(self, value: str) -> None:
        try:
            parse_hhmm(value)
        except ValueError as exc:
            raise UserInputError("Give the briefing time as HH:MM, for example 08:00.") from exc
        self._store(BRIEFING, value.strip(), f"briefing time: {self._briefing} → {value.strip()}")
        self._briefing = value.strip()

    def flag(self, name: str) -> bool:
        """A one-time marker (e.g. a notice already shown)."""
        return self._stored.get(f"flag:{name}") == "1"

    def set_flag(self, name: str, on: bool = True, *, audited: str = "") -> None:
        """Set a marker; `audited` (what changed, in words) records it as the owner's change."""
        self._store(f"flag:{name}", "1" if on else "0", audited)

    def _store(self, key: str, value: str, audited: str = "") -> None:
        self._stored[key] = value
        with self._sessions.begin() as session:
            session.merge(Setting(key=key, value=value))
            if audited:
                self._audit.record(OWNER, SETTINGS, "changed", audited, session=session)
