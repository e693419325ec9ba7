"""The calendar feed over HTTP: ``GET /feed/<token>.ics``, on FEED_PORT or the webhook server.

A wrong or revoked token gets a bare 404 (the same as a path that never existed); no access log
is kept, so the token never reaches a log line.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.services.calendar_sync.feed import PATH, FeedService

log = logging.getLogger(__name__)
CACHE = "private, max-age=300"


def add_feed_route(app: web.Application, feed: FeedService) -> None:
    """Serve the feed from `app` (the webhook server's, or the feed's own)."""

    async def serve(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(feed.ics, request.match_info["token"])
        if body is None:
            return web.Response(status=404)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": CACHE},
        )

    app.router.add_get(PATH, serve)


class FeedServer:
    """The feed on its own port (FEED_PORT)."""

    def __init__(self, feed: FeedService, host: str, port: int) -> None:
        self.feed, self.host, self.port = feed, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        add_feed_route(app, self.feed)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            log.error("feed: cannot listen on %s:%s (%s)", self.host, self.port, exc.strerror)
            return
        self._runner = runner
        log.info("feed: serving the calendar feed on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
