"""The command line: `microdesk [run|chat] …` (also `python -m bot …`).

With no verb, the bot runs when a Telegram token and owner id are set, and the terminal chat
starts otherwise, so a newcomer sees the assistant work at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.app import Services, build_services
from bot.config import Settings, load_settings
from bot.errors import MicrodeskError
from bot.logs import setup_logging

log = logging.getLogger("microdesk")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="microdesk", description=__doc__)
    verbs = parser.add_subparsers(dest="verb")
    verbs.add_parser("run", help="the Telegram bot (long polling)")
    verbs.add_parser("chat", help="the same assistant in the terminal")
    return parser


def run_bot(services: Services) -> int:
    from bot.tg.app import TelegramAdapter

    settings = services.settings
    if settings.TELEGRAM_BOT_TOKEN is None:
        print("microdesk: set TELEGRAM_BOT_TOKEN to run the bot (or use `microdesk chat`).")
        return 2
    if settings.OWNER_TELEGRAM_ID is None:
        print("microdesk: set OWNER_TELEGRAM_ID, your numeric Telegram user id, to run the bot.")
        return 2
    adapter = TelegramAdapter(services)
    log.info("starting the bot for owner %s", settings.OWNER_TELEGRAM_ID)
    adapter.run()
    return 0


def run_chat(services: Services) -> int:
    from bot.console.chat import ConsoleChat

    asyncio.run(ConsoleChat(services).run())
    return 0


def _default_verb(settings: Settings) -> str:
    ready = settings.TELEGRAM_BOT_TOKEN is not None and settings.OWNER_TELEGRAM_ID is not None
    return "run" if ready else "chat"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except MicrodeskError as exc:
        print(f"microdesk: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.secrets(), logging.INFO if args.verb == "run" else logging.WARNING)
    verb = args.verb or _default_verb(settings)
    services = build_services(settings)
    try:
        return run_bot(services) if verb == "run" else run_chat(services)
    except KeyboardInterrupt:
        return 0
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main())
