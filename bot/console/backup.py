"""`microdesk backup [--to FILE]` and `microdesk restore FILE`, with a progress bar."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import build_services
from bot.commands.backup import human_size
from bot.config import Settings
from bot.errors import MicrodeskError
from bot.services.backup.archive import Progress
from bot.services.backup.restore import restore_backup, shared_data_lock
from bot.services.backup.service import BackupInfo, DataPaths

if TYPE_CHECKING:  # rich loads only when a verb prints, not for every start of the bot
    from rich.console import Console


@contextmanager
def progress_bar(console: Console, title: str) -> Iterator[Progress]:
    """A terminal bar fed by the `progress(done, total, label)` hook; gone when finished."""
    from rich import progress as bars

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
        DataPaths.of(settings)  # SQLite only: say so before touching anything
        with shared_data_lock(settings):
            info = _backup(settings, dest, console)
    except MicrodeskError as exc:
        console.print(f"microdesk: {exc}", markup=False, highlight=False)
        return 1
    size = human_size(info.size)
    console.print(f"Backup written: {info.path} ({size}, {info.seconds:.1f} s)", markup=False)
    return 0


def _backup(settings: Settings, dest: Path | None, console: Console) -> BackupInfo:
    services = build_services(settings)
    try:
        with progress_bar(console, "Backing up") as progress:
            return services.backups.create(dest, progress)
    finally:
        services.close()


def restore_command(settings: Settings, archive: Path, console: Console) -> int:
    """Restore a backup file over the current data; 0 when restored."""
    try:
        with progress_bar(console, "Restoring") as progress:
            result = restore_backup(archive, settings, progress)
    except MicrodeskError as exc:
        console.print(f"microdesk: {exc}", markup=False, highlight=False)
        return 1
    made = result.manifest.created_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Restored the backup of {made}."]
    if result.previous is not None:
        lines.append(f"The previous database is kept as {result.previous.name}.")
    lines += result.notes
    console.print("\n".join(lines), markup=False, highlight=False)
    return 0


BACKUP_VERBS = ("backup", "restore")


def add_backup_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `backup` and `restore` verbs of the command line."""
    backup = verbs.add_parser("backup", help="a consistent snapshot of the database and index")
    backup.add_argument("--to", metavar="FILE", help="default: DATA_DIR/backups/microdesk-….zip")
    restore = verbs.add_parser("restore", help="replace the data with a backup (stop the bot)")
    restore.add_argument("file", metavar="FILE", help="a file written by `microdesk backup`")


def run_backup_verb(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.verb == "backup":
        return backup_command(settings, Path(args.to) if args.to else None, console)
    return restore_command(settings, Path(args.file), console)
