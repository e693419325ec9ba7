"""Backups of the database and the document index: on demand, and on schedule with rotation.

    BackupService.create(dest, progress)   one backup file (blocking; ``acreate`` runs it in a
                                           worker thread and reports progress on the event loop)
    BackupService.weekly_if_due()          the scheduled backup, once per BACKUP_EVERY period
                                           (a day, an ISO week or a month; ledger rows), sent to
                                           BACKUP_TARGET (encrypted with BACKUP_PASSPHRASE when
                                           set), read back and restored on trial before it counts
    BackupService.status_lines()           what the briefing says: a failed backup, or no
                                           verified off-box backup within its period
    INDEX_LOCK                             held by whatever writes ``DATA_DIR/index``; a backup
                                           copies the index folder only while holding it

The database is copied from the live file through SQLite's online backup API in a single step,
inside one read transaction: the copy is consistent while the bot keeps writing (in WAL mode a
reader never blocks the writer). SQLite files inside the index folder are copied the same way.
Only the database and the index go into the file (format: :mod:`bot.services.backup.archive`);
``.env`` files and setting values never do. A PostgreSQL database goes in as a ``pg_dump``
(:mod:`bot.services.backup.postgres`; a clear sentence when pg_dump is not installed).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.backups import BackupLog
from bot.errors import MicrodeskError, ServiceUnavailableError
from bot.services.audit import BACKUPS, OWNER, SCHEDULER, AuditLog
from bot.services.backup.archive import (
    DB_NAME,
    INDEX_DIR,
    PG_DUMP,
    POSTGRES,
    Manifest,
    Progress,
    no_progress,
    write_archive,
)
from bot.services.backup.postgres import Postgres, dump
from bot.services.backup.sealed import SUFFIX, seal
from bot.services.backup.target import Target, target_of
from bot.services.backup.verify import VerifyError, row_counts, verify_on_target
from bot.services.prefs import Preferences
from bot.services.tasks import dates

log = logging.getLogger(__name__)

INDEX_LOCK = threading.RLock()
_CREATE_LOCK = threading.Lock()  # one backup at a time in this process: file names, rotation
INDEX_WAIT_SECONDS = 60.0
RETRY_AFTER = timedelta(hours=1)
SETTLE_SECONDS = 60.0  # after start the bot catches up on updates and reminders first
STALE_AFTER_SECONDS = 3600.0
NAME = re.compile(r"^microdesk-(\d{8}-\d{6})(?:-(\d+))?\.zip(?:\.age)?$")
PERIOD_DAYS: Final = {"daily": 1, "weekly": 7, "monthly": 31}
SIDECARS = ("-wal", "-shm", "-journal")
SQLITE_MAGIC = b"SQLite format 3\0"

SQLITE_ONLY = "Backups cover SQLite and PostgreSQL databases only (DATABASE_URL)."
NO_DATABASE = "There is no database to back up yet."
INDEX_BUSY = "The document index is being updated; try the backup again in a few minutes."


@dataclass(frozen=True)
class WeeklyFailure:
    """The period's scheduled backup failed: what to tell the owner (plain text), once a period
    (`week` is the period's key: ``2026-W48``, ``2026-11-25`` or ``2026-11``)."""

    week: str
    text: str


@dataclass(frozen=True)
class DataPaths:
    """Where the data lives: the SQLite file, the embedded index folder, the backups folder.

    With PostgreSQL, `postgres` is its URL and `database` is only where the data lock lives
    (``DATA_DIR/microdesk.db.lock``; no SQLite file is made).
    """

    database: Path
    index: Path | None  # None when a Chroma server holds the index
    backups: Path
    postgres: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> DataPaths:
        index = None if settings.CHROMA_HOST else settings.DATA_DIR / "index"
        backups = settings.DATA_DIR / "backups"
        if is_postgres(settings.database_url):
            return cls(settings.DATA_DIR / "microdesk.db", index, backups, settings.database_url)
        database = sqlite_file(settings.database_url)
        if database is None:
            raise MicrodeskError(SQLITE_ONLY)
        return cls(database, index, backups)


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    manifest: Manifest
    seconds: float
    rows: dict[str, int] | None = None  # rows per table of the packed snapshot
    verified: str = ""  # how a backup on the target was proven, when it was


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database (or in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


# --- snapshots -------------------------------------------------------------------------------


def snapshot_database(source: Path, target: Path) -> None:
    """Copy a live SQLite file into `target` (one self-contained file) via the backup API."""
    if not source.is_file():
        raise MicrodeskError(NO_DATABASE)
    with (
        closing(sqlite3.connect(source, timeout=30)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)  # all pages in one step: one read transaction, a consistent copy
        copy.execute("PRAGMA journal_mode=DELETE")


def file_integrity_ok(path: Path) -> bool:
    """``PRAGMA integrity_check`` on a SQLite file says "ok"."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError:
        return False
    return [str(row[0]) for row in rows] == ["ok"]


def schema_revision(path: Path) -> str:
    """The Alembic revision(s) of a database file, '+'-joined ('' before any migration)."""
    with closing(sqlite3.connect(path)) as connection:
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.OperationalError:
            return ""
    return "+".join(sorted(str(row[0]) for row in rows))


def snapshot_index(index: Path | None, target: Path) -> str:
    """Copy the index folder under INDEX_LOCK; 'included', 'none' (no folder) or 'server'."""
    if index is None:
        return "server"
    if not index.is_dir():
        return "none"
    if not INDEX_LOCK.acquire(timeout=INDEX_WAIT_SECONDS):
        raise ServiceUnavailableError(INDEX_BUSY)
    try:
        copy_tree(index, target)
    finally:
        INDEX_LOCK.release()
    return "included"


def copy_tree(source: Path, target: Path) -> None:
    """Regular files only; SQLite files through the backup API, their sidecars left out."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink() or not path.is_file() or _left_out(path, relative):
            continue
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        if _is_sqlite(path):
            snapshot_database(path, out)
        else:
            shutil.copyfile(path, out)


def _left_out(path: Path, relative: Path) -> bool:
    if any(part.startswith(".env") for part in relative.parts):
        return True
    for suffix in SIDECARS:
        if path.name.endswith(suffix) and _is_sqlite(path.with_name(path.name[: -len(suffix)])):
            return True
    return False


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def app_version() -> str:
    try:
        return version("microdesk")
    except PackageNotFoundError:
        return "unknown"


def create_backup(
    paths: DataPaths, dest: Path, created_at: datetime, progress: Progress = no_progress
) -> BackupInfo:
    """Snapshot the database and index into a staging folder beside `dest`, then pack it."""
    started = time.monotonic()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".microdesk-backup-"))
    try:
        progress(0, 0, "database")
        if paths.postgres is not None:
            header, rows = _dump_postgres(paths.postgres, staging, created_at)
        else:
            snapshot_database(paths.database, staging / DB_NAME)
            revision, rows = schema_revision(staging / DB_NAME), row_counts(staging / DB_NAME)
            header = Manifest(created_at, app_version(), revision, "", ())
        progress(0, 0, "index")
        header = replace(header, index=snapshot_index(paths.index, staging / INDEX_DIR))
        manifest = write_archive(staging, dest, header, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupInfo(dest, dest.stat().st_size, manifest, time.monotonic() - started, rows)


def _dump_postgres(
    url: str, staging: Path, created_at: datetime
) -> tuple[Manifest, dict[str, int]]:
    found = dump(Postgres.of(url), staging / PG_DUMP)
    header = Manifest(created_at, app_version(), found.revision, "", (), POSTGRES, found.rows)
    return header, found.rows


# --- the service -----------------------------------------------------------------------------


class BackupService:
    """Backups into ``DATA_DIR/backups`` (newest `keep` kept) and the scheduled ones, to the
    target."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        sessions: sessionmaker[Session],
        prefs: Preferences,
        audit: AuditLog,
        *,
        keep: int | None = None,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._sessions = sessions
        self._prefs = prefs
        self._audit = audit
        self.keep = settings.BACKUP_KEEP if keep is None else keep
        self.target: Target = target_of(settings)
        self.weekly_not_before = time.monotonic() + settle_seconds
        self._done_week: str | None = None
        self._retry_at: datetime | None = None
        self._warned_week: str | None = None
        self._failed: str | None = None  # why the last scheduled backup failed (until one works)

    @property
    def supported(self) -> bool:
        url = self._settings.database_url
        return sqlite_file(url) is not None or is_postgres(url)

    def paths(self) -> DataPaths:
        return DataPaths.of(self._settings)

    def create(
        self, dest: Path | None = None, progress: Progress = no_progress, by: str = OWNER
    ) -> BackupInfo:
        """Write one backup (blocking): to `dest`, or a new file in the backups folder."""
        paths = self.paths()
        with _CREATE_LOCK:
            target = dest or self._new_file(paths.backups)
            info = create_backup(paths, target, self._clock.now(), progress)
            if dest is None:
                self.rotate()
        self._audit.record(by, BACKUPS, "made a backup", str(info.path.absolute()))
        log.info("backup written: %s bytes in %.1f s", info.size, info.seconds)
        return info

    async def acreate(self, progress: Progress = no_progress) -> BackupInfo:
        """`create` in a worker thread; `progress` is called on the event loop."""
        hook = progress if progress is no_progress else _on_loop(progress)
        return await asyncio.to_thread(self.create, None, hook)

    def backups(self) -> list[Path]:
        """Our backup files in the backups folder, oldest first."""
        folder = self.paths().backups
        found = [(m, p) for p in folder.glob("microdesk-*.zip") if (m := NAME.match(p.name))]
        found.sort(key=lambda item: (item[0].group(1), int(item[0].group(2) or 1)))
        return [path for _, path in found]

    def rotate(self) -> list[Path]:
        """Delete all but the newest `keep` backups, and leftovers of interrupted ones."""
        removed = self.backups()[: -self.keep] if self.keep > 0 else []
        for path in removed:
            path.unlink(missing_ok=True)
        self._sweep_leftovers(self.paths().backups)
        return removed

    # --- weekly --------------------------------------------------------------------------------

    def week_of(self, now: datetime) -> str:
        """The BACKUP_EVERY period `now` falls in, as a ledger key."""
        local = dates.to_local(now, self._prefs.tz)
        if self._settings.BACKUP_EVERY == "daily":
            return local.strftime("%Y-%m-%d")
        if self._settings.BACKUP_EVERY == "monthly":
            return local.strftime("%Y-%m")
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"

    def weekly_due(self) -> str | None:
        """This ISO week, when its scheduled backup has not been written yet."""
        if not self.supported:
            return None
        week = self.week_of(self._clock.now())
        if week == self._done_week:
            return None
        with self._sessions() as session:
            if session.get(BackupLog, week) is not None:
                self._done_week = week
                return None
        return week

    def run_weekly(self, week: str) -> BackupInfo:
        """Write the period's backup to the target, prove it by reading it back, then record it
        in the ledger (blocking)."""
        info = self.send_to_target()
        try:
            with self._sessions.begin() as session:
                session.add(
                    BackupLog(
                        week=week,
                        created_at=self._clock.now(),
                        file_name=info.path.name,
                        size_bytes=info.size,
                        target=self.target.describe(),
                    )
                )
        except IntegrityError:
            log.info("weekly backup %s was already recorded by another process", week)
        self._done_week = week
        return info

    async def weekly_if_due(self) -> WeeklyFailure | None:
        """Run the weekly backup in a worker thread if due; a notice for the owner if it failed.

        Not in the first minute after start: the bot catches up on updates and reminders first.
        """
        if time.monotonic() < self.weekly_not_before:
            return None
        now = self._clock.now()
        if self._retry_at is not None and now < self._retry_at:
            return None
        week = self.weekly_due()
        if week is None:
            return None
        try:
            await asyncio.to_thread(self.run_weekly, week)
        except Exception as exc:
            self._retry_at = now + RETRY_AFTER
            return self._failure_notice(week, exc)
        self._retry_at = None
        self._failed = None
        return None

    def send_to_target(self) -> BackupInfo:
        """One backup: packed in a work folder, sealed with BACKUP_PASSPHRASE when set, put on
        the target, verified there (bot.services.backup.verify), then the target rotated."""
        paths = self.paths()
        passphrase = self._settings.BACKUP_PASSPHRASE
        self._settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        with (
            _CREATE_LOCK,
            tempfile.TemporaryDirectory(
                dir=self._settings.DATA_DIR, prefix=".microdesk-backup-"
            ) as scratch,
        ):
            work = Path(scratch)
            stamp = self._clock.now().strftime("%Y%m%d-%H%M%S")
            info = create_backup(paths, work / f"microdesk-{stamp}.zip", self._clock.now())
            sent = info.path
            if passphrase is not None:
                sent = work / (info.path.name + SUFFIX)
                seal(info.path, sent, passphrase.get_secret_value())
            name = self._free_name(sent.name)
            self.target.put(sent, name)
            check = work / "verify"
            check.mkdir()
            secret = passphrase.get_secret_value() if passphrase is not None else None
            pg = Postgres.of(paths.postgres) if paths.postgres else None
            try:
                how = verify_on_target(self.target, name, sent, secret, info.rows or {}, check, pg)
            except VerifyError:
                self._forget(name)
                raise
            size = sent.stat().st_size
        self.rotate_target()
        where = f"{name} on {self.target.describe()}, verified ({how})"
        self._audit.record(SCHEDULER, BACKUPS, "made a backup", where)
        log.info("scheduled backup verified on the target (%s): %s bytes", how, size)
        return BackupInfo(Path(name), size, info.manifest, info.seconds, info.rows, how)

    def rotate_target(self) -> list[str]:
        """Keep the newest `keep` backups on the target; remove leftover `.partial` files."""
        names = self.target.names()
        ours = sorted((_order(n), n) for n in names if NAME.match(n))
        removed = [n for _, n in ours[: -self.keep]] if self.keep > 0 else []
        removed += [n for n in names if n.endswith(".partial") and n.startswith("microdesk-")]
        for name in removed:
            self._forget(name)
        return removed

    def status_lines(self) -> list[str]:
        """For the briefing: the last scheduled backup failed, or the newest verified off-box
        backup is older than its period (said every day until one succeeds)."""
        lines = []
        if self._failed is not None:
            lines.append(f"The last {self._settings.BACKUP_EVERY} backup failed: {self._failed}")
        if not self.supported or not self.target.off_box:
            return lines
        newest = self.newest_verified()
        period = timedelta(days=PERIOD_DAYS[self._settings.BACKUP_EVERY])
        where = self.target.describe()
        if newest is None:
            lines.append(f"There is no verified backup on {where} yet.")
        elif self._clock.now() - newest > period:
            day = dates.to_local(newest, self._prefs.tz).strftime("%a %d %b %Y")
            lines.append(
                f"The newest verified backup on {where} is from {day}, older than "
                f"BACKUP_EVERY ({self._settings.BACKUP_EVERY})."
            )
        return lines

    def newest_verified(self) -> datetime | None:
        """When the newest scheduled backup verified on the current target was made."""
        with self._sessions() as session:
            query = select(func.max(BackupLog.created_at)).where(
                BackupLog.target == self.target.describe()
            )
            return session.scalar(query)

    def _free_name(self, name: str) -> str:
        taken, candidate, n = set(self.target.names()), name, 1
        while candidate in taken:
            n += 1
            stem = name.split(".zip", 1)[0]
            candidate = f"{stem}-{n}.zip{name.split('.zip', 1)[1]}"
        return candidate

    def _forget(self, name: str) -> None:
        try:
            self.target.delete(name)
        except MicrodeskError:
            log.warning("could not remove %s from the backup target", name)

    def _failure_notice(self, week: str, exc: Exception) -> WeeklyFailure | None:
        if isinstance(exc, MicrodeskError):
            log.warning("scheduled backup %s failed: %s", week, exc)
            reason = str(exc)
        elif isinstance(exc, OSError):
            log.warning("scheduled backup %s failed: %s", week, type(exc).__name__)
            reason = "I could not write the backup file (is the disk full?)."
        else:
            log.exception("scheduled backup %s failed", week)
            reason = "Something went wrong on my side."
        self._failed = reason
        if self._warned_week == week:
            return None
        self._warned_week = week
        every = self._settings.BACKUP_EVERY
        text = f"⚠️ The {every} backup did not work: {reason} I will try again in an hour."
        return WeeklyFailure(week, text)

    # --- internals -------------------------------------------------------------------------

    def _new_file(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = self._clock.now().strftime("%Y%m%d-%H%M%S")
        path, n = folder / f"microdesk-{stamp}.zip", 1
        while path.exists():
            n += 1
            path = folder / f"microdesk-{stamp}-{n}.zip"
        return path

    @staticmethod
    def _sweep_leftovers(folder: Path) -> None:
        """Remove partial files and staging folders an interrupted backup left (over an hour)."""
        cutoff = time.time() - STALE_AFTER_SECONDS
        for path in [*folder.glob("*.zip.partial"), *folder.glob(".microdesk-backup-*")]:
            try:
                if path.stat().st_mtime >= cutoff:
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                continue


def _order(name: str) -> tuple[str, int]:
    match = NAME.match(name)
    assert match is not None
    return match.group(1), int(match.group(2) or 1)


def _on_loop(progress: Progress) -> Progress:
    """A progress hook callable from a worker thread that runs `progress` on this event loop."""
    loop = asyncio.get_running_loop()

    def report(done: int, total: int, label: str) -> None:
        loop.call_soon_threadsafe(progress, done, total, label)

    return report
