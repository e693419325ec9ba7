"""Restoring a backup file, and the data lock that keeps a restore from running under the bot.

    fetch_backup(source, settings, work, ask_passphrase) -> Path
                                           a local file, or a file name on BACKUP_TARGET,
                                           decrypted into `work` when sealed (the passphrase
                                           asked for; a wrong one refused, nothing changed)
    restore_backup(archive, settings, progress) -> RestoreResult
    DataLock, hold_data_lock(settings)     every microdesk process holds a shared lock on
                                           ``microdesk.db.lock``; a restore needs it exclusively

The order makes a refusal change nothing and a crash leave a usable database:

1. take the data lock exclusively (refused while the bot, the chat or another command runs);
2. check and extract the archive into a staging folder beside the database
   (:func:`bot.services.backup.archive.unpack`: manifest, member names, sizes, sha256);
3. ``PRAGMA integrity_check`` on the extracted database; its schema must be one this version
   knows (an older one is migrated at the next start); the live database's revoked
   contractors and closed invites are applied to it (:mod:`bot.services.team.carry`), and
   its calendar sync state is dropped, so the restored tasks win in the calendar
   (:mod:`bot.services.calendar_sync.restored`);
4. copy the current database to ``microdesk.db.before-restore`` (online backup API);
5. checkpoint the current WAL, then rename the new file over the database (atomic);
6. move the current index folder to ``index.before-restore`` and the restored one into place.

With PostgreSQL the same steps run in :mod:`bot.services.backup.restore_pg`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.config import Settings
from bot.db.engine import MIGRATIONS
from bot.errors import MicrodeskError, UserInputError
from bot.services.backup.archive import (
    DB_NAME,
    INDEX_DIR,
    SQLITE,
    Manifest,
    Progress,
    fsync_dir,
    fsync_file,
    no_progress,
    unpack,
)
from bot.services.backup.sealed import is_sealed, unseal
from bot.services.backup.service import (
    INDEX_LOCK,
    DataPaths,
    file_integrity_ok,
    schema_revision,
    snapshot_database,
)
from bot.services.backup.target import target_of
from bot.services.calendar_sync.restored import forget_sync_state_in
from bot.services.team.carry import carry_revocations

log = logging.getLogger(__name__)

BEFORE = ".before-restore"
IN_USE = "microdesk is running: stop the bot (and any terminal chat) before restoring."
RESTORING = "A restore is in progress; start microdesk again when it has finished."
DAMAGED_DB = "This backup is damaged: its database fails SQLite's integrity check."
NEWER = "This backup comes from a newer version of microdesk; upgrade before restoring it."
REBUILD = "The document index was not in this backup: run `microdesk ingest` to rebuild it."
SERVER = "The index on the Chroma server was left as it is: run `microdesk ingest` to refresh it."
OTHER_ENGINE = (
    "This backup holds a {engine} database, but DATABASE_URL is {ours}: restore it with "
    "DATABASE_URL set to a {engine} database."
)


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    previous: Path | None  # the database as it was before, kept beside the restored one
    notes: tuple[str, ...] = field(default=())


# --- the data lock ---------------------------------------------------------------------------


class DataLock:
    """An advisory lock file beside the database: shared while running, exclusive to restore."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._handle: IO[bytes] | None = None

    def acquire(self, *, exclusive: bool) -> bool:
        """Take the lock without waiting; False if another process holds it incompatibly."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        if not _flock(handle, exclusive):
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the lock
            self._handle = None


def _flock(handle: IO[bytes], exclusive: bool) -> bool:
    if sys.platform == "win32":  # no advisory locks there: restore cannot tell
        return True
    import fcntl

    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    try:
        fcntl.flock(handle.fileno(), mode)
    except BlockingIOError:
        return False
    return True


_HELD: list[DataLock] = []


@contextmanager
def shared_data_lock(settings: Settings) -> Iterator[None]:
    """Hold the shared data lock while a block uses the database (SQLite only)."""
    lock = _take_shared(settings)
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def hold_data_lock(settings: Settings) -> None:
    """Hold the shared data lock for the life of this process (SQLite only)."""
    lock = _take_shared(settings)
    if lock is not None:
        _HELD.append(lock)


def _take_shared(settings: Settings) -> DataLock | None:
    paths = _paths_or_none(settings)
    if paths is None:
        return None
    lock = DataLock(paths.database)
    if not lock.acquire(exclusive=False):
        raise MicrodeskError(RESTORING)
    return lock


def _paths_or_none(settings: Settings) -> DataPaths | None:
    try:
        return DataPaths.of(settings)
    except MicrodeskError:
        return None


@contextmanager
def exclusive(database: Path) -> Iterator[None]:
    lock = DataLock(database)
    if not lock.acquire(exclusive=True):
        raise UserInputError(IN_USE)
    try:
        yield
    finally:
        lock.release()


# --- restore ---------------------------------------------------------------------------------


def fetch_backup(
    source: str, settings: Settings, work: Path, ask_passphrase: Callable[[], str]
) -> Path:
    """The backup file to restore: `source` as a local path, else as a file name on the backup
    target (downloaded into `work`); an encrypted one is decrypted into `work` first."""
    path = Path(source).expanduser()
    if not path.is_file():
        path = _from_target(source, settings, work)
    if not is_sealed(path):
        return path
    plain = work / "decrypted.zip"
    unseal(path, plain, ask_passphrase())
    return plain


def _from_target(name: str, settings: Settings, work: Path) -> Path:
    if settings.BACKUP_TARGET is None or "/" in name or "\\" in name:
        raise UserInputError("There is no backup file at that path.")
    target = target_of(settings)
    if name not in target.names():
        raise UserInputError(
            f"There is no backup named {name} on {target.describe()} (BACKUP_TARGET)."
        )
    path = work / name
    target.get(name, path)
    return path


def restore_backup(
    archive: Path, settings: Settings, progress: Progress = no_progress
) -> RestoreResult:
    """Replace the database (and the embedded index) with the contents of a backup file."""
    paths = DataPaths.of(settings)
    if paths.postgres is not None:
        from bot.services.backup.restore_pg import restore_postgres  # it imports this module

        return restore_postgres(archive, settings, progress)
    if not archive.is_file():
        raise UserInputError("There is no backup file at that path.")
    paths.database.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(paths.database):
        staging = Path(tempfile.mkdtemp(dir=paths.database.parent, prefix=".microdesk-restore-"))
        try:
            manifest = unpack(archive, staging, progress)
            if manifest.engine != SQLITE:
                raise UserInputError(OTHER_ENGINE.format(engine=manifest.engine, ours=SQLITE))
            _check_database(staging / DB_NAME)
            carry_revocations(paths.database, staging / DB_NAME)  # revoked stays revoked
            forget_sync_state_in(staging / DB_NAME)  # the restored tasks win in the calendar
            progress(1, 1, "replacing")
            previous = _replace_database(staging / DB_NAME, paths.database)
            notes = replace_index(staging / INDEX_DIR, paths.index, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("restored a backup of schema %s", manifest.schema_revision)
    return RestoreResult(manifest, previous, notes)


def _check_database(path: Path) -> None:
    if not file_integrity_ok(path):
        raise UserInputError(DAMAGED_DB)
    revisions = [r for r in schema_revision(path).split("+") if r]
    if not revisions:
        raise UserInputError(DAMAGED_DB)
    if not set(revisions) <= known_revisions():
        raise UserInputError(NEWER)


def known_revisions() -> set[str]:
    """Every migration revision this version of microdesk ships."""
    from alembic.config import Config  # only for a restore: every start imports this module
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _replace_database(new: Path, live: Path) -> Path | None:
    previous = _keep_previous(live)
    fsync_file(new)
    os.replace(new, live)
    for suffix in ("-wal", "-shm", "-journal"):  # they belonged to the old file
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    fsync_dir(live.parent)
    return previous


def _keep_previous(live: Path) -> Path | None:
    """Copy the current database to <name>.before-restore and empty its WAL."""
    if not live.exists():
        return None
    previous = live.with_name(live.name + BEFORE)
    partial = live.with_name(live.name + BEFORE + ".partial")
    try:
        snapshot_database(live, partial)
        os.replace(partial, previous)
        _checkpoint(live)
    except sqlite3.DatabaseError:  # a damaged database: keep its raw files instead
        log.warning("current database unreadable; keeping its raw files")
        partial.unlink(missing_ok=True)
        shutil.copyfile(live, previous)
        wal = Path(f"{live}-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(f"{previous}-wal"))
    return previous


def _checkpoint(live: Path) -> None:
    with closing(sqlite3.connect(live, timeout=30)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def replace_index(staged: Path, live: Path | None, manifest: Manifest) -> tuple[str, ...]:
    if live is None:
        return (SERVER,)
    with INDEX_LOCK:
        if live.exists():
            aside = live.with_name(live.name + BEFORE)
            shutil.rmtree(aside, ignore_errors=True)
            shutil.move(live, aside)
        if manifest.index != "included":
            return (REBUILD,)
        if staged.is_dir():
            shutil.move(staged, live)
        else:
            live.mkdir(parents=True)
    return ()
