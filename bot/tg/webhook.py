"""Webhook mode: Telegram POSTs each update to us; we persist it, and only then answer 200.

    POST {path of WEBHOOK_URL}
      secret header missing or wrong ─▶ 403 (body not read, nothing stored)
      body over MAX_BODY ─────────────▶ 413
      not JSON / no integer update_id ▶ 400
      stored (fsync'd; a re-delivered update id is ignored) ─▶ 200 ─▶ the worker drains

Telegram re-delivers an update until it gets a 2xx answer, so a crash before the 200 only means
the same update arrives again, and the inbox's dedupe by update id handles it once. The server
speaks plain HTTP on WEBHOOK_PORT; an HTTPS reverse proxy in front terminates TLS.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram.error import TelegramError
from telegram.ext import Application

from bot.crashpoints import crash_point
from bot.services.calendar_sync.feed import FeedService
from bot.services.inbox import Inbox
from bot.tg.feed import add_feed_route
from bot.tg.worker import InboxWorker

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few KiB; Telegram's own limit for a message is 4096 chars
LISTEN_ALL = "0.0.0.0"  # what a container needs; the secret header guards every request


class WebhookServer:
    """Serves the webhook until stopped; the same inbox and worker as the poller."""

    def __init__(
        self,
        app: App,
        inbox: Inbox,
        allowed_updates: list[str],
        *,
        url: str,
        secret: str,
        port: int,
        host: str = LISTEN_ALL,
        feed: FeedService | None = None,
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.worker = InboxWorker(app, inbox)
        self.allowed_updates = allowed_updates
        self.url = url
        self.path = urlsplit(url).path or "/"
        self._secret = secret.encode()
        self.host, self.port = host, port
        self.feed = feed  # served here too (the calendar feed) unless it has its own port
        self._stop = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._again = False

    def stop(self) -> None:
        """Stop after the update being handled; updates stored meanwhile wait for the next start."""
        self.worker.stop()
        self._stop.set()

    async def run(self) -> None:
        """Finish what a crash left, listen, tell Telegram where to post, serve until stopped."""
        await asyncio.to_thread(self.inbox.recover)
        runner = web.AppRunner(self._web_app(), access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await self._listen(runner)
            await self._register()
            self.trigger()
            await self._stop.wait()
            if self._drainer is not None:
                await self._drainer
        finally:
            await runner.cleanup()
            if self._drainer is not None:
                self._drainer.cancel()

    def _web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self.receive)
        if self.feed is not None:
            add_feed_route(app, self.feed)
        return app

    async def _listen(self, runner: web.AppRunner) -> None:
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            log.error("webhook: cannot listen on %s:%s (%s)", self.host, self.port, exc.strerror)
            raise
        log.info("webhook: listening on %s:%s, path %s", self.host, self.port, self.path)

    async def _register(self) -> None:
        try:
            await self.app.bot.set_webhook(
                self.url,
                secret_token=self._secret.decode(),
                allowed_updates=self.allowed_updates,
                drop_pending_updates=False,
            )
        except TelegramError as exc:
            log.error("Telegram refused WEBHOOK_URL (%s): %s", type(exc).__name__, exc.message)
            raise

    async def receive(self, request: web.Request) -> web.StreamResponse:
        """One POST from Telegram: check, store, answer 200, then let the worker drain."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook: refused a request from %s (wrong or no secret)", request.remote)
            return web.Response(status=403)
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413)
        update = _parse(await request.read())  # over MAX_BODY without a length: 413 here too
        if update is None:
            log.warning("webhook: refused a body that is not an update")
            return web.Response(status=400, text="expected a JSON update with an update_id")
        try:
            fresh = await asyncio.to_thread(self.inbox.store, [update])
        except Exception:
            log.exception("webhook: update %s not stored; Telegram retries", update["update_id"])
            return web.Response(status=500)
        if not fresh:
            log.info("webhook: update %s was delivered again; stored once", update["update_id"])
        crash_point("after_persist")
        try:
            response = web.Response(status=200)
            await response.prepare(request)
            await response.write_eof()
            return response
        finally:
            self.trigger()  # stored, so handled even if Telegram hung up before our answer

    def trigger(self) -> None:
        """Drain soon: one drain at a time, and a burst of triggers adds at most one more pass."""
        self._again = True
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="microdesk-webhook-drain")

    async def _drain(self) -> None:
        while self._again and not self.worker.stopping:
            self._again = False
            try:
                await self.worker.drain()
            except Exception:
                log.exception("draining the inbox failed; the next update retries")


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        update = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(update, dict):
        return None
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    return update
