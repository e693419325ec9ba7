"""What the reader gives back: readings, questions, and the reading context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.dates.business import BusinessCalendar
from bot.dates.words import SUPPORTED

ORDERS = ("DMY", "MDY", "YMD")


@dataclass(frozen=True)
class Context:
    """Where and when a text is read: local wall-clock now (naive), languages, date order."""

    now: datetime
    languages: tuple[str, ...] = SUPPORTED
    order: str | None = "DMY"  # None: numeric dates that read two ways are asked about
    business: BusinessCalendar = field(default_factory=BusinessCalendar)
    default_hour: int = 9

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True)
class Reading:
    """One meaning of the date words: a naive local moment and whether a time was said."""

    at: datetime
    has_time: bool


@dataclass(frozen=True)
class Choice:
    """One answer to a date question: the reading (None: no date) and the title it leaves."""

    reading: Reading | None
    title: str


@dataclass(frozen=True)
class Found:
    """The text read: its title and reading, or a question with choices.

    ``question`` is None when the text is clear (``reading`` may still be None: no date words
    at all). Otherwise ``choices`` has a choice per reading and a last "no date" choice.
    """

    title: str
    reading: Reading | None
    question: str | None = None
    choices: tuple[Choice, ...] = ()
    words: str = ""  # the date words as written
    time_only: bool = False  # only a time of day was said ("at 3pm"): no day
