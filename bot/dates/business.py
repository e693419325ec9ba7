"""Business days: weekends and public holidays of the owner's ``COUNTRY`` (``holidays`` package).

``BusinessCalendar("DE-BY")`` knows Bavaria's holidays; with no country only Saturday and
Sunday are days off.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays

_WEEKEND = frozenset({5, 6})


class UnknownCountryError(ValueError):
    """A COUNTRY the holidays package does not know."""


@lru_cache(maxsize=8)
def _country(code: str) -> holidays.HolidayBase | None:
    if not code:
        return None
    country, _, subdiv = code.upper().partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdiv or None)
    except NotImplementedError as exc:
        raise UnknownCountryError(f"unknown country {code!r} (e.g. DE or DE-BY)") from exc


def check_country(code: str) -> str:
    """`code` upper-cased when the holidays package knows it; UnknownCountryError if not."""
    _country(code.strip())
    return code.strip().upper()


class BusinessCalendar:
    """Which days are working days, and counting in them."""

    def __init__(self, country: str = "") -> None:
        self.country = country.upper()
        self._holidays = _country(self.country)

    def is_business_day(self, day: date) -> bool:
        if day.weekday() in _WEEKEND:
            return False
        return self._holidays is None or day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return None if self._holidays is None else self._holidays.get(day)

    def next_business_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first one after it."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, count: int) -> date:
        """`count` working days after `day` (before it when negative)."""
        step = 1 if count >= 0 else -1
        left = abs(count)
        while left:
            day += timedelta(days=step)
            if self.is_business_day(day):
                left -= 1
        return day

    def nth_business_day(self, year: int, month: int, nth: int) -> date | None:
        """The nth working day of a month (-1: the last one), or None when there is none."""
        days = [
            date(year, month, d)
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
            if self.is_business_day(date(year, month, d))
        ]
        if nth == -1:
            return days[-1] if days else None
        return days[nth - 1] if 0 < nth <= len(days) else None

    def end_of_week(self, day: date) -> date:
        """The last working day of `day`'s week (Friday unless that is a holiday)."""
        friday = day + timedelta(days=4 - day.weekday())
        while friday > day and not self.is_business_day(friday):
            friday -= timedelta(days=1)
        return max(friday, day)
