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

Where each part lives (``FakeBotAPI`` is the mixins over one ``FakeState``)::

    server      FakeBotAPI: the aiohttp server, lifecycle, routing a request to its method
    state       FakeState: every attribute, shared primitives (chats, message ids, files)
    params      how parameters arrive and are decoded (form, multipart, JSON)
    validation  HTML parse mode, entities, inline keyboards, as Telegram checks them
    records     Call, UploadedFile, StoredFile, BotAPIError
    methods     the Bot API methods implemented (send, edit, delete, files, commands, webhook)
    updates     the update queue and getUpdates long polling
    faults      fail_next, delay, chaos
    user        acting as the user (send_message, press_button, upload_document, ...)
    reading     what the bot did (calls, bot_messages, ...) and the wait_* helpers
"""

from tests.fakes.botapi.faults import is_send_type
from tests.fakes.botapi.methods import (
    CHAT_ACTIONS,
    MAX_CAPTION,
    MAX_DOWNLOAD,
    MAX_TEXT,
    NOT_MODIFIED,
    QUERY_INVALID,
)
from tests.fakes.botapi.params import JSON_PARAMS, STRING_PARAMS, decode_param, read_params
from tests.fakes.botapi.records import (
    JSON,
    BotAPIError,
    Call,
    StoredFile,
    UploadedFile,
    bad_request,
)
from tests.fakes.botapi.server import MAX_UPLOAD, FakeBotAPI
from tests.fakes.botapi.state import DEFAULT_TOKEN
from tests.fakes.botapi.updates import NOT_BY_DEFAULT, SUPERSEDED, WEBHOOK_ACTIVE
from tests.fakes.botapi.validation import (
    BUTTON_ACTIONS,
    MAX_CALLBACK_DATA,
    check_button,
    check_reply_markup,
    command_entities,
    parse_html,
    render_text,
)

__all__ = [
    "BUTTON_ACTIONS",
    "CHAT_ACTIONS",
    "DEFAULT_TOKEN",
    "JSON",
    "JSON_PARAMS",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_DOWNLOAD",
    "MAX_TEXT",
    "MAX_UPLOAD",
    "NOT_BY_DEFAULT",
    "NOT_MODIFIED",
    "QUERY_INVALID",
    "STRING_PARAMS",
    "SUPERSEDED",
    "WEBHOOK_ACTIVE",
    "BotAPIError",
    "Call",
    "FakeBotAPI",
    "StoredFile",
    "UploadedFile",
    "bad_request",
    "check_button",
    "check_reply_markup",
    "command_entities",
    "decode_param",
    "is_send_type",
    "parse_html",
    "read_params",
    "render_text",
]
