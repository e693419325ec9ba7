"""Restoring a backup over a PostgreSQL database (:func:`bot.services.backup.restore.restore_backup`
comes here when DATABASE_URL is PostgreSQL).

The order makes a refusal change nothing and a failure leave the database as it was:

1. the client tools are there (pg_restore, psql; one sentence naming the package when not);
2. take the data lock exclusively (refused while the bot or the chat runs on this machine);
3. check and extract the archive into a staging folder in DATA_DIR (manifest, sizes, sha256);
   it must hold a PostgreSQL dump of a schema this version knows;
4. ``pg_dump`` the current database to ``DATA_DIR/microdesk.pgdump.before-restore``;
5. one ``psql --single-transaction``: tables dropped, the dump restored, the live revocations
   carried over and the calendar sync state dropped
   (:func:`bot.services.backup.postgres_load.restore`); any error rolls it all back;
6. the index folder as with SQLite. Migrations to this version run next (``microdesk restore``
   records the restore in the audit log after migrating, as with SQLite).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from bot.config import Settings
from bot.errors import UserInputError
from bot.services.backup.archive import INDEX_DIR, PG_DUMP, POSTGRES, Progress, no_progress, unpack
from bot.services.backup.postgres import Postgres, dump, tool
from bot.services.backup.postgres_load import restore
from bot.services.backup.restore import BEFORE as SQLITE_BEFORE
from bot.services.backup.restore import (
    NEWER,
    OTHER_ENGINE,
    RestoreResult,
    exclusive,
    known_revisions,
    replace_index,
)
from bot.services.backup.service import DataPaths

log = logging.getLogger(__name__)

BEFORE = "microdesk.pgdump.before-restore"
EMPTY = "This backup is damaged: its PostgreSQL dump has no microdesk schema."


def before_restore_name(settings: Settings) -> str:
    """What the current database is kept as by a restore; for PostgreSQL, one sentence when a
    client tool the restore needs is missing."""
    paths = DataPaths.of(settings)
    if paths.postgres is None:
        return paths.database.name + SQLITE_BEFORE
    _tools()
    return BEFORE


def restore_postgres(
    archive: Path, settings: Settings, progress: Progress = no_progress
) -> RestoreResult:
    """Replace the tables of the PostgreSQL database (and the embedded index) with a backup's."""
    paths = DataPaths.of(settings)
    assert paths.postgres is not None
    pg = Postgres.of(paths.postgres)
    _tools()
    if not archive.is_file():
        raise UserInputError("There is no backup file at that path.")
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with exclusive(paths.database):
        staging = Path(tempfile.mkdtemp(dir=settings.DATA_DIR, prefix=".microdesk-restore-"))
        try:
            manifest = unpack(archive, staging, progress)
            _check(manifest.engine, manifest.schema_revision)
            previous = _keep_previous(pg, settings.DATA_DIR, staging)
            progress(1, 1, "replacing")
            restore(pg, staging / PG_DUMP, staging)
            notes = replace_index(staging / INDEX_DIR, paths.index, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("restored a PostgreSQL backup of schema %s", manifest.schema_revision)
    return RestoreResult(manifest, previous, notes)


def _tools() -> None:
    """A restore reads the dump (pg_restore), runs it (psql) and keeps the old data (pg_dump)."""
    for name in ("pg_restore", "psql", "pg_dump"):
        tool(name)


def _check(engine: str, revision: str) -> None:
    if engine != POSTGRES:
        raise UserInputError(OTHER_ENGINE.format(engine=engine, ours=POSTGRES))
    revisions = [r for r in revision.split("+") if r]
    if not revisions:
        raise UserInputError(EMPTY)
    if not set(revisions) <= known_revisions():
        raise UserInputError(NEWER)


def _keep_previous(pg: Postgres, data_dir: Path, staging: Path) -> Path:
    """The current database, dumped beside the data (restorable with pg_restore)."""
    previous = data_dir / BEFORE
    partial = staging / "before-restore.partial"
    dump(pg, partial)
    os.replace(partial, previous)
    return previous
