"""`microdesk backup [--to FILE]` and `microdesk restore FILE`, with a progress bar."""

from __future__ import annotations

import argparse
import getpass
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import build_services
from bot.commands.backup import human_size
from bot.config import Settings
from bot.errors import MicrodeskError
from bot.services.backup.archive import Progress, no_progress
from bot.services.backup.postgres import tool
from bot.services.backup.restore import fetch_backup, restore_backup, shared_data_lock
from bot.services.backup.restore_pg import before_restore_name
from bot.services.backup.service import NAME, BackupInfo, DataPaths
from bot.services.backup.target import target_of

if TYPE_CHECKING:  # rich loads only when a verb prints, not for every start of the bot
    from rich.console import Console


@contextmanager
def progress_bar(console: Console, title: str) -> Iterator[Progress]:
    """A terminal bar fed by the `progress(done, total, label)` hook; gone when finished."""
    from rich import progress as bars

    if not console.is_terminal or console.is_dumb_terminal:
        yield no_progress  # a bar there would only leave a blank line before the next message
        return
    columns = (
        bars.TextColumn("{task.description}"),
        bars.BarColumn(),
        bars.DownloadColumn(),
        bars.TimeElapsedColumn(),
    )
    with bars.Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(title, total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total or None, description=f"{title} {label}")

        yield update


def backup_command(settings: Settings, dest: Path | None, console: Console) -> int:
    """Write one backup file; 0 when written."""
    try:
        if DataPaths.of(settings).postgres is not None:  # say so before touching anything
            tool("pg_dump")
        with shared_data_lock(settings):
            info = _backup(settings, dest, console)
    except MicrodeskError as exc:
        console.print(f"microdesk: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    size = human_size(info.size)
    where = info.path.absolute()
    console.print(f"Backup written: {where} ({size}, {info.seconds:.1f} s)", markup=False)
    return 0


def _backup(settings: Settings, dest: Path | None, console: Console) -> BackupInfo:
    services = build_services(settings)
    try:
        with progress_bar(console, "Backing up") as progress:
            return services.backups.create(dest, progress)
    finally:
        services.close()


def ask_passphrase() -> str:
    return getpass.getpass("This backup is encrypted. Passphrase (BACKUP_PASSPHRASE): ")


def restore_command(
    settings: Settings,
    source: str,
    console: Console,
    ask: Callable[[], str] = ask_passphrase,
    *,
    confirmed: bool = False,
) -> int:
    """Restore a backup (a local file, or a file name on BACKUP_TARGET) over the current data,
    after the owner says yes; 0 when restored."""
    try:
        kept = before_restore_name(settings)  # and pg_restore / psql there, for PostgreSQL
    except MicrodeskError as exc:
        console.print(f"microdesk: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    if not confirmed and not _confirm(settings, source, kept, console):
        return 1
    try:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".microdesk-fetch-") as tmp:
            archive = fetch_backup(source, settings, Path(tmp), ask)
            with progress_bar(console, "Restoring") as progress:
                result = restore_backup(archive, settings, progress)
    except MicrodeskError as exc:
        console.print(f"microdesk: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    made = result.manifest.created_at.strftime("%Y-%m-%d %H:%M UTC")
    _record_restore(settings, source, made)
    lines = [f"Restored the backup of {made}."]
    if result.previous is not None:
        lines.append(f"The previous database is kept as {result.previous.name}.")
    lines += result.notes
    console.print("\n".join(lines), markup=False, highlight=False)
    return 0


def _confirm(settings: Settings, archive: str, kept: str, console: Console) -> bool:
    """Ask before replacing the data; without a terminal to ask in, say how to confirm."""
    if not console.is_terminal:
        console.print(
            "microdesk: restore replaces your data, so it asks first: run it in a terminal, or "
            "add --yes. Nothing was changed.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return False
    where = settings.DATA_DIR.absolute()
    question = (
        f"Replace the data in {where} with {archive}? The current database is kept as "
        f"{kept}. [y/N] "
    )
    try:
        answer = console.input(question)
    except EOFError:
        answer = ""
        console.print()
    if answer.strip().lower() in ("y", "yes"):
        return True
    console.print("Nothing was changed.", markup=False, highlight=False)
    return False


def _record_restore(settings: Settings, source: str, made: str) -> None:
    """The restore, in the restored database's audit log (migrated to this version first)."""
    from bot.clock import SystemClock
    from bot.db.engine import make_engine, migrate, session_factory
    from bot.services.audit import BACKUPS, OWNER, AuditLog

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        audit = AuditLog(session_factory(engine), SystemClock())
        audit.record(OWNER, BACKUPS, "restored", f"the backup of {made} from {source}")
    finally:
        engine.dispose()


def list_command(settings: Settings, console: Console) -> int:
    """The backups on the target (BACKUP_TARGET, or DATA_DIR/backups), oldest first."""
    target = target_of(settings)
    try:
        names = [name for name in target.names() if NAME.match(name)]
    except MicrodeskError as exc:
        console.print(f"microdesk: {exc}", markup=False, highlight=False)
        return 1
    console.print(f"Backups on {target.describe()}:", markup=False, highlight=False)
    for name in names or ["(none yet)"]:
        console.print(f"  {name}", markup=False, highlight=False)
    return 0


BACKUP_VERBS = ("backup", "restore")


def add_backup_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `backup` and `restore` verbs of the command line."""
    backup = verbs.add_parser("backup", help="a consistent snapshot of the database and index")
    backup.add_argument("--to", metavar="FILE", help="default: DATA_DIR/backups/microdesk-….zip")
    restore = verbs.add_parser("restore", help="replace the data with a backup (stop the bot)")
    restore.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="a backup file, or the name of one on BACKUP_TARGET (see --list)",
    )
    restore.add_argument("--list", action="store_true", help="list the backups on the target")
    restore.add_argument("--yes", action="store_true", help="restore without asking first")


def run_backup_verb(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.verb == "backup":
        return backup_command(settings, Path(args.to) if args.to else None, console)
    if args.list or args.file is None:
        return list_command(settings, console)
    return restore_command(settings, args.file, console, confirmed=args.yes)
