"""The Bot API methods the fake implements: messages, edits, files, commands, webhook."""

from __future__ import annotations

import copy
import json
import re

from tests.fakes.botapi.params import as_int
from tests.fakes.botapi.records import JSON, Call, StoredFile, bad_request
from tests.fakes.botapi.state import FakeState
from tests.fakes.botapi.validation import check_reply_markup, render_text

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, like the cloud Bot API

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
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
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class Methods(FakeState):
    """One handler a method: each validates like Telegram, changes the state, returns a result."""

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
        text, entities = checked_text(params, too_long="message is too long")
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
        key = (chat["id"], as_int(params.get("message_id"), 0))
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
        text, entities = checked_text(params, too_long="MESSAGE_TOO_LONG")
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
        key = (chat["id"], as_int(call.params.get("message_id"), 0))
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


def checked_text(params: JSON, *, too_long: str) -> tuple[str, list[JSON]]:
    """A message's text as Telegram checks it: not empty (before and after markup), not too long."""
    raw = params.get("text")
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("message text is empty")
    text, entities = render_text(raw, params.get("parse_mode"), params.get("entities"))
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request(too_long)
    return text, entities
