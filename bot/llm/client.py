"""The one LLM client: the only module in the project that imports ``openai``.

``AsyncOpenAI`` runs with ``max_retries=0`` and explicit time-outs; retries are one tenacity
policy here (jittered exponential backoff, ``retry-after`` honoured, only 429 / 5xx / time-outs /
connection errors, stopping on attempts and before the total time runs out), and a hard deadline
bounds the whole call. The budget is checked before the first request; every call is recorded.

The body is read raw and validated by :mod:`bot.llm.wire`, so a non-JSON or malformed answer
becomes :class:`LLMBadResponse` instead of a half-built SDK object. Errors leave this module as
the :mod:`bot.llm.errors` tree; SDK messages (which can echo the key) are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
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

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
KEYLESS = "not-needed"  # local servers (llama.cpp, Ollama, vLLM) ignore the key


@dataclass(frozen=True)
class Timeouts:
    """Per-request HTTP time-outs in seconds (the SDK's default is 600 s)."""

    connect: float = 5.0
    read: float = 45.0
    write: float = 10.0
    pool: float = 5.0


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, total deadline and backoff of one ``complete`` call."""

    attempts: int = 3
    total: float = 60.0
    backoff: float = 1.0
    backoff_max: float = 10.0
    retry_after_max: float = 20.0


@dataclass(frozen=True)
class Limits:
    """Defensive caps on what we ask for and what we accept."""

    default_max_tokens: int = 1024
    max_tokens_cap: int = 4096
    max_content_chars: int = 16_000


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
    ) -> None:
        if not settings.llm_enabled:
            raise LLMDisabled()
        self.model = settings.OPENAI_MODEL
        self.ledger = ledger  # the app's one UsageLedger
        self._retry = retry
        self._limits = limits
        self._sleep = sleep
        key = settings.OPENAI_API_KEY
        self._sdk = openai.AsyncOpenAI(
            base_url=settings.OPENAI_BASE_URL or OPENAI_BASE_URL,
            api_key=key.get_secret_value() if key is not None else KEYLESS,
            max_retries=0,
            timeout=openai.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.write,
                pool=timeouts.pool,
            ),
            http_client=http_client,
        )

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Tool] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        purpose: str = "chat",
    ) -> Completion:
        """One model turn. Raises BudgetExceeded before any request when the month is used up."""
        try:
            await self.ledger.check_async()
        except BudgetExceeded as exc:
            log.warning("llm call refused purpose=%s budget %s", purpose, exc.detail)
            raise
        request = self._request(messages, tools, tool_choice, response_format, max_tokens)
        usage = Usage()
        try:
            body = await self._post(request)
            usage = wire.usage_of(body, messages)
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
            "llm call ok purpose=%s tokens=%d finish=%s tool_calls=%d truncated=%s",
            purpose,
            usage.total_tokens,
            completion.finish_reason,
            len(completion.tool_calls),
            completion.truncated,
        )
        return completion

    def usage_report(self, now: datetime | None = None) -> UsageReport:
        """Tokens and calls this calendar month (UTC) against the budget, for /usage."""
        return self.ledger.report(now)

    async def list_models(self) -> list[str]:
        """The model ids the endpoint offers (for ``doctor``); no tokens, no budget."""
        try:
            async with asyncio.timeout(self._retry.total):
                raw = await self._sdk.models.with_raw_response.list()
        except (TimeoutError, openai.OpenAIError) as exc:
            raise _mapped(exc, self.model) from None
        return wire.read_model_ids(raw.http_response.text)

    async def aclose(self) -> None:
        await self._sdk.close()

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
            "stream": False,
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

    async def _post(self, request: dict[str, Any]) -> wire.Body:
        """POST with retries inside a hard deadline; the raw body validated as ``_Body``."""
        try:
            async with asyncio.timeout(self._retry.total):
                text = await self._post_with_retries(request)
        except (TimeoutError, openai.OpenAIError) as exc:
            raise _mapped(exc, self.model) from None
        return wire.read_body(text)

    async def _post_with_retries(self, request: dict[str, Any]) -> str:
        async for attempt in self._retrying():
            with attempt:
                raw = await self._sdk.chat.completions.with_raw_response.create(**request)
                text: str = raw.http_response.text
                return text
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _retrying(self) -> AsyncRetrying:
        policy = self._retry
        return AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=WaitRetryAfter(policy),
            stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.total),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )

    async def _record(self, purpose: str, usage: Usage, *, ok: bool) -> None:
        await self.ledger.record_async(model=self.model, purpose=purpose, usage=usage, ok=ok)


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
