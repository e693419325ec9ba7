"""The fake's state: the calls it recorded, updates, chats, messages, files, faults, server.

``FakeState`` holds every attribute and the few primitives the concepts share (time, message
ids, chats, stored files). The concepts are mixins over it, each in its own module; ``server``
puts them together as ``FakeBotAPI``.
"""

from __future__ import annotations

import asyncio
import mimetypes
import random
import string
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.botapi.records import JSON, BotAPIError, Call, StoredFile, bad_request

if TYPE_CHECKING:
    from tests.fakes.botapi.faults import Chaos, Delay

DEFAULT_TOKEN = "7000000001:fake-token-for-tests-only"
_ID_CHARS = string.ascii_letters + string.digits + "-_"


class FakeState:
    """What the fake holds; the mixins that share it add the Bot API and the test helpers."""

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
        self._delays: dict[str, Delay] = {}
        self._chaos: Chaos | None = None
        # server
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._inflight = 0
        self._last_call_at = time.monotonic()
        self._methods: dict[str, Callable[[Call], Any]] = self._routes()
        self._canonical = {name.lower(): name for name in [*self._methods, "getUpdates"]}

    def _routes(self) -> dict[str, Callable[[Call], Any]]:
        """The Bot API methods answered, by name (``FakeBotAPI`` lists them)."""
        raise NotImplementedError

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
