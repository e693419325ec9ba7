"""The command line: `microdesk [setup|run|chat|ingest|ask|export|doctor|backup|restore] …`.

Also `python -m bot …`.

With no verb, the bot runs when a Telegram token and owner id are set, and the terminal chat
starts otherwise, so a newcomer sees the assistant work at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import Services, build_services
from bot.config import Settings, load_settings
from bot.console.backup import BACKUP_VERBS, add_backup_verbs, run_backup_verb
from bot.console.knowledge import KNOWLEDGE_VERBS, add_knowledge_verbs, run_knowledge_verb
from bot.errors import DatabaseTooNewError, MicrodeskError
from bot.logs import setup_logging
from bot.services.backup.restore import hold_data_lock

log = logging.getLogger("microdesk")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="microdesk", description=__doc__)
    verbs = parser.add_subparsers(dest="verb")
    setup = verbs.add_parser("setup", help="guided first run: token, pairing, zone, briefing, AI")
    setup.add_argument(
        "--probe",
        metavar="URL",
        action="append",
        help="look for an AI server at URL (…/v1) instead of the usual local ports",
    )
    verbs.add_parser("run", help="the Telegram bot (long polling; a webhook if WEBHOOK_URL is set)")
    verbs.add_parser("chat", help="the same assistant in the terminal")
    add_knowledge_verbs(verbs)
    add_backup_verbs(verbs)
    export = verbs.add_parser("export", help="deadlines as a calendar (.ics), tasks as .csv")
    export.add_argument("--ics", metavar="FILE", help="write the calendar to FILE ('-': stdout)")
    export.add_argument("--csv", metavar="FILE", help="write the task list to FILE ('-': stdout)")
    verbs.add_parser("doctor", help="check settings, database, index, AI endpoint and Telegram")
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
    from bot.tg.failures import explain

    adapter = TelegramAdapter(services)
    log.info("starting the bot for owner %s", settings.OWNER_TELEGRAM_ID)
    try:
        ok = adapter.run()
    except Exception as exc:  # a failure before the first update: said in one line, if known
        adapter.failure = exc
        ok = False
    if adapter.failure is not None:
        line = explain(adapter.failure, settings)
        if line is None:
            raise adapter.failure
        print(f"microdesk: {line}", file=sys.stderr)
    return 0 if ok else 1  # 1 lets a supervisor (systemd, Docker) restart it


def run_chat(services: Services) -> int:
    from bot.console.chat import ConsoleChat

    asyncio.run(ConsoleChat(services).run())
    return 0


def run_export(services: Services, ics: str | None, csv: str | None) -> int:
    from bot.services.tasks.export import export_all

    files = export_all(services.sessions, services.prefs.tz, services.clock.now())
    wanted = [
        (ics, files.ics, f"{files.deadlines} deadline(s)"),
        (csv, files.csv, f"{files.tasks} task(s)"),
    ]
    for target, content, what in wanted:
        if target is None:
            continue
        try:
            _write(target, content)
        except OSError as exc:
            print(f"microdesk: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"microdesk: wrote {what} to {target}", file=sys.stderr)
    return 0


def _write(target: str, content: bytes) -> None:
    """Write the whole file or nothing (a calendar app may be reading the old one)."""
    if target == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    path = Path(target)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def run_doctor() -> int:
    from bot.console.doctor import run_checks

    checks = asyncio.run(run_checks())
    for check in checks:
        mark = "–" if check.skipped else "✓" if check.ok else "✗"
        fix = f" → fix: {check.fix}" if not check.ok and check.fix else ""
        print(f"{mark} {check.name}: {check.detail}{fix}")
    failing = sum(1 for c in checks if not c.ok)
    print("All good." if not failing else f"{failing} problem(s) to fix.")
    return 1 if failing else 0


def run_setup(probe: list[str] | None) -> int:
    from bot.setup.models import USUAL_SERVERS, Server
    from bot.setup.wizard import SetupOptions, StdTerminal, Wizard

    servers = [Server(url, url.rstrip("/")) for url in probe] if probe else USUAL_SERVERS
    options = SetupOptions(servers=servers)
    return Wizard(StdTerminal(), options, doctor=run_doctor).run()


def data_dir_problem(settings: Settings) -> str | None:
    """One line when DATA_DIR cannot hold the data (made here when it does not exist yet)."""
    from bot.console.doctor import check_data_dir

    with contextlib.suppress(OSError):  # the check below says why
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    check = check_data_dir(settings.DATA_DIR)
    if check.ok:
        return None
    return f"DATA_DIR cannot be used: {check.detail}; {check.fix}."


def _default_verb(settings: Settings) -> str:
    ready = settings.TELEGRAM_BOT_TOKEN is not None and settings.OWNER_TELEGRAM_ID is not None
    return "run" if ready else "chat"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verb == "export" and not (args.ics or args.csv):
        parser.error("export needs --ics FILE, --csv FILE or both")
    if args.verb == "doctor":
        setup_logging([], logging.WARNING)
        return run_doctor()
    if args.verb == "setup":
        setup_logging([], logging.WARNING)
        return run_setup(args.probe)
    try:
        settings = load_settings()
    except MicrodeskError as exc:
        print(f"microdesk: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.secrets(), logging.INFO if args.verb == "run" else logging.WARNING)
    verb = args.verb or _default_verb(settings)
    if verb in BACKUP_VERBS:
        return run_backup_verb(settings, args)
    unusable = data_dir_problem(settings)
    if unusable is not None:
        print(f"microdesk: {unusable}", file=sys.stderr)
        return 1
    try:
        hold_data_lock(settings)  # shared, for this process's life: `restore` refuses meanwhile
    except MicrodeskError as exc:
        print(f"microdesk: {exc}", file=sys.stderr)
        return 2
    try:
        services = build_services(settings)
    except DatabaseTooNewError as exc:
        print(f"microdesk: {exc}", file=sys.stderr)
        return 1
    try:
        if verb == "export":
            return run_export(services, args.ics, args.csv)
        if verb in KNOWLEDGE_VERBS:
            return run_knowledge_verb(services, args)
        return run_bot(services) if verb == "run" else run_chat(services)
    except KeyboardInterrupt:
        return 0
    finally:
        services.close()


QUICK_EXIT = ("ask",)  # one-shot verbs: main() has closed all they opened when it returns


def cli() -> None:
    """The `microdesk` command: main(), and for a one-shot verb no interpreter teardown.

    Tearing down the modules and objects a question loaded took ~0.4 s of a 1.5 s `ask`;
    the output is flushed and logging shut down first, and nothing is left open by then.
    """
    code = main()
    if sys.argv[1:2] and sys.argv[1] in QUICK_EXIT:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    cli()
