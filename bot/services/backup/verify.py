"""Proof that a backup on the target can be restored: read it back and restore it on trial.

    verify_on_target(target, name, sent, passphrase, rows, work, pg) -> how
        1. download `name` again and compare its sha256 with the file that was sent
        2. decrypt it (when sealed) and unpack it: manifest, member names, sizes, sha256
        3. SQLite ``integrity_check`` on the restored database, and the same row count in every
           table as the snapshot that was packed
        3. or, for PostgreSQL: ``pg_restore --list`` reads the dump, and when the role may
           create databases, a trial restore into a scratch one with the same row counts
           (`how` says which was done)

Any difference raises :class:`VerifyError`; the caller removes the bad copy and counts nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from bot.errors import MicrodeskError
from bot.services.backup.archive import CHUNK, DB_NAME, PG_DUMP, POSTGRES, unpack
from bot.services.backup.postgres import Postgres
from bot.services.backup.postgres_load import check_dump, trial_restore
from bot.services.backup.sealed import unseal
from bot.services.backup.target import Target

READ_BACK = "The backup on {where} did not read back intact ({what}); it was removed."
SQLITE_CHECKS = "integrity check and row counts of a trial restore"
PG_TRIAL = "pg_restore --list, and row counts of a trial restore into a scratch database"
PG_LIST = "pg_restore --list only: the database role may not create a scratch database"


class VerifyError(MicrodeskError):
    """A backup written to the target is not the one that was sent, or does not restore."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def row_counts(database: Path) -> dict[str, int]:
    """Rows in every table of a SQLite file (SQLite's own tables left out)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        tables = [
            str(row[0])
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            t: int(connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables
        }


def integrity_ok(database: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError:
        return False
    return [str(row[0]) for row in rows] == ["ok"]


def verify_on_target(
    target: Target,
    name: str,
    sent: Path,
    passphrase: str | None,
    rows: dict[str, int],
    work: Path,
    pg: Postgres | None = None,
) -> str:
    """Steps 1-3 above, in the empty folder `work`; which checks were made."""
    where = target.describe()
    fetched = work / "read-back"
    target.get(name, fetched)
    if sha256_of(fetched) != sha256_of(sent):
        raise VerifyError(READ_BACK.format(where=where, what="checksum differs"))
    archive = fetched
    if passphrase is not None:
        archive = work / "read-back.zip"
        try:
            unseal(fetched, archive, passphrase)
        except MicrodeskError as exc:
            raise VerifyError(READ_BACK.format(where=where, what="does not decrypt")) from exc
    restored = work / "trial-restore"
    try:
        manifest = unpack(archive, restored)
        if manifest.engine == POSTGRES:
            return _postgres_checks(pg, restored / PG_DUMP, manifest.rows, rows, work)
    except MicrodeskError as exc:
        raise VerifyError(READ_BACK.format(where=where, what=str(exc).rstrip("."))) from exc
    if not integrity_ok(restored / DB_NAME):
        raise VerifyError(READ_BACK.format(where=where, what="integrity check failed"))
    if row_counts(restored / DB_NAME) != rows:
        raise VerifyError(READ_BACK.format(where=where, what="row counts differ"))
    return SQLITE_CHECKS


def _postgres_checks(
    pg: Postgres | None, dump: Path, listed: dict[str, int] | None, rows: dict[str, int], work: Path
) -> str:
    if pg is None:
        raise MicrodeskError("a PostgreSQL dump needs a PostgreSQL database to restore into")
    if listed != rows:
        raise MicrodeskError("its manifest does not list the rows that were backed up")
    check_dump(dump)
    return PG_TRIAL if trial_restore(pg, dump, rows, work) else PG_LIST
