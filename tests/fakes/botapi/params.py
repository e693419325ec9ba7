"""How a request's parameters arrive, decoded as the real API reads them.

How python-telegram-bot 22 sends requests (httpx): every parameter is a form field whose value is
the parameter itself when it is a string, else its ``json.dumps`` (so ``chat_id=5`` arrives as
``"5"``, ``reply_markup`` as a JSON string). Without files the body is
``application/x-www-form-urlencoded``; with files it is ``multipart/form-data``, the file in a
part named after the parameter (``document``) or ``attach://<name>`` for media groups. It never
sends JSON bodies, but other clients do, so all three are parsed.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.botapi.records import JSON, UploadedFile, bad_request

# Parameters that are strings even when they look like JSON ("42", "true").
STRING_PARAMS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "business_connection_id",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "action",
        "file_id",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "question",
        "address",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "custom_emoji_id",
        "message_effect_id",
        "payload",
        "currency",
        "start_parameter",
        "result_id",
        "document",
        "photo",
        "audio",
        "video",
        "voice",
        "animation",
        "video_note",
        "sticker",
        "thumbnail",
    ]
)
# Parameters that hold a JSON object or array (decoded even when a JSON body sends them as text).
JSON_PARAMS = frozenset(
    [
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "media",
        "results",
    ]
)


def decode_param(key: str, value: Any) -> Any:
    """A form value as the API reads it: JSON for non-string parameters."""
    if not isinstance(value, str):
        return value
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def as_int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid integer value {value!r}") from None


async def read_params(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
    """Query string plus a form-encoded, multipart or JSON body, decoded."""
    raw: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise bad_request("request body must be a JSON object")
            raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    files[key] = UploadedFile(key, value.filename, content, value.content_type)
                elif isinstance(value, bytes | bytearray):
                    raw[key] = bytes(value).decode()
                else:
                    raw[key] = value
    params = {key: decode_param(key, value) for key, value in raw.items()}
    for key in JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                raise bad_request(f"can't parse {key} JSON object") from None
    return params, files
