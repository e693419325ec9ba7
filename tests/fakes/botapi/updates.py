"""Updates: the queue tests fill, getUpdates long polling with offsets, allowed_updates."""

from __future__ import annotations

import asyncio
import copy

from tests.fakes.botapi.params import as_int
from tests.fakes.botapi.records import JSON, BotAPIError, Call
from tests.fakes.botapi.state import FakeState

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


class Updates(FakeState):
    """The pending updates: enqueued by tests, fetched by getUpdates, confirmed by offset."""

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
        limit = min(max(as_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._confirm(as_int(params.get("offset"), 0))
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
