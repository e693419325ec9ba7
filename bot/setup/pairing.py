"""The pairing code: setup shows it, the owner sends it to the bot, setup learns their id.

issued ──(sent back within VALID_FOR)──> used        (any later try: refused)
   └────(VALID_FOR passes)────────────> expired     (refused; setup offers a new one)
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.clock import Clock

VALID_FOR = timedelta(minutes=10)
DIGITS = 6


class PairingCode:
    """A 6-digit code, valid once, for 10 minutes."""

    def __init__(self, clock: Clock, valid_for: timedelta = VALID_FOR) -> None:
        self.code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
        self.expires_at: datetime = clock.now() + valid_for
        self._clock = clock
        self.used = False

    @property
    def shown(self) -> str:
        """As the owner reads it: '123 456'."""
        return f"{self.code[:3]} {self.code[3:]}"

    @property
    def expired(self) -> bool:
        return self._clock.now() >= self.expires_at

    def accept(self, text: str) -> bool:
        """True once: for the code (spaces ignored), before it expires."""
        if self.used or self.expired:
            return False
        if "".join(text.split()) != self.code:
            return False
        self.used = True
        return True
