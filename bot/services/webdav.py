"""WebDAV failures as one sentence naming the setting (BACKUP_TARGET, KNOWLEDGE_URL).

    with WebDAVErrors(TargetError, "The backup target URL (BACKUP_TARGET)",
                      "BACKUP_USERNAME / BACKUP_PASSWORD", "cannot be listed"):
        client.ls("")

A webdav4 ClientError, an httpx error or an OSError inside the block becomes `error(sentence)`:

    HTTP 401 / 403                      "<subject> refused the user name or password (<logins>)."
    no answer (connection, time-out)    "<subject> cannot be reached."
    anything else                       "<subject> <what> (HTTP <status>)."

The subject is the caller's (its URL without credentials); the library's own message, which can
carry the URL, goes to the log as its type only. Other exceptions pass through untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from webdav4.client import BadGatewayError, ClientError, InsufficientStorage, ResourceNotFound

from bot.errors import MicrodeskError

log = logging.getLogger(__name__)
# webdav4 raises these without the response they stand for
_STATUS_OF: dict[type[ClientError], int] = {
    ResourceNotFound: 404,
    BadGatewayError: 502,
    InsufficientStorage: 507,
}


@dataclass(frozen=True)
class WebDAVErrors:
    """A context manager turning a WebDAV failure into `error` (see the module docstring)."""

    error: type[MicrodeskError]
    subject: str
    logins: str
    what: str

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None or not isinstance(exc, ClientError | httpx.HTTPError | OSError):
            return None
        log.warning("%s: %s", self.subject, type(exc).__name__)
        raise self.error(f"{self.subject} {self.reason(exc)}.") from exc

    def reason(self, exc: BaseException) -> str:
        status = http_status(exc)
        if status in (401, 403):
            return f"refused the user name or password ({self.logins})"
        if status is None and isinstance(exc, httpx.TransportError | OSError):
            return "cannot be reached"
        return self.what + (f" (HTTP {status})" if status else "")


def http_status(exc: BaseException | None) -> int | None:
    """The HTTP status behind `exc` (or any exception it was raised from), if there was one."""
    while exc is not None:
        if type(exc) in _STATUS_OF:
            return _STATUS_OF[type(exc)]
        response = getattr(exc, "response", None)
        if isinstance(response, httpx.Response):
            return response.status_code
        code = getattr(exc, "status_code", None)
        if isinstance(code, int):
            return code
        exc = exc.__cause__ or exc.__context__
    return None
