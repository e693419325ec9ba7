"""Named places where the crash suite kills the process (SIGKILL), to prove durability.

Disarmed in the product: :func:`crash_point` is a dictionary lookup that finds nothing. The
crash suite's driver arms one point before starting the bot.
"""

from __future__ import annotations

import os
import signal

_armed: dict[str, int] = {}


def arm(name: str, after: int = 1) -> None:
    """Kill the process the `after`-th time `name` is reached."""
    _armed[name] = after


def crash_point(name: str) -> None:
    left = _armed.get(name)
    if left is None:
        return
    if left <= 1:
        os.kill(os.getpid(), signal.SIGKILL)
    _armed[name] = left - 1
