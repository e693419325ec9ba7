"""The business's time zone and briefing time: from settings, overridable at run time."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings, parse_hhmm
from bot.dates import BusinessCalendar, Context
from bot.dates.order import default_order
from bot.db.models import Setting
from bot.errors import UserInputError
from bot.services.audit import OWNER, SETTINGS, AuditLog

TIMEZONE = "timezone"
BRIEFING = "briefing"


def find_zone(name: str) -> str | None:
    """An IANA zone by its name, or by a city in it ("lisbon" → Europe/Lisbon), or None."""
    name = name.strip()
    if not name or len(name) > 64 or "\x00" in name:
        return None
    try:
        ZoneInfo(name)
        return name
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        pass
    city = "_".join(name.split()).lower()
    for zone in sorted(available_timezones()):
        if zone.rsplit("/", 1)[-1].lower() == city and "/" in zone:
            return zone
    return None


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
        self._settings = settings
        self._zone = stored.get(TIMEZONE, settings.TIMEZONE)
        self._briefing = stored.get(BRIEFING, settings.BRIEFING_TIME)
        self.business = BusinessCalendar(settings.COUNTRY)

    @property
    def timezone_source(self) -> str:
        """Where the zone in force comes from: /settings (or first start), TIMEZONE, default."""
        if TIMEZONE in self._stored:
            return "chosen in /settings"
        if "TIMEZONE" in self._settings.model_fields_set:
            return "TIMEZONE setting"
        return "default (UTC): nobody chose one yet"

    @property
    def zone_chosen(self) -> bool:
        """Whether the owner (or TIMEZONE) named a zone; until then dates say their zone."""
        return TIMEZONE in self._stored or "TIMEZONE" in self._settings.model_fields_set

    @property
    def date_order(self) -> tuple[str | None, str]:
        """DMY / MDY / YMD (None: ask) and where it came from."""
        return default_order(self._settings.DATE_ORDER, self._settings.COUNTRY, self._zone)

    def date_context(self, now: datetime) -> Context:
        """How to read the owner's dates at the aware moment `now`."""
        local = now.astimezone(self.tz).replace(tzinfo=None, second=0, microsecond=0)
        return Context(local, self._settings.languages, self.date_order[0], self.business)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self._zone)

    @property
    def timezone_name(self) -> str:
        return self._zone

    @property
    def briefing_time(self) -> time:
        return parse_hhmm(self._briefing)

    def set_timezone(self, name: str) -> str:
        """Choose the zone by IANA name or city ("Lisbon", "new york"); returns the zone's name."""
        zone = find_zone(name)
        if zone is None:
            shown = name.strip()[:40]
            raise UserInputError(f"“{shown}” is not a time zone or city I know; try Europe/Berlin.")
        self._store(TIMEZONE, zone, f"time zone: {self._zone} → {zone}")
        self._zone = zone
        return zone

    def note(self, name: str) -> str | None:
        """A small stored value (e.g. the open date question)."""
        return self._stored.get(f"note:{name}")

    def set_note(self, name: str, value: str) -> None:
        self._store(f"note:{name}", value)

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
