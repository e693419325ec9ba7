"""The default date order (DMY, MDY, YMD) of a country, or of a time zone's country."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_MDY = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "UM", "VI", "BZ"})
_YMD = frozenset({"CN", "JP", "KR", "KP", "TW", "HU", "LT", "MN", "IR"})
_ZONE_TABLES = (Path("/usr/share/zoneinfo/zone.tab"), Path("/usr/share/zoneinfo/zone1970.tab"))


def order_of_country(country: str) -> str:
    code = country.upper().partition("-")[0]
    return "MDY" if code in _MDY else "YMD" if code in _YMD else "DMY"


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    found: dict[str, str] = {}
    for table in _ZONE_TABLES:
        if not table.exists():
            continue
        for line in table.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            codes, _, zone = line.split("\t")[:3]
            found.setdefault(zone, codes.split(",")[0])
    return found


def default_order(setting: str, country: str, zone: str) -> tuple[str | None, str]:
    """The order in force and where it came from; None when nothing tells (then: ask)."""
    if setting:
        return setting, "DATE_ORDER"
    if country:
        return order_of_country(country), f"COUNTRY {country}"
    region = _zone_countries().get(zone)
    if region:
        return order_of_country(region), f"the zone {zone}"
    return None, "nothing set: numeric dates that read two ways are asked about"
