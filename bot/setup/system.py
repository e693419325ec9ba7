"""What this machine suggests: its time zone, and the country that zone lies in."""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path

import tzlocal

FALLBACK_ZONE = "UTC"


def system_zone() -> str:
    """The machine's IANA zone name, or UTC when it has none (containers often don't)."""
    try:
        name = tzlocal.get_localzone_name()
    except (OSError, ValueError, LookupError):  # tzlocal raises ZoneInfoNotFoundError (a KeyError)
        return FALLBACK_ZONE
    if not name or name in ("localtime", "Etc/UTC", "UTC", "Universal", "Zulu"):
        return FALLBACK_ZONE
    return name


def country_of(zone: str) -> str | None:
    """The ISO 3166 code of the country a zone belongs to ('Europe/Berlin' -> 'DE')."""
    return _zone_countries().get(zone)


@cache
def _zone_countries() -> dict[str, str]:
    """zone.tab of the system's zone database: one 'CC  coordinates  Zone' line per zone."""
    for root in zoneinfo.TZPATH:
        table = Path(root) / "zone.tab"
        if table.is_file():
            return _parse(table.read_text(encoding="utf-8"))
    return {}


def _parse(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            found[fields[2]] = fields[0]
    return found
