"""A fake Telegram Bot API server: real HTTP on 127.0.0.1, the real JSON shapes and errors.

The real python-telegram-bot ``Application`` talks to it through ``base_url``::

    async with FakeBotAPI() as api:
        app = (
            Application.builder().token(api.token)
            .base_url(api.bot_base_url).base_file_url(api.file_base_url).build()
        )

Tests act as the user (``send_message``, ``press_button``, ``upload_document``,
``send_business_message``, ``enqueue``), read what the bot did (``calls``, ``bot_messages``,
``wait_for_message``) and inject faults (``fail_next``, ``delay``, ``chaos``). Nothing here
contacts the real Telegram.

Answers, as the real API gives them::

    200 {"ok": true, "result": ...}
    400 Bad Request     validation: empty / too long text, malformed HTML, callback data over
                        64 bytes, unknown message to edit, "message is not modified", ...
    401 Unauthorized    wrong token (python-telegram-bot raises InvalidToken)
    404 Not Found       unknown file path or URL
    409 Conflict        getUpdates while a webhook is set, or superseded by a newer getUpdates
    429 / 5xx           injected only; they never change state

How python-telegram-bot 22 sends requests (httpx): every parameter is a form field whose value is
the parameter itself when it is a string, else its ``json.dumps`` (so ``chat_id=5`` arrives as
``"5"``, ``reply_markup`` as a JSON string). Without files the body is
``application/x-www-form-urlencoded``; with files it is ``multipart/form-data``, the file in a
part named after the parameter (``document``) or ``attach://<name>`` for media groups. It never
sends JSON bodies, but other clients do, so all three are parsed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import mimetypes
import random
import re
import socket
import string
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "7000000001:fake-token-for-tests-only"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, like the cloud Bot API
MAX_UPLOAD = 50 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
SUPERSEDED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)

# Update types Telegram leaves out unless allowed_updates names them.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
BUTTON_ACTIONS = frozenset(
    [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)
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
_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_ID_CHARS = string.ascii_letters + string.digits + "-_"


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


@dataclass
class _Delay:
    seconds: float
    times: int | None


@dataclass
class _Chaos:
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    methods: frozenset[str] | None
    slow_seconds: float
    retry_after: int


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def is_send_type(method: str) -> bool:
    """Methods chaos applies to by default: those that put or change something in a chat."""
    if method in ("deleteMessage", "deleteMessages", "pinChatMessage", "unpinChatMessage"):
        return True
    return method.startswith(("send", "edit", "answer", "copy", "forward"))


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: the allowed tags only, every tag closed, no bare '<'."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.parts: list[str] = []
        self.length = 0  # UTF-16 code units, as entity offsets are counted
        self.stack: list[tuple[str, dict[str, str | None], int]] = []
        self.entities: list[JSON] = []
        self.pre_language: dict[int, str] = {}
        self.line_starts = [0]
        for match in re.finditer("\n", raw):
            self.line_starts.append(match.end())

    def error_at(self, what: str, extra: int = 0) -> BotAPIError:
        line, column = self.getpos()
        index = self.line_starts[line - 1] + column + extra
        offset = len(self.raw[:index].encode())
        return bad_request(f"can't parse entities: {what} at byte offset {offset}")

    def text(self, data: str) -> None:
        self.parts.append(data)
        self.length += _utf16_len(data)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise self.error_at('Unsupported start tag ""', data.index("<"))
        self.text(data)

    def handle_entityref(self, name: str) -> None:
        self.text(_HTML_ENTITIES.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.text(chr(code))
        except (ValueError, OverflowError):
            raise self.error_at(f'Unsupported HTML entity "&#{name};"') from None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        allowed = tag in _HTML_ENTITY_TYPES
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            allowed = False
        if not allowed:
            raise self.error_at(f'Unsupported start tag "{tag}"')
        self.stack.append((tag, attributes, self.length))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise self.error_at(f'Unexpected end tag "{tag}"')
        open_tag, attributes, start = self.stack.pop()
        if open_tag != tag:
            raise self.error_at(f'Unmatched end tag, expected "</{open_tag}>", found "</{tag}>"')
        self.add_entity(tag, attributes, start)

    def add_entity(self, tag: str, attributes: dict[str, str | None], start: int) -> None:
        length = self.length - start
        css = attributes.get("class") or ""
        in_pre = bool(self.stack) and self.stack[-1][0] == "pre"
        if tag == "code" and in_pre and css.startswith("language-"):
            self.pre_language[len(self.stack) - 1] = css.removeprefix("language-")
            return
        if length <= 0:
            return
        entity: JSON = {"type": _HTML_ENTITY_TYPES[tag], "offset": start, "length": length}
        if tag == "a":
            if not attributes.get("href"):
                return
            entity["url"] = attributes["href"]
        elif tag == "pre" and len(self.stack) in self.pre_language:
            entity["language"] = self.pre_language.pop(len(self.stack))
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        self.entities.append(entity)

    def handle_comment(self, data: str) -> None:
        raise self.error_at('Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        raise self.error_at('Unsupported start tag "!"')

    def handle_pi(self, data: str) -> None:
        raise self.error_at('Unsupported start tag "?"')

    def unknown_decl(self, data: str) -> None:
        raise self.error_at('Unsupported start tag "!"')

    def finish(self) -> tuple[str, list[JSON]]:
        self.close()
        if self.stack:
            tag = self.stack[-1][0]
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
            )
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def parse_html(raw: str) -> tuple[str, list[JSON]]:
    """The text a user sees and its entities, or a 400 like Telegram's for malformed HTML."""
    parser = _TelegramHTML(raw)
    parser.feed(raw)
    return parser.finish()


def render_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSON]]:
    """Apply parse_mode. Markdown modes are accepted but not parsed by this fake."""
    if not parse_mode:
        return text, list(entities or [])
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode in ("markdown", "markdownv2"):
        return text, []
    raise bad_request("unsupported parse_mode")


def check_reply_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup; return the inline keyboard a Message shows (or None)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards and force_reply are not part of the returned Message
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            check_button(button)
    if not any(rows):
        return None
    return {"inline_keyboard": rows}


def check_button(button: Any) -> None:
    """One inline keyboard button, with the 64-byte callback_data limit."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be a String')
    if not BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def command_entities(text: str) -> list[JSON]:
    """The bot_command entity real Telegram adds for a leading /command."""
    match = _COMMAND.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]


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


def _as_int(value: Any, default: int) -> int:
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


class FakeBotAPI:
    """The fake Bot API server, its recorded state, and helpers to act as the user."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_first_name: str = "microdesk",
        bot_username: str = "microdesk_bot",
        seed: int | None = None,
        first_update_id: int | None = None,
        update_id_gap: int = 3,
        strict_chats: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self._rng = random.Random(self.seed)
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": True,
            "has_main_web_app": False,
        }
        self.base_url = ""
        self.strict_chats = strict_chats
        self.clock = clock
        self.calls: list[Call] = []
        # updates
        self._update_id_gap = update_id_gap
        start = first_update_id or self._rng.randrange(100_000_000, 900_000_000)
        self._last_update_id = start - 1
        self._pending: list[JSON] = []
        self.confirmed_updates: list[JSON] = []
        self.dropped_updates: list[JSON] = []
        self.fetched_update_ids: set[int] = set()
        self._allowed_updates: frozenset[str] | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._poll_generation = 0
        # chats, messages, files
        self._chats: dict[int, JSON] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._bot_keys: list[tuple[int, int]] = []
        self._deleted: set[tuple[int, int]] = set()
        self._next_message_id: dict[int, int] = {}
        self.files: dict[str, StoredFile] = {}
        self._file_by_path: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, JSON] = {}
        self.answered_callbacks: dict[str, JSON] = {}
        self.business_connections: dict[str, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self.webhook_error: str | None = None  # getWebhookInfo's last_error_message, when set
        # faults
        self._fail: dict[str, deque[BotAPIError]] = {}
        self._delays: dict[str, _Delay] = {}
        self._chaos: _Chaos | None = None
        # server
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._inflight = 0
        self._last_call_at = time.monotonic()
        self._methods: dict[str, Callable[[Call], Any]] = {
            "getMe": lambda call: dict(self.bot_user),
            "logOut": lambda call: True,
            "close": lambda call: True,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getBusinessConnection": self._get_business_connection,
        }
        self._canonical = {name.lower(): name for name in [*self._methods, "getUpdates"]}

    # ------------------------------------------------------------------ lifecycle

    @property
    def bot_base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url``."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_file_url``."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1 in the running event loop."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        self._closing = False
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        """Answer waiting long polls and close the server."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP

    async def _handle_method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self._canonical.get(name.lower(), name)
        call = Call(method=method, params={}, at=time.monotonic())
        self.calls.append(call)
        self._last_call_at = call.at
        tracked = method != "getUpdates"
        self._inflight += tracked
        try:
            status, body, slow = await self._answer(call, request)
            call.status = status
            call.result = body.get("result", body.get("description"))
            if slow:
                await asyncio.sleep(slow)
            return web.json_response(body, status=status)
        finally:
            self._inflight -= tracked

    async def _answer(self, call: Call, request: web.Request) -> tuple[int, JSON, float]:
        slow = 0.0
        try:
            call.params, call.files = await read_params(request)
            if request.match_info["token"] != self.token:
                raise BotAPIError(401, "Unauthorized")
            fault = self._take_fault(call.method)
            if isinstance(fault, BotAPIError):
                call.fault = str(fault.status)
                raise fault
            slow = fault
            if slow:
                call.fault = "slow"
            if call.method == "getUpdates":
                result = await self._get_updates(call)
            else:
                result = self._methods.get(call.method, self._fallback)(call)
        except BotAPIError as error:
            return error.status, error.body(), slow
        return 200, {"ok": True, "result": result}, slow

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        call = Call(method="downloadFile", params={"file_path": path}, at=time.monotonic())
        self.calls.append(call)
        self._last_call_at = call.at
        error: BotAPIError | None = None
        if request.match_info["token"] != self.token:
            error = BotAPIError(401, "Unauthorized")
        elif path not in self._file_by_path:
            error = BotAPIError(404, "Not Found")
        if error is not None:
            call.status = error.status
            return web.json_response(error.body(), status=error.status)
        call.status = 200
        stored = self._file_by_path[path]
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return web.json_response(BotAPIError(404, "Not Found").body(), status=404)

    def _fallback(self, call: Call) -> Any:
        return True

    @property
    def unhandled_calls(self) -> list[Call]:
        """Calls to methods this fake does not implement (answered with ``true``)."""
        known = set(self._canonical.values())
        return [c for c in self.calls if c.method not in known and c.method != "downloadFile"]

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` and change nothing."""
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _phrase(status)
        error = BotAPIError(status, description, retry_after if status == 429 else None)
        self._fail.setdefault(method, deque()).extend([error] * times)

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Answer ``method`` ``seconds`` late, after it took effect (None: until cleared)."""
        self._delays[method] = _Delay(seconds, times)

    def chaos(
        self,
        rate: float = 0.2,
        kinds: Iterable[str] = ("429", "502", "slow"),
        seed: int | None = None,
        *,
        methods: Iterable[str] | None = None,
        slow_seconds: float = 1.0,
        retry_after: int = 1,
    ) -> None:
        """Fail or slow a ``rate`` share of send-type calls (or of ``methods``); rate 0 stops."""
        if rate <= 0:
            self._chaos = None
            return
        kinds = tuple(kinds)
        for kind in kinds:
            if kind != "slow" and not (kind.isdigit() and 400 <= int(kind) <= 599):
                raise ValueError(f"chaos kind {kind!r}: use 'slow' or an HTTP error status")
        rng = random.Random(self.seed if seed is None else seed)
        chosen = frozenset(methods) if methods is not None else None
        self._chaos = _Chaos(rate, kinds, rng, chosen, slow_seconds, retry_after)

    def clear_faults(self) -> None:
        """Forget every fail_next, delay and chaos setting."""
        self._fail.clear()
        self._delays.clear()
        self._chaos = None

    def _take_fault(self, method: str) -> BotAPIError | float:
        queued = self._fail.get(method)
        if queued:
            return queued.popleft()
        slow = 0.0
        delay = self._delays.get(method)
        if delay is not None:
            slow = delay.seconds
            if delay.times is not None:
                delay.times -= 1
                if delay.times <= 0:
                    del self._delays[method]
        chaos = self._chaos
        if chaos is None:
            return slow
        applies = method in chaos.methods if chaos.methods is not None else is_send_type(method)
        if not applies or chaos.rng.random() >= chaos.rate:
            return slow
        kind = chaos.rng.choice(chaos.kinds)
        if kind == "slow":
            return max(slow, chaos.slow_seconds)
        status = int(kind)
        if status == 429:
            retry = chaos.retry_after
            return BotAPIError(429, f"Too Many Requests: retry after {retry}", retry)
        return BotAPIError(status, _phrase(status))

    # ------------------------------------------------------------------ updates

    def enqueue(self, update: JSON) -> JSON:
        """Queue a raw update for getUpdates (assigns ``update_id`` if missing); returns it.

        An explicit ``update_id`` below the confirmed offset is confirmed without delivery,
        as Telegram never returns such an update.
        """
        if "update_id" not in update:
            gap = self._rng.randint(1, 1 + max(self._update_id_gap, 0))
            update["update_id"] = self._last_update_id + gap
        update_id = update["update_id"]
        if not isinstance(update_id, int):
            raise TypeError(f"update_id must be an int, got {update_id!r}")
        if any(u["update_id"] == update_id for u in self._pending):
            raise ValueError(f"update {update_id} is already pending")
        self._last_update_id = max(self._last_update_id, update_id)
        self._register(update)
        self._pending.append(update)
        self._pending.sort(key=lambda u: int(u["update_id"]))
        self._wake()
        return update

    def acknowledge(self, update_id: int) -> None:
        """The webhook answered 200 for this update: Telegram forgets it (see fakes.webhook)."""
        self.confirmed_updates.extend(u for u in self._pending if u["update_id"] == update_id)
        self._pending = [u for u in self._pending if u["update_id"] != update_id]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed (fetched or not), by update_id."""
        return list(self._pending)

    def _register(self, update: JSON) -> None:
        """Remember chats, messages and business connections an update carries."""
        for kind in ("message", "edited_message", "business_message", "channel_post"):
            message = update.get(kind)
            if isinstance(message, dict) and "chat" in message:
                chat = message["chat"]
                self._chats.setdefault(chat["id"], chat)
                self._messages[(chat["id"], message["message_id"])] = message
                counter = self._next_message_id.get(chat["id"], 0)
                self._next_message_id[chat["id"]] = max(counter, message["message_id"] + 1)
        connection = update.get("business_connection")
        if isinstance(connection, dict):
            self.business_connections[connection["id"]] = connection
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.callback_queries[query["id"]] = query

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            keep = self._pending[offset:]
            self.confirmed_updates.extend(self._pending[: len(self._pending) - len(keep)])
            self._pending = list(keep)
        elif offset > 0:
            self.confirmed_updates.extend(u for u in self._pending if u["update_id"] < offset)
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def _drop_disallowed(self) -> None:
        def allowed(update: JSON) -> bool:
            kind = next((key for key in update if key != "update_id"), "")
            if self._allowed_updates is None:
                return kind not in NOT_BY_DEFAULT
            return kind in self._allowed_updates

        self.dropped_updates.extend(u for u in self._pending if not allowed(u))
        self._pending = [u for u in self._pending if allowed(u)]

    async def _get_updates(self, call: Call) -> list[JSON]:
        if self.webhook is not None:
            raise BotAPIError(409, WEBHOOK_ACTIVE)
        params = call.params
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._confirm(_as_int(params.get("offset"), 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll ends with 409, as on the real server
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._drop_disallowed()
            if generation != self._poll_generation:
                raise BotAPIError(409, SUPERSEDED)
            remaining = deadline - loop.time()
            if self._pending or self._closing or remaining <= 0:
                break
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)
        batch = self._pending[:limit]
        self.fetched_update_ids.update(u["update_id"] for u in batch)
        return copy.deepcopy(batch)

    # ------------------------------------------------------------------ chats and messages

    def _now(self) -> int:
        return int(self.clock())

    def _new_message_id(self, chat_id: int) -> int:
        if chat_id not in self._next_message_id:
            self._next_message_id[chat_id] = self._rng.randrange(10, 1000)
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _chat(self, chat_id: Any) -> JSON:
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username") == chat_id[1:]:
                    return chat
            raise bad_request("chat not found")
        try:
            numeric = int(chat_id)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        known = self._chats.get(numeric)
        if known is not None:
            return known
        if self.strict_chats:
            raise bad_request("chat not found")
        if numeric > 0:
            new: JSON = {"id": numeric, "type": "private", "first_name": "User"}
        else:
            new = {"id": numeric, "type": "group", "title": "Group"}
        self._chats[numeric] = new
        return new

    def _outgoing(self, params: JSON) -> JSON:
        """The common part of a Message the bot sends (business connection aware)."""
        connection_id = params.get("business_connection_id")
        chat = self._chat(params.get("chat_id"))
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": self._now(),
        }
        if connection_id is not None:
            connection = self.business_connections.get(connection_id)
            if connection is None or not connection.get("is_enabled", True):
                raise bad_request("BUSINESS_CONNECTION_INVALID")
            message["from"] = dict(connection["user"])
            message["sender_business_bot"] = dict(self.bot_user)
            message["business_connection_id"] = connection_id
        reply = self._reply_to(chat["id"], params)
        if reply is not None:
            message["reply_to_message"] = reply
        return message

    def _reply_to(self, chat_id: int, params: JSON) -> JSON | None:
        reply_parameters = params.get("reply_parameters") or {}
        message_id = reply_parameters.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        target_chat = reply_parameters.get("chat_id", chat_id)
        original = self._messages.get((int(target_chat), int(message_id)))
        if original is None or (int(target_chat), int(message_id)) in self._deleted:
            if reply_parameters.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        reply = copy.deepcopy(original)
        reply.pop("reply_to_message", None)
        return reply

    def _deliver(self, message: JSON) -> JSON:
        key = (message["chat"]["id"], message["message_id"])
        self._messages[key] = message
        self._bot_keys.append(key)
        return copy.deepcopy(message)

    def _send_message(self, call: Call) -> JSON:
        params = call.params
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = render_text(raw, params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._outgoing(params)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        return self._deliver(message)

    def _send_document(self, call: Call) -> JSON:
        params = call.params
        stored = self._document_param(call)
        caption, entities = self._caption(params)
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._outgoing(params)
        message["document"] = stored.as_document()
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        return self._deliver(message)

    def _caption(self, params: JSON) -> tuple[str, list[JSON]]:
        raw = params.get("caption")
        if not raw:
            return "", []
        caption, entities = render_text(
            str(raw), params.get("parse_mode"), params.get("caption_entities")
        )
        if len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return caption, entities

    def _document_param(self, call: Call) -> StoredFile:
        value = call.params.get("document")
        upload = call.files.get("document")
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.content:
                raise bad_request("file must be non-empty")
            return self._store_file(upload.content, upload.filename, upload.content_type)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or "file"
            return self._store_file(b"", name, None)
        if value is None:
            raise bad_request("there is no document in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _store_file(
        self,
        content: bytes,
        file_name: str,
        mime_type: str | None,
        file_size: int | None = None,
    ) -> StoredFile:
        file_id = "BQACAgIAAxkBAA" + "".join(self._rng.choices(_ID_CHARS, k=40))
        unique = "AgAD" + "".join(self._rng.choices(_ID_CHARS, k=12))
        suffix = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        path = f"documents/file_{len(self.files)}{suffix}"
        guessed = mimetypes.guess_type(file_name)[0]
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            file_path=path,
            content=content,
            file_name=file_name,
            mime_type=mime_type or guessed or "application/octet-stream",
            file_size=len(content) if file_size is None else file_size,
        )
        self.files[file_id] = stored
        self._file_by_path[path] = stored
        return stored

    def _get_file(self, call: Call) -> JSON:
        stored = self.files.get(str(call.params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def _editable(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params.get("chat_id"))
        key = (chat["id"], _as_int(params.get("message_id"), 0))
        message = self._messages.get(key)
        if message is None or key in self._deleted:
            raise bad_request("message to edit not found")
        if key not in self._bot_keys:
            raise bad_request("message can't be edited")
        return message

    def _edited(self, message: JSON, changes: JSON, markup: JSON | None) -> JSON:
        current = {key: message.get(key) for key in changes}
        if current == changes and message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = self._now()
        return copy.deepcopy(message)

    def _edit_message_text(self, call: Call) -> JSON:
        params = call.params
        message = self._editable(params)
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = render_text(raw, params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        markup = check_reply_markup(params.get("reply_markup"))
        return self._edited(message, {"text": text, "entities": entities or None}, markup)

    def _edit_message_caption(self, call: Call) -> JSON:
        message = self._editable(call.params)
        caption, entities = self._caption(call.params)
        markup = check_reply_markup(call.params.get("reply_markup"))
        changes = {"caption": caption or None, "caption_entities": entities or None}
        return self._edited(message, changes, markup)

    def _edit_message_reply_markup(self, call: Call) -> JSON:
        message = self._editable(call.params)
        markup = check_reply_markup(call.params.get("reply_markup"))
        return self._edited(message, {}, markup)

    def _delete_message(self, call: Call) -> bool:
        chat = self._chat(call.params.get("chat_id"))
        key = (chat["id"], _as_int(call.params.get("message_id"), 0))
        if key not in self._messages or key in self._deleted:
            raise bad_request("message to delete not found")
        self._deleted.add(key)
        return True

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id"))
        if query_id not in self.callback_queries or query_id in self.answered_callbacks:
            raise bad_request(QUERY_INVALID.removeprefix("Bad Request: "))
        self.answered_callbacks[query_id] = dict(call.params)
        return True

    def _send_chat_action(self, call: Call) -> bool:
        self._chat(call.params.get("chat_id"))
        if call.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an Array of at most 100 BotCommand")
        for command in commands:
            if not _BOT_COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(call.params)] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, call: Call) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(call.params), []))

    def _delete_my_commands(self, call: Call) -> bool:
        self.commands.pop(self._commands_key(call.params), None)
        return True

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands the bot set for a scope (default scope unless given)."""
        key = self._commands_key({"scope": scope, "language_code": language_code})
        return copy.deepcopy(self.commands.get(key, []))

    def _set_webhook(self, call: Call) -> bool:
        url = call.params.get("url")
        if not url:
            self.webhook = None
            return True
        if not str(url).startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if call.params.get("drop_pending_updates"):
            self.dropped_updates.extend(self._pending)
            self._pending = []
        self.webhook = dict(call.params)
        return True

    def _delete_webhook(self, call: Call) -> bool:
        self.webhook = None
        if call.params.get("drop_pending_updates"):
            self.dropped_updates.extend(self._pending)
            self._pending = []
        return True

    def _get_webhook_info(self, call: Call) -> JSON:
        webhook = self.webhook or {}
        info: JSON = {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None and self.webhook_error is not None:
            info["last_error_date"] = self._now()
            info["last_error_message"] = self.webhook_error
        return info

    def _get_business_connection(self, call: Call) -> JSON:
        connection = self.business_connections.get(str(call.params.get("business_connection_id")))
        if connection is None:
            raise bad_request("BUSINESS_CONNECTION_INVALID")
        return copy.deepcopy(connection)

    # ------------------------------------------------------------------ acting as the user

    @staticmethod
    def make_user(user_id: int, first_name: str = "Owner", username: str | None = None) -> JSON:
        """A User object of a person."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        return user

    def _incoming(
        self,
        user: JSON,
        chat_id: int | None,
        chat_type: str,
        **fields: Any,
    ) -> JSON:
        if chat_type == "private":
            chat: JSON = {"id": chat_id or user["id"], "type": "private"}
            chat.update({k: v for k, v in user.items() if k in ("first_name", "username")})
        else:
            if chat_id is None:
                raise ValueError(f"a {chat_type} chat needs chat_id")
            chat = self._chats.get(chat_id) or {"id": chat_id, "type": chat_type, "title": "Group"}
        self._chats[chat["id"]] = chat
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": user,
            "chat": dict(chat),
            "date": self._now(),
        }
        message.update(fields)
        return message

    def send_message(
        self,
        text: str,
        *,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Owner",
        username: str | None = None,
        forward_from: JSON | None = None,
        **extra: Any,
    ) -> JSON:
        """The user sends ``text``; returns the enqueued update.

        A leading /command gets its bot_command entity; ``forward_from`` (a User dict) becomes
        ``forward_origin``; ``extra`` fields are merged into the Message.
        """
        user = self.make_user(user_id, first_name, username)
        message = self._incoming(user, chat_id, chat_type, text=text)
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        if forward_from is not None:
            sender = {"is_bot": False, "first_name": "Someone", **forward_from}
            message["forward_origin"] = {
                "type": "user",
                "date": self._now() - 60,
                "sender_user": sender,
            }
        message.update(extra)
        return self.enqueue({"message": message})

    def upload_document(
        self,
        content: bytes,
        file_name: str,
        *,
        user_id: int,
        caption: str | None = None,
        mime_type: str | None = None,
        chat_id: int | None = None,
        first_name: str = "Owner",
        file_size: int | None = None,
    ) -> JSON:
        """The user sends a file; getFile and the download URL serve it.

        ``file_size`` declares a different size than ``content`` (say a 30 MB file that getFile
        refuses) without building it.
        """
        stored = self._store_file(content, file_name, mime_type, file_size)
        user = self.make_user(user_id, first_name)
        message = self._incoming(user, chat_id, "private", document=stored.as_document())
        if caption is not None:
            message["caption"] = caption
        return self.enqueue({"message": message})

    def press_button(
        self,
        message: JSON | int,
        data: str | None = None,
        *,
        text: str | None = None,
        user_id: int,
        first_name: str = "Owner",
        chat_id: int | None = None,
    ) -> JSON:
        """The user taps a button (by callback data or text) of a message the bot sent.

        The message is looked up in its current state (after edits); raises LookupError when
        the button is not there.
        """
        if data is None and text is None:
            raise ValueError("press_button needs data or text")
        key = self._bot_message_key(message, chat_id)
        current = self._messages[key]
        buttons = [
            button
            for row in (current.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        for button in buttons:
            if (data is None or button.get("callback_data") == data) and (
                text is None or button.get("text") == text
            ):
                break
        else:
            shown = [(b.get("text"), b.get("callback_data")) for b in buttons]
            raise LookupError(f"no button data={data!r} text={text!r} on {key}; buttons: {shown}")
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback_data: {button}")
        query: JSON = {
            "id": str(self._rng.randrange(10**17, 10**18)),
            "from": self.make_user(user_id, first_name),
            "message": copy.deepcopy(current),
            "chat_instance": str(self._rng.randrange(-(10**18), 10**18)),
            "data": button["callback_data"],
        }
        return self.enqueue({"callback_query": query})

    def _bot_message_key(self, message: JSON | int, chat_id: int | None) -> tuple[int, int]:
        if isinstance(message, dict):
            key = (message["chat"]["id"], message["message_id"])
            candidates = [key] if key in self._bot_keys else []
        else:
            candidates = [
                k
                for k in self._bot_keys
                if k[1] == message and (chat_id is None or k[0] == chat_id)
            ]
        candidates = [k for k in candidates if k not in self._deleted]
        if len(candidates) != 1:
            found = "no" if not candidates else "several"
            raise LookupError(f"{found} live bot message matches {message!r}")
        return candidates[0]

    def connect_business(
        self,
        connection_id: str = "biz-connection-1",
        *,
        user_id: int,
        first_name: str = "Owner",
        can_reply: bool = True,
        is_enabled: bool = True,
    ) -> JSON:
        """The owner connects the bot in Telegram Business settings; returns the update."""
        connection: JSON = {
            "id": connection_id,
            "user": self.make_user(user_id, first_name),
            "user_chat_id": user_id,
            "date": self._now(),
            "rights": {"can_reply": can_reply},
            "is_enabled": is_enabled,
        }
        return self.enqueue({"business_connection": connection})

    def send_business_message(
        self,
        text: str,
        *,
        connection_id: str,
        user_id: int,
        first_name: str = "Client",
        from_owner: bool = False,
        **extra: Any,
    ) -> JSON:
        """A client (``user_id``) writes in a business chat, or the owner writes there."""
        connection = self.business_connections[connection_id]
        client = self.make_user(user_id, first_name)
        sender = dict(connection["user"]) if from_owner else client
        message = self._incoming(client, user_id, "private", text=text)
        message["from"] = sender
        message["business_connection_id"] = connection_id
        message.update(extra)
        return self.enqueue({"business_message": message})

    # ------------------------------------------------------------------ reading what the bot did

    def bot_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent (current state after edits; deleted ones left out), in order."""
        return [
            copy.deepcopy(self._messages[key])
            for key in self._bot_keys
            if key not in self._deleted and (chat_id is None or key[0] == chat_id)
        ]

    @property
    def deleted_messages(self) -> list[JSON]:
        """Messages (the bot's or the user's) the bot deleted."""
        return [copy.deepcopy(self._messages[key]) for key in self._deleted]

    def last_bot_message(self, chat_id: int) -> JSON:
        """The bot's latest live message in a chat."""
        messages = self.bot_messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}\n{self.describe()}")
        return messages[-1]

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a stored file (one the bot sent, or the user uploaded)."""
        return self.files[file_id].content

    def describe(self, last: int = 25) -> str:
        """Recent calls and queue state, for failure messages."""
        lines = [f"FakeBotAPI seed={self.seed}; last {last} of {len(self.calls)} calls:"]
        lines += [f"  {call.short()}" for call in self.calls[-last:]]
        pending = [u["update_id"] for u in self._pending]
        lines.append(f"pending updates: {pending}; confirmed: {len(self.confirmed_updates)}")
        return "\n".join(lines)

    async def wait_for(
        self,
        predicate: Callable[[], T | bool | None],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        what: str = "condition",
    ) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value  # type: ignore[return-value]
            if loop.time() >= deadline:
                raise AssertionError(f"{what} not met within {timeout}s\n{self.describe()}")
            await asyncio.sleep(0.01)

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> JSON:
        """The first bot message in the chat (index >= after) whose text or caption has
        ``contains``."""

        def find() -> JSON | None:
            for message in self.bot_messages(chat_id)[after:]:
                body = message.get("text") or message.get("caption") or ""
                if contains is None or contains in body:
                    return message
            return None

        what = f"a bot message in chat {chat_id} (index >= {after}) containing {contains!r}"
        return await self.wait_for(find, timeout, what=what)

    async def wait_idle(self, timeout: float = 5.0, quiet: float = 0.1) -> None:  # noqa: ASYNC109
        """Until every update is confirmed, no call is in flight and none arrived for ``quiet``."""

        def idle() -> bool:
            silent = time.monotonic() - self._last_call_at >= quiet
            return not self._pending and self._inflight == 0 and silent

        await self.wait_for(idle, timeout, what="idle (all updates confirmed, no calls)")
