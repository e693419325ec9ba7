"""Reading what the bot did (calls, messages, files) and waiting for it, for assertions."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import TypeVar

from tests.fakes.botapi.records import JSON, Call
from tests.fakes.botapi.state import FakeState

T = TypeVar("T")


class Reading(FakeState):
    """The recorded calls and the bot's messages; ``wait_*`` poll until something holds."""

    @property
    def unhandled_calls(self) -> list[Call]:
        """Calls to methods this fake does not implement (answered with ``true``)."""
        known = set(self._canonical.values())
        return [c for c in self.calls if c.method not in known and c.method != "downloadFile"]

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

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
