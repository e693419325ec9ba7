"""One retry policy for messages to the owner: honour 429's retry_after, retry 5xx and
connection errors, never retry what can't succeed (BadRequest is a NetworkError subclass in
python-telegram-bot, so it is excluded by name) and never a time-out, whose request may
already have been delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

T = TypeVar("T")
NEVER = (BadRequest, Forbidden, InvalidToken, Conflict, ChatMigrated, TimedOut)
MAX_RETRY_AFTER = 30.0
_backoff = wait_random_exponential(multiplier=0.2, max=5)


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, RetryAfter):
        return True
    return isinstance(exc, NetworkError) and not isinstance(exc, NEVER)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RetryAfter):
        after = exc.retry_after
        seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
        return min(seconds, MAX_RETRY_AFTER)
    return float(_backoff(state))


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int = 5) -> T:
    """Run `call` (a fresh request each time) under the policy."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=_wait,
        stop=stop_after_attempt(attempts) | stop_after_delay(90),
        reraise=True,
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover
