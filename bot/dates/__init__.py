"""Reading dates, times and business days the way owners type them (a library: no database,
no Telegram). ``read(text, Context(now=...))`` finds the date words anywhere in the text.
"""

from bot.dates.business import BusinessCalendar, UnknownCountryError, check_country
from bot.dates.model import ORDERS, Choice, Context, Found, Reading
from bot.dates.reader import read
from bot.dates.words import SUPPORTED

__all__ = [
    "ORDERS",
    "SUPPORTED",
    "BusinessCalendar",
    "Choice",
    "Context",
    "Found",
    "Reading",
    "UnknownCountryError",
    "check_country",
    "read",
]
