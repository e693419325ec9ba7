"""Injected faults: the next calls fail (``fail_next``), answer late (``delay``), or a share
of them does either at random (``chaos``). A fault never changes state, as on the real server.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from tests.fakes.botapi.records import BotAPIError, phrase
from tests.fakes.botapi.state import FakeState


@dataclass
class Delay:
    seconds: float
    times: int | None


@dataclass
class Chaos:
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    methods: frozenset[str] | None
    slow_seconds: float
    retry_after: int


def is_send_type(method: str) -> bool:
    """Methods chaos applies to by default: those that put or change something in a chat."""
    if method in ("deleteMessage", "deleteMessages", "pinChatMessage", "unpinChatMessage"):
        return True
    return method.startswith(("send", "edit", "answer", "copy", "forward"))


class Faults(FakeState):
    """fail_next, delay, chaos and clear_faults; ``_take_fault`` picks the one a call gets."""

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` and change nothing."""
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = phrase(status)
        error = BotAPIError(status, description, retry_after if status == 429 else None)
        self._fail.setdefault(method, deque()).extend([error] * times)

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Answer ``method`` ``seconds`` late, after it took effect (None: until cleared)."""
        self._delays[method] = Delay(seconds, times)

    def chaos(
        self,
        rate: float = 0.2,
        kinds: Iterable[str] = ("429", "502", "slow"),
        seed: int | None = None,
        *,
        methods: Iterable[str] | None = None,
        slow_seconds: float = 1.0,
        retry_after: int = 1,
    ) -> None:
        """Fail or slow a ``rate`` share of send-type calls (or of ``methods``); rate 0 stops."""
        if rate <= 0:
            self._chaos = None
            return
        kinds = tuple(kinds)
        for kind in kinds:
            if kind != "slow" and not (kind.isdigit() and 400 <= int(kind) <= 599):
                raise ValueError(f"chaos kind {kind!r}: use 'slow' or an HTTP error status")
        rng = random.Random(self.seed if seed is None else seed)
        chosen = frozenset(methods) if methods is not None else None
        self._chaos = Chaos(rate, kinds, rng, chosen, slow_seconds, retry_after)

    def clear_faults(self) -> None:
        """Forget every fail_next, delay and chaos setting."""
        self._fail.clear()
        self._delays.clear()
        self._chaos = None

    def _take_fault(self, method: str) -> BotAPIError | float:
        queued = self._fail.get(method)
        if queued:
            return queued.popleft()
        slow = 0.0
        delay = self._delays.get(method)
        if delay is not None:
            slow = delay.seconds
            if delay.times is not None:
                delay.times -= 1
                if delay.times <= 0:
                    del self._delays[method]
        chaos = self._chaos
        if chaos is None:
            return slow
        applies = method in chaos.methods if chaos.methods is not None else is_send_type(method)
        if not applies or chaos.rng.random() >= chaos.rate:
            return slow
        kind = chaos.rng.choice(chaos.kinds)
        if kind == "slow":
            return max(slow, chaos.slow_seconds)
        status = int(kind)
        if status == 429:
            retry = chaos.retry_after
            return BotAPIError(429, f"Too Many Requests: retry after {retry}", retry)
        return BotAPIError(status, phrase(status))
