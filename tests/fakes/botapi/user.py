"""Acting as the user: messages, uploads, button taps and business chats, as updates."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.botapi.records import JSON
from tests.fakes.botapi.updates import Updates
from tests.fakes.botapi.validation import command_entities


class UserActions(Updates):
    """What a person does in Telegram, enqueued as the update the bot would receive."""

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
        **extra: Any,
    ) -> JSON:
        """The user sends a file; getFile and the download URL serve it.

        ``file_size`` declares a different size than ``content`` (say a 30 MB file that getFile
        refuses) without building it; ``extra`` fields (``reply_to_message``) are merged into
        the Message.
        """
        stored = self._store_file(content, file_name, mime_type, file_size)
        user = self.make_user(user_id, first_name)
        message = self._incoming(user, chat_id, "private", document=stored.as_document())
        if caption is not None:
            message["caption"] = caption
        message.update(extra)
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
