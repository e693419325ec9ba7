"""The one LLM client: the only module in the project that imports ``openai``.

``AsyncOpenAI`` runs with ``max_retries=0`` and explicit time-outs; retries are one tenacity
policy here (jittered exponential backoff, ``retry-after`` honoured, only 429 / 5xx / time-outs /
connection errors, a time-out retried at most once, stopping on attempts and before the total
time runs out), and a hard deadline bounds the whole call: ``LLM_TIMEOUT`` for the owner's turns,
``LLM_DRAFT_TIMEOUT`` for background drafts. The budget is checked before the first request;
every call is recorded and asks for at most ``max_tokens``.

Answers are streamed: when the deadline passes (or the answer grows past the cap) the
connection is closed, so the server stops generating instead of running on for minutes. One
request at a time goes to the endpoint, the owner's turns ahead of background drafts
(:class:`PriorityLock`). Optional request features (``stream_options``, a JSON-schema
``response_format``) are dropped once, and remembered per endpoint and model, when the endpoint
rejects them (:class:`Capabilities`).

The stream (or a plain body, from servers that ignore ``stream``) is validated by
:mod:`bot.llm.wire`, so a non-JSON or malformed answer becomes :class:`LLMBadResponse` instead
of a half-built SDK object. Errors leave this module as the :mod:`bot.llm.errors` tree; SDK
messages (which can echo the key) are never logged.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx2
import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from bot.config import Settings
from bot.llm import wire
from bot.llm.completion import Completion, Message, Tool, Usage
from bot.llm.errors import (
    BudgetExceeded,
    LLMBadResponse,
    LLMDisabled,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
)
from bot.llm.usage import Budget, UsageReport

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
KEYLESS = "not-needed"  # local servers (llama.cpp, Ollama, vLLM) ignore the key


OWNER = 0  # priorities at the endpoint: the owner's turns first
BACKGROUND = 1


@dataclass(frozen=True)
class Timeouts:
    """Per-request HTTP time-outs in seconds; ``read`` None: the call's whole deadline (a
    small model on a slow box may think for a minute before its first token)."""

    connect: float = 5.0
    read: float | None = None
    write: float = 10.0
    pool: float = 5.0


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, deadline and backoff of one ``complete`` call.

    ``total`` None: the deadline comes from the settings (``LLM_TIMEOUT`` for the owner's
    turns, ``LLM_DRAFT_TIMEOUT`` for background drafts); tests set a short one for both.
    """

    attempts: int = 2
    total: float | None = None
    backoff: float = 1.0
    backoff_max: float = 10.0
    retry_after_max: float = 20.0
    timeout_retries: int = 1  # a time-out is retried at most once, never twice


ResponseFormatStyle = Literal["json_schema", "schema_object", "none"]


@dataclass
class Capabilities:
    """What one endpoint + model accepts and does well, learned once and remembered.

    ``tools``: None until probed (native tool calls when asked for "auto"); the format styles
    are tried in order and the first the endpoint accepts is kept.
    """

    stream_options: bool = True
    response_format: ResponseFormatStyle = "json_schema"
    tools: bool | None = None


_KNOWN: dict[tuple[str, str], Capabilities] = {}  # per endpoint and model, for this process


def capabilities_of(base_url: str, model: str) -> Capabilities:
    return _KNOWN.setdefault((base_url, model), Capabilities())


class PriorityLock:
    """One holder at a time; waiters are served by priority (lower first), then in order."""

    def __init__(self) -> None:
        self._busy = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._waiters if not f.done())

    @asynccontextmanager
    async def hold(self, priority: int) -> AsyncIterator[None]:
        if self._busy:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (priority, next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():  # handed over as we were cancelled
                    self._release()
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the lock passes on; _busy stays True
                return
        self._busy = False


@dataclass(frozen=True)
class Limits:
    """Defensive caps on what we ask for and what we accept."""

    default_max_tokens: int = 512
    max_tokens_cap: int = 4096
    max_content_chars: int = 16_000


@dataclass
class _Attempts:
    """Time-outs seen within one call (a time-out is retried at most once)."""

    timeouts: int = 0


class LLMClient:
    """Chat completions against the configured OpenAI-compatible endpoint, within budget."""

    def __init__(
        self,
        settings: Settings,
        ledger: Budget,
        *,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        limits: Limits = Limits(),
        http_client: httpx2.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        capabilities: Capabilities | None = None,
    ) -> None:
        if not settings.llm_enabled:
            raise LLMDisabled()
        self.model = settings.OPENAI_MODEL
        self.base_url = settings.OPENAI_BASE_URL or OPENAI_BASE_URL
        self.ledger = ledger  # the app's one UsageLedger
        self.capabilities = capabilities or capabilities_of(self.base_url, self.model)
        self.lock = PriorityLock()  # one request at a time at this endpoint
        self._deadlines = {OWNER: settings.LLM_TIMEOUT, BACKGROUND: settings.LLM_DRAFT_TIMEOUT}
        self._timeouts = timeouts
        self._retry = retry
        self._limits = limits
        self._sleep = sleep
        key = settings.OPENAI_API_KEY
        self._sdk = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=key.get_secret_value() if key is not None else KEYLESS,
            max_retries=0,
            timeout=self._http_timeout(settings.LLM_TIMEOUT),
            http_client=http_client,
        )

    def deadline(self, background: bool = False) -> float:
        """Seconds one call may take, waiting for the endpoint included."""
        if self._retry.total is not None:
            return self._retry.total
        return self._deadlines[BACKGROUND if background else OWNER]

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Tool] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        purpose: str = "chat",
        background: bool = False,
    ) -> Completion:
        """One model turn. Raises BudgetExceeded before any request when the month is used up.

        `background` (drafts) waits behind the owner's turns and gets ``LLM_DRAFT_TIMEOUT``.
        """
        try:
            await self.ledger.check_async()
        except BudgetExceeded as exc:
            log.warning("llm call refused purpose=%s budget %s", purpose, exc.detail)
            raise
        request = self._request(messages, tools, tool_choice, response_format, max_tokens)
        usage = Usage()
        deadline = self.deadline(background)
        try:
            body = await self._post(request, deadline, BACKGROUND if background else OWNER)
            usage = wire.usage_of(body, request["messages"])
            completion = wire.completion_of(
                body, usage, max_chars=self._limits.max_content_chars, model=self.model
            )
        except LLMError as exc:
            await self._record(purpose, usage, ok=False)
            log.warning(
                "llm call failed purpose=%s error=%s %s", purpose, type(exc).__name__, exc.detail
            )
            raise
        await self._record(purpose, usage, ok=True)
        log.info(
            "llm call ok purpose=%s tokens=%d prompt=%d finish=%s tool_calls=%d truncated=%s",
            purpose,
            usage.total_tokens,
            usage.prompt_tokens,
            completion.finish_reason,
            len(completion.tool_calls),
            completion.truncated,
        )
        return completion

    async def supports_tools(self) -> bool:
        """Whether the model answers "auto" tool offers with native calls (probed once)."""
        known = self.capabilities.tools
        if known is not None:
            return known
        try:
            probe = await self.complete(
                [{"role": "user", "content": "Call the ping tool now."}],
                tools=[PING_TOOL],
                tool_choice="auto",
                max_tokens=24,
                purpose="probe",
            )
        except LLMError:
            return False  # not remembered: the endpoint may just be busy
        self.capabilities.tools = any(call.name == "ping" for call in probe.tool_calls)
        log.info("llm endpoint tools=%s model=%s", self.capabilities.tools, self.model[:60])
        return self.capabilities.tools

    def usage_report(self, now: datetime | None = None) -> UsageReport:
        """Tokens and calls this calendar month (UTC) against the budget, for /usage."""
        return self.ledger.report(now)

    async def list_models(self) -> list[str]:
        """The model ids the endpoint offers (for ``doctor``); no tokens, no budget."""
        try:
            async with asyncio.timeout(self.deadline()):
                raw = await self._sdk.models.with_raw_response.list()
        except (TimeoutError, openai.OpenAIError) as exc:
            raise _mapped(exc, self.model) from None
        return wire.read_model_ids(raw.http_response.text)

    async def aclose(self) -> None:
        await self._sdk.close()

    def _http_timeout(self, deadline: float) -> openai.Timeout:
        t = self._timeouts
        read = t.read if t.read is not None else deadline
        return openai.Timeout(connect=t.connect, read=read, write=t.write, pool=t.pool)

    def _request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] | None,
        tool_choice: str | Mapping[str, Any] | None,
        response_format: Mapping[str, Any] | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        wanted = max_tokens or self._limits.default_max_tokens
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max(1, min(wanted, self._limits.max_tokens_cap)),
            "stream": True,
        }
        if tools:
            request["tools"] = [dict(t) for t in tools]
        if tool_choice is not None:
            request["tool_choice"] = (
                tool_choice if isinstance(tool_choice, str) else dict(tool_choice)
            )
        if response_format is not None:
            request["response_format"] = dict(response_format)
        return request

    def _adapted(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request in the form this endpoint is known to accept."""
        sent = dict(request)
        caps = self.capabilities
        if caps.stream_options:
            sent["stream_options"] = {"include_usage": True}
        wanted = sent.pop("response_format", None)
        if wanted is not None:
            style = caps.response_format
            if wanted.get("type") != "json_schema" or style == "json_schema":
                sent["response_format"] = wanted
            elif style == "schema_object":  # llama-cpp-python: a grammar from the schema
                schema = wanted.get("json_schema", {}).get("schema", {})
                sent["response_format"] = {"type": "json_object", "schema": schema}
        return sent

    def _downgrade(self, request: dict[str, Any], said: str) -> bool:
        """After an error naming an optional feature: drop it (or use its next-simpler form)."""
        caps = self.capabilities
        if "stream_options" in request and "stream_options" in said:
            caps.stream_options = False
        elif "response_format" in request and ("response_format" in said or "schema" in said):
            caps.response_format = "schema_object" if _has_schema(request) else "none"
        else:
            return False
        log.info(
            "llm endpoint rejected a request feature; now stream_options=%s response_format=%s",
            caps.stream_options,
            caps.response_format,
        )
        return True

    async def _post(self, request: dict[str, Any], deadline: float, priority: int) -> wire.Body:
        """POST with retries inside a hard deadline (the wait for the endpoint included)."""
        try:
            async with asyncio.timeout(deadline):
                async with self.lock.hold(priority):
                    return await self._post_with_retries(request, deadline)
        except (TimeoutError, openai.OpenAIError) as exc:
            raise _mapped(exc, self.model) from None

    async def _post_with_retries(self, request: dict[str, Any], deadline: float) -> wire.Body:
        for _ in range(3):  # at most two optional features to drop
            sent = self._adapted(request)
            try:
                return await self._attempts(sent, deadline)
            except openai.APIStatusError as exc:
                said = f"{exc.message} {exc.body}".lower()
                # 400/422 from most servers; some llama.cpp builds answer 500 naming the field
                if exc.status_code not in (400, 422, 500) or not self._downgrade(sent, said):
                    raise
        return await self._attempts(self._adapted(request), deadline)

    async def _attempts(self, request: dict[str, Any], deadline: float) -> wire.Body:
        async for attempt in self._retrying():
            with attempt:
                return await self._stream(request, deadline)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _stream(self, request: dict[str, Any], deadline: float) -> wire.Body:
        """One request, read as it streams; leaving early closes the connection."""
        create = self._sdk.chat.completions.with_streaming_response.create
        async with create(**request, timeout=self._http_timeout(deadline)) as response:
            http = response.http_response
            if "text/event-stream" not in http.headers.get("content-type", ""):
                return wire.read_body((await http.aread()).decode("utf-8", "replace"))
            reader = wire.StreamReader(self._limits.max_content_chars)
            try:
                async for line in http.aiter_lines():
                    if reader.feed(line):
                        break  # [DONE], or past the cap: stop reading and hang up
            except httpx2.TimeoutException:
                raise openai.APITimeoutError(request=http.request) from None
            except httpx2.TransportError:
                raise openai.APIConnectionError(request=http.request) from None
            return reader.body()

    def _retrying(self) -> AsyncRetrying:
        policy = self._retry
        seen = _Attempts()

        def worth_retrying(exc: BaseException) -> bool:
            if isinstance(exc, openai.APITimeoutError):
                seen.timeouts += 1
                return seen.timeouts <= policy.timeout_retries
            return is_transient(exc)

        stop: stop_base = stop_after_attempt(policy.attempts)
        if policy.total is not None:
            stop = stop | stop_before_delay(policy.total)
        return AsyncRetrying(
            retry=retry_if_exception(worth_retrying),
            wait=WaitRetryAfter(policy),
            stop=stop,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )

    async def _record(self, purpose: str, usage: Usage, *, ok: bool) -> None:
        await self.ledger.record_async(model=self.model, purpose=purpose, usage=usage, ok=ok)


def _has_schema(request: Mapping[str, Any]) -> bool:
    """Whether the rejected format was the JSON-schema style (the object style comes next)."""
    sent = request.get("response_format") or {}
    return bool(sent.get("type") == "json_schema")


PING_TOOL: Tool = {
    "type": "function",
    "function": {
        "name": "ping",
        "description": "Say that you are here.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    },
}


class WaitRetryAfter(wait_base):
    """The server's ``retry-after`` when it sent one (capped), else jittered exponential."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._cap = policy.retry_after_max
        self._fallback = wait_random_exponential(multiplier=policy.backoff, max=policy.backoff_max)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        seconds = retry_after(exc) if isinstance(exc, openai.APIStatusError) else None
        if seconds is None:
            return float(self._fallback(retry_state))
        return min(seconds, self._cap)


def retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (number form only), if sane."""
    headers = exc.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: time-outs, connection errors, 429 (not out of credit), 5xx."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.RateLimitError):
        return exc.code != "insufficient_quota"
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _mapped(exc: BaseException, model: str) -> LLMError:
    """The owner-facing error for an SDK or deadline failure; detail has no message bodies."""
    detail = type(exc).__name__
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return LLMTimeout(detail=detail)
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable(
            "Can't reach the AI endpoint; check OPENAI_BASE_URL (nothing was changed).",
            detail=detail,
        )
    if isinstance(exc, openai.APIStatusError):
        return _mapped_status(exc, model)
    if isinstance(exc, openai.APIResponseValidationError):
        return LLMBadResponse(detail=detail)
    return LLMUnavailable(detail=detail)


def _mapped_status(exc: openai.APIStatusError, model: str) -> LLMError:
    status = exc.status_code
    detail = f"HTTP {status} request_id={exc.request_id}"
    if status == 429 and exc.code == "insufficient_quota":
        message = "The AI account has run out of credit; nothing was changed."
    elif status == 429:
        message = "The AI endpoint is rate-limiting requests; try again in a minute."
    elif status in (401, 403):
        message = "The AI endpoint refused the API key; check OPENAI_API_KEY."
    elif status == 404:
        message = f"The AI endpoint doesn't offer the model {model[:60]}; check OPENAI_MODEL."
    elif status >= 500:
        message = LLMUnavailable.default
    else:
        message = f"The AI endpoint rejected the request (HTTP {status}); nothing was changed."
    return LLMUnavailable(message, detail=detail, status=status)


def _log_retry(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    log.info(
        "llm retry attempt=%d in %.2fs after %s",
        retry_state.attempt_number,
        retry_state.upcoming_sleep,
        type(exc).__name__,
    )
