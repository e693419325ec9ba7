"""Telegram's side of a webhook: POST an update to the bot as the HTTPS reverse proxy would.

The bot registers ``https://…/path`` with setWebhook on the fake Bot API; the proxy in front of
it forwards to plain HTTP on WEBHOOK_PORT. ``WebhookCaller`` posts to that local port, on the
path of the registered URL, with the registered secret token (or any other, to test refusals)::

    caller = WebhookCaller(api, "http://127.0.0.1:8443")
    status = await caller.deliver(api.send_message("/add x", user_id=OWNER))   # 200

``deliver`` acknowledges the update on a 200, as Telegram then forgets it; anything else leaves
it pending, as Telegram would post it again.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tests.fakes.botapi import JSON, FakeBotAPI

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REGISTERED = object()  # post with the secret the bot gave setWebhook


def free_port() -> int:
    """A port of 127.0.0.1 free right now, for the bot's WEBHOOK_PORT."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebhookCaller:
    def __init__(self, api: FakeBotAPI, local_base: str) -> None:
        self.api = api
        self.local_base = local_base.rstrip("/")

    @property
    def registered(self) -> JSON:
        if self.api.webhook is None:
            raise AssertionError(f"no webhook is set\n{self.api.describe()}")
        return self.api.webhook

    @property
    def url(self) -> str:
        """Where the proxy forwards: the local server, on the registered URL's path."""
        return self.local_base + (urlsplit(self.registered["url"]).path or "/")

    async def post(
        self,
        update: JSON | bytes,
        *,
        secret: Any = REGISTERED,
        path: str | None = None,
        method: str = "POST",
    ) -> int:
        """The HTTP status the bot answers (``secret=None`` sends no secret header)."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is REGISTERED:
            secret = str(self.registered["secret_token"])
        if secret is not None:
            headers[SECRET_HEADER] = secret
        url = self.local_base + path if path is not None else self.url
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    async def deliver(self, update: JSON) -> int:
        """Post as Telegram does; on 200 the update leaves the fake's queue."""
        status = await self.post(update)
        if status == 200:
            self.api.acknowledge(update["update_id"])
        return status
