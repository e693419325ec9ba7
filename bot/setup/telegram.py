"""The Bot API as setup needs it: the token checked with getMe, the owner paired by a code.

Plain HTTP calls (no Application: nothing else runs while setup does). URLs carry the token, so
no URL or library message is ever shown; every failure is one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.errors import MicrodeskError
from bot.setup.pairing import PairingCode

TIMEOUT = 10.0
POLL_SECONDS = 10
PAIRED = "✓ Paired: this bot now serves you, and only you. Setup goes on in the terminal."


class SetupError(MicrodeskError):
    """A step of setup cannot go on; the message says why and what to do."""


class RefusedToken(SetupError):
    """Telegram does not know the token."""


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str


@dataclass(frozen=True)
class Owner:
    id: int
    name: str
    username: str | None

    @property
    def described(self) -> str:
        handle = f" (@{self.username})" if self.username else ""
        return f"{self.name}{handle}, user id {self.id}"


class BotApi:
    """One bot's Bot API methods over HTTP."""

    def __init__(
        self, root: str, token: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._url = f"{root.rstrip('/')}/bot{token}"
        self._http = httpx.Client(timeout=TIMEOUT, transport=transport)

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, wait: float = 0.0, **params: Any) -> Any:
        """The method's result; SetupError in words for anything else."""
        try:
            response = self._http.post(f"{self._url}/{method}", json=params, timeout=TIMEOUT + wait)
        except httpx.TimeoutException:
            raise SetupError(f"Telegram did not answer within {TIMEOUT:.0f} s: try again") from None
        except httpx.HTTPError:
            raise SetupError(
                "Cannot reach Telegram (no connection, or the name does not resolve): "
                "check this machine's internet connection, or TELEGRAM_API_BASE_URL"
            ) from None
        return _result(response)

    def get_me(self) -> BotIdentity:
        me = self.call("getMe")
        return BotIdentity(int(me["id"]), str(me.get("username") or me.get("first_name", "")))

    def pair(self, code: PairingCode, poll_seconds: int = POLL_SECONDS) -> Owner | None:
        """Wait for the code in a private chat; the sender, or None once the code expired.

        Messages that are not the code get no answer; the updates read here are confirmed, so
        the bot does not answer them later either.
        """
        offset: int | None = None
        while not code.expired:
            updates = self.call(
                "getUpdates",
                wait=poll_seconds,
                offset=offset,
                timeout=poll_seconds,
                allowed_updates=["message"],
            )
            if not updates:
                continue
            offset = max(int(u["update_id"]) for u in updates) + 1
            senders = (_sender_of(u.get("message"), code) for u in updates)
            owner = next((o for o in senders if o is not None), None)
            if owner is not None:
                self.call("getUpdates", offset=offset, timeout=0)  # confirm all that was read
                self.call("sendMessage", chat_id=owner.id, text=PAIRED)
                return owner
        return None


def _sender_of(message: Any, code: PairingCode) -> Owner | None:
    """The person who sent the code in a private chat, if this message is that."""
    if not isinstance(message, dict) or message.get("chat", {}).get("type") != "private":
        return None
    user = message.get("from") or {}
    if user.get("is_bot") or not code.accept(str(message.get("text") or "")):
        return None
    name = " ".join(str(user.get(k, "")) for k in ("first_name", "last_name")).strip()
    return Owner(int(user["id"]), name or "someone", user.get("username"))


def _result(response: httpx.Response) -> Any:
    if response.status_code in (401, 404):
        raise RefusedToken(
            "Telegram does not know this token: it was revoked or mistyped. Copy it again from "
            "@BotFather (/mybots → your bot → API Token)"
        )
    if response.status_code == 409:
        raise SetupError(
            "Another program is reading this bot's messages (a running microdesk, or a "
            "webhook): stop it, then run setup again"
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("ok"):
        raise SetupError(f"Telegram answered HTTP {response.status_code}: try again in a minute")
    return body["result"]
