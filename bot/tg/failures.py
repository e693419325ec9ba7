"""Why `microdesk run` could not start, in one line naming the cause and the fix.

The exceptions come from python-telegram-bot (InvalidToken, NetworkError wrapping httpx's),
from the webhook's listening socket (OSError), or anything they wrap; only their types and
errno are read, never their text (python-telegram-bot puts the token in some messages).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from telegram.error import BadRequest, InvalidToken, NetworkError, TimedOut

from bot.config import Settings

_DNS_WORDS = ("name or service not known", "name resolution", "nodename nor servname")


def explain(exc: BaseException, settings: Settings) -> str | None:
    """One line for a start failure we know, None for anything else (a bug: traceback)."""
    host = urlsplit(settings.TELEGRAM_API_BASE_URL).netloc or settings.TELEGRAM_API_BASE_URL
    chain = list(_chain(exc))
    if any(isinstance(e, InvalidToken) for e in chain):
        return (
            "Telegram refused the bot token (revoked, or mistyped): run `microdesk setup` and "
            "paste the token @BotFather shows for your bot."
        )
    if any(isinstance(e, OSError) and e.errno == errno.EADDRINUSE for e in chain):
        return (
            f"Port {settings.WEBHOOK_PORT} is already in use by another program: stop it, or set "
            "WEBHOOK_PORT to a free port."
        )
    refused = next((e for e in chain if isinstance(e, BadRequest)), None)
    if refused is not None:  # Telegram's own words (never the token), e.g. about WEBHOOK_URL
        return f"Telegram refused the start: {refused.message}; check WEBHOOK_URL."
    if any(_is_dns(e) for e in chain):
        return (
            f"Cannot find {host} (the name lookup failed): check this machine's internet "
            "connection and DNS, or TELEGRAM_API_BASE_URL; then start again."
        )
    if any(isinstance(e, TimedOut) for e in chain):
        return f"{host} did not answer in time: check the internet connection, then start again."
    if any(isinstance(e, NetworkError | ConnectionError) for e in chain):
        return (
            f"Cannot reach {host} (no network, or the connection was refused): check the "
            "internet connection, or TELEGRAM_API_BASE_URL; then start again."
        )
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_dns(exc: BaseException) -> bool:
    if isinstance(exc, socket.gaierror):
        return True
    text = str(exc).lower() if isinstance(exc, OSError | NetworkError) else ""
    return any(words in text for words in _DNS_WORDS)
