"""What the fake records and answers with: a call, an uploaded or stored file, an error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSON = dict[str, Any]


class BotAPIError(Exception):
    """An error answer: HTTP status, the description, and retry_after for 429."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        """The JSON body the real API answers with."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> BotAPIError:
    """A 400 with the real "Bad Request: ..." description."""
    return BotAPIError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass
class Call:
    """One request the fake received.

    ``params`` holds decoded values (``chat_id`` an int, ``reply_markup`` a dict). ``status`` is
    the HTTP status answered (``None`` while in flight; set before a "slow" answer is delayed).
    ``fault`` names an injected fault: ``"429"``, ``"502"`` (or any status), ``"slow"``.
    """

    method: str
    params: JSON
    at: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    fault: str | None = None
    result: Any = None

    def short(self) -> str:
        """One line for failure dumps."""
        params = json.dumps(self.params, ensure_ascii=False, default=str)
        if len(params) > 200:
            params = params[:197] + "..."
        fault = f" [{self.fault}]" if self.fault else ""
        return f"{self.method} -> {self.status}{fault} {params}"


@dataclass
class StoredFile:
    """A file the fake can serve through getFile and the download URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str
    mime_type: str
    file_size: int

    def as_document(self) -> JSON:
        """The Document object of a message."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.file_size,
        }


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"
