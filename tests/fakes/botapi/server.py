"""The HTTP server: aiohttp on 127.0.0.1, the Bot API and file URLs, routing to the methods."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.botapi.faults import Faults
from tests.fakes.botapi.methods import Methods
from tests.fakes.botapi.params import read_params
from tests.fakes.botapi.reading import Reading
from tests.fakes.botapi.records import JSON, BotAPIError, Call
from tests.fakes.botapi.user import UserActions

MAX_UPLOAD = 50 * 1024 * 1024


class FakeBotAPI(UserActions, Methods, Reading, Faults):
    """The fake Bot API server, its recorded state, and helpers to act as the user."""

    def _routes(self) -> dict[str, Callable[[Call], Any]]:
        return {
            "getMe": lambda call: dict(self.bot_user),
            "logOut": lambda call: True,
            "close": lambda call: True,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getBusinessConnection": self._get_business_connection,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def bot_base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url``."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_file_url``."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1 in the running event loop."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        self._closing = False
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        """Answer waiting long polls and close the server."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP

    async def _handle_method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self._canonical.get(name.lower(), name)
        call = Call(method=method, params={}, at=time.monotonic())
        self.calls.append(call)
        tracked = method != "getUpdates"  # a long poll waiting is not activity
        if tracked:
            self._last_call_at = call.at
        self._inflight += tracked
        try:
            status, body, slow = await self._answer(call, request)
            call.status = status
            call.result = body.get("result", body.get("description"))
            if slow:
                await asyncio.sleep(slow)
            return web.json_response(body, status=status)
        finally:
            self._inflight -= tracked

    async def _answer(self, call: Call, request: web.Request) -> tuple[int, JSON, float]:
        slow = 0.0
        try:
            call.params, call.files = await read_params(request)
            if request.match_info["token"] != self.token:
                raise BotAPIError(401, "Unauthorized")
            fault = self._take_fault(call.method)
            if isinstance(fault, BotAPIError):
                call.fault = str(fault.status)
                raise fault
            slow = fault
            if slow:
                call.fault = "slow"
            if call.method == "getUpdates":
                result = await self._get_updates(call)
            else:
                result = self._methods.get(call.method, self._fallback)(call)
        except BotAPIError as error:
            return error.status, error.body(), slow
        return 200, {"ok": True, "result": result}, slow

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        call = Call(method="downloadFile", params={"file_path": path}, at=time.monotonic())
        self.calls.append(call)
        self._last_call_at = call.at
        error: BotAPIError | None = None
        if request.match_info["token"] != self.token:
            error = BotAPIError(401, "Unauthorized")
        elif path not in self._file_by_path:
            error = BotAPIError(404, "Not Found")
        if error is not None:
            call.status = error.status
            return web.json_response(error.body(), status=error.status)
        call.status = 200
        stored = self._file_by_path[path]
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return web.json_response(BotAPIError(404, "Not Found").body(), status=404)

    def _fallback(self, call: Call) -> Any:
        return True
