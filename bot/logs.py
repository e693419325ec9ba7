"""Logging set up once, with every configured secret redacted from every line.

The redaction runs in a handler filter, so it covers third-party loggers too (httpx logs URLs
that contain the bot token); httpx is kept at WARNING anyway.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_TOKEN_SHAPE = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")
REDACTED = "[redacted]"


def redact_token_shapes(text: str) -> str:
    """`text` with anything shaped like a Telegram bot token replaced."""
    return _TOKEN_SHAPE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Replace secrets (and anything shaped like a bot token) in the formatted message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact_token_shapes(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup_logging(secrets: Iterable[str], level: int = logging.INFO) -> None:
    """Root logging to stderr with redaction; quiet chatty libraries."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in (
        *("httpx", "httpcore", "telegram.ext", "chromadb", "alembic", "bm25s"),
        *("caldav", "niquests", "urllib3"),  # request logs: URLs and headers of the calendar
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
