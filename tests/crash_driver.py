"""Run the real bot in a subprocess, with one crash point armed (for tests/test_crash.py).

    python -m tests.crash_driver POINT AFTER     (POINT "none" runs without a crash point)

Settings come from the environment, as for `microdesk run` (WEBHOOK_URL set: webhook mode,
listening on 127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import sys

from bot.app import build_services
from bot.config import load_settings
from bot.crashpoints import arm
from bot.tg.app import TelegramAdapter


def main() -> None:
    point, after = sys.argv[1], int(sys.argv[2])
    if point != "none":
        arm(point, after)
    services = build_services(load_settings(env_file=False))
    adapter = TelegramAdapter(services, tick_seconds=0.2, webhook_host="127.0.0.1")
    asyncio.run(_serve(adapter))


async def _serve(adapter: TelegramAdapter) -> None:
    await adapter.startup(poll_timeout=1)
    try:
        await asyncio.Event().wait()
    finally:
        await adapter.shutdown()


if __name__ == "__main__":
    main()
