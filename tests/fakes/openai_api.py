"""A fake OpenAI-compatible server: real HTTP on 127.0.0.1, the real Chat Completions shapes.

The real ``openai`` SDK talks to it through ``base_url``::

    async with FakeOpenAI() as api:
        api.script(Reply.text("Hello"), Reply.failing(429, retry_after="0"), Reply.garbage())
        settings = load_settings({"OPENAI_BASE_URL": api.base_url, ...})

Each POST /v1/chat/completions takes the next scripted :class:`Reply`; an empty script answers
HTTP 418 and counts in ``unexpected`` (a test that sent more than it scripted should fail).
``requests`` keeps every JSON body and ``headers`` every request's headers, so tests can assert
on prompts, ``tools``, ``tool_choice``, ``response_format``, ``max_tokens`` and the key sent.
GET /v1/models lists ``model`` (or answers ``models_body``). ``stream: true`` is answered as
server-sent chunks (usage in a last chunk when ``stream_options.include_usage``), like the real
servers; ``disconnects`` counts streams the client hung up on before the end, and ``tokens_sent``
the words an ``endless`` reply generated. ``rejected_fields`` makes the endpoint answer 400
to any request holding one of those fields (an old server without ``response_format``).

Faults: ``hang_forever`` (never answers), ``held`` (answers once the test sets an
``asyncio.Event``: event-based, no timing), ``slow`` (answers after N seconds), ``failing``
(429 with a ``retry-after`` header, 500, 401 ...), ``garbage`` (a 200 whose body is not a chat
completion), ``calls`` with invalid JSON arguments or an unknown tool name, and ``huge``
(20,000 tokens of text with matching usage), ``endless`` (streams words until the client
hangs up).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
MODEL = "fake-model"


@dataclass
class Reply:
    """One scripted answer. Build them with the class methods."""

    status: int = 200
    content: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    usage: JSON | None = None
    omit_usage: bool = False
    finish_reason: str | None = None
    raw_body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    gate: asyncio.Event | None = None  # answer only once this is set (or the server stops)
    error: JSON | None = None
    endless: bool = False

    @classmethod
    def text(cls, content: str, **options: Any) -> Reply:
        """A plain assistant message."""
        return cls(content=content, **options)

    @classmethod
    def calls(cls, *calls: tuple[str, Any], content: str | None = None) -> Reply:
        """Native tool calls: (name, arguments) where arguments is a dict or the raw string."""
        encoded = [(n, a if isinstance(a, str) else json.dumps(a)) for n, a in calls]
        return cls(content=content, tool_calls=encoded, finish_reason="tool_calls")

    @classmethod
    def json_text(cls, value: Any, *, fence: bool = False, prose: str = "") -> Reply:
        """A call or result written as JSON in the content, optionally fenced after prose."""
        body = json.dumps(value, indent=2)
        if fence:
            body = f"```json\n{body}\n```"
        return cls(content=f"{prose}{body}")

    @classmethod
    def hang_forever(cls) -> Reply:
        return cls(hang=True)

    @classmethod
    def held(cls, gate: asyncio.Event, content: str) -> Reply:
        """A plain assistant message, answered only once the test sets `gate`."""
        return cls(content=content, gate=gate)

    @classmethod
    def slow(cls, seconds: float, content: str = "late answer") -> Reply:
        return cls(content=content, delay=seconds)

    @classmethod
    def failing(cls, status: int, *, retry_after: str | None = None, **error: Any) -> Reply:
        """An API error with the real error envelope (and ``retry-after`` when given)."""
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        body = {"message": f"fake error {status}", "type": "fake_error", "code": None, **error}
        return cls(status=status, headers=headers, error=body)

    @classmethod
    def garbage(cls, body: str = "<html>502 Bad Gateway</html>", **options: Any) -> Reply:
        """A 200 whose body is not a chat completion (not JSON by default)."""
        return cls(raw_body=body, **options)

    @classmethod
    def endless_text(cls) -> Reply:
        """Words streamed forever (a runaway generation), until the client hangs up."""
        return cls(endless=True)

    @classmethod
    def huge(cls, tokens: int = 20_000) -> Reply:
        """``tokens`` words of text, usage to match, cut at the length limit."""
        usage = {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": tokens + 50}
        return cls(content="word " * tokens, usage=usage, finish_reason="length")


class FakeOpenAI:
    """The server. ``await start()`` / ``await stop()``, or ``async with``."""

    def __init__(self, *, model: str = MODEL) -> None:
        self.model = model
        self.requests: list[JSON] = []
        self.headers: list[dict[str, str]] = []
        self.unexpected = 0
        self.models_body: str | None = None  # set to answer GET /v1/models with this text
        self.rejected_fields: set[str] = set()
        self.rejected_status = 400  # some llama.cpp builds answer 500 instead
        self.disconnects = 0
        self.tokens_sent = 0
        self.streams_open = 0
        self._script: deque[Reply] = deque()
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self._script.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        return len(self._script)

    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = _bound_port(self._runner)

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _models(self, request: web.Request) -> web.Response:
        if self.models_body is not None:
            return web.Response(text=self.models_body, content_type="text/html")
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}
        return web.json_response({"object": "list", "data": [model]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        rejected = sorted(self.rejected_fields & set(body))
        if rejected:
            message = f"Unrecognized request argument supplied: {rejected[0]}"
            error = {"message": message, "type": "invalid_request_error"}
            return _error(self.rejected_status, error)
        if not self._script:
            self.unexpected += 1
            return _error(418, {"message": "no scripted reply", "type": "fake"})
        reply = self._script.popleft()
        if body.get("stream") and (reply.hang or reply.endless):
            return await self._stream_until_hangup(request, reply)
        await self._wait(reply)
        if body.get("stream") and reply.error is None and reply.raw_body is None:
            return await self._stream(request, reply, body)
        return self._answer(reply, body)

    async def _open_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        return response

    async def _stream(self, request: web.Request, reply: Reply, body: JSON) -> web.StreamResponse:
        """The scripted completion as chunks: the text in pieces, each tool call, the end."""
        done = self._completion(reply, body)
        choice = done["choices"][0]
        response = await self._open_stream(request)
        text = choice["message"]["content"] or ""
        pieces = [text[i : i + 40] for i in range(0, len(text), 40)]
        deltas: list[JSON] = [{"role": "assistant", "content": piece} for piece in pieces]
        for i, call in enumerate(choice["message"].get("tool_calls") or []):
            deltas.append({"tool_calls": [{"index": i, **call}]})
        chunk = {k: done[k] for k in ("id", "created", "model")} | {
            "object": "chat.completion.chunk"
        }
        try:
            for delta in deltas:
                await _send(response, chunk | {"choices": [{"index": 0, "delta": delta}]})
            end = {"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}
            await _send(response, chunk | {"choices": [end]})
            if (body.get("stream_options") or {}).get("include_usage") and "usage" in done:
                await _send(response, chunk | {"choices": [], "usage": done["usage"]})
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionError, RuntimeError):
            self.disconnects += 1
        return response

    async def _stream_until_hangup(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        """Headers at once, then nothing (hang) or a word every few ms (endless), until the
        client closes the connection (counted in ``disconnects``) or the server stops."""
        response = await self._open_stream(request)
        self.streams_open += 1
        chunk: JSON = {"id": "chatcmpl-endless", "object": "chat.completion.chunk", "model": "x"}
        try:
            while not self._closing.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    self.disconnects += 1
                    break
                if reply.endless:
                    delta = {"index": 0, "delta": {"content": "word "}}
                    await _send(response, chunk | {"choices": [delta]})
                    self.tokens_sent += 1
                await asyncio.sleep(0.01)
        except (ConnectionError, RuntimeError):
            self.disconnects += 1
        finally:
            self.streams_open -= 1
        return response

    async def _wait(self, reply: Reply) -> None:
        if reply.hang:
            await self._closing.wait()
        elif reply.gate is not None:
            waits = {asyncio.ensure_future(e.wait()) for e in (reply.gate, self._closing)}
            _, left = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in left:
                waiting.cancel()
        elif reply.delay:  # cut short when the server stops
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay)

    def _answer(self, reply: Reply, request: JSON) -> web.Response:
        if reply.error is not None:
            return _error(reply.status, reply.error, reply.headers)
        if reply.raw_body is not None:
            ctype = "application/json" if reply.raw_body.lstrip().startswith(("{", "[")) else None
            return web.Response(
                text=reply.raw_body, content_type=ctype or "text/html", headers=reply.headers
            )
        return web.json_response(self._completion(reply, request), headers=reply.headers)

    def _completion(self, reply: Reply, request: JSON) -> JSON:
        message: JSON = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [_tool_call(n, a) for n, a in reply.tool_calls]
        body: JSON = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason or "stop",
                }
            ],
        }
        if not reply.omit_usage:
            body["usage"] = reply.usage or _usage(request, reply)
        return body


async def _send(response: web.StreamResponse, chunk: JSON) -> None:
    await response.write(f"data: {json.dumps(chunk)}\n\n".encode())


def _tool_call(name: str, arguments: str) -> JSON:
    call_id = f"call_{abs(hash((name, arguments))) % 10**8:08d}"
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _usage(request: JSON, reply: Reply) -> JSON:
    """Roughly four characters a token, like the real tokenizers on English text."""
    prompt = sum(len(str(m.get("content") or "")) for m in request.get("messages", [])) // 4 + 1
    written = len(reply.content or "") + sum(len(a) for _, a in reply.tool_calls)
    completion = written // 4 + 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _error(status: int, error: JSON, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error}, status=status, headers=headers or {})


def _bound_port(runner: web.AppRunner) -> int:
    addresses: Sequence[Any] = runner.addresses
    return int(addresses[0][1])


def tool_names(request: JSON) -> list[str]:
    """Names of the tools offered in a recorded request body."""
    tools: Iterable[JSON] = request.get("tools") or []
    return [t["function"]["name"] for t in tools]
