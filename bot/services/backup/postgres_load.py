"""A PostgreSQL dump read back: checked, restored on trial, restored (blocking calls).

    check_dump(dump)                  ``pg_restore --list``: the dump's table of contents reads
    trial_restore(pg, dump, rows)     into a scratch database, rows compared, then dropped;
                                      False (nothing done) when the role may not create databases
    restore(pg, dump)                 the dump over the live database in one ``psql``
                                      transaction: every table of the schema dropped, the dump
                                      restored, revocations carried over; a failure anywhere
                                      leaves the database as it was

Schemas the target database already has (``public``) are left out of the restore list: only
their owner may drop and re-create them, and the tables in them are what is restored.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import MicrodeskError
from bot.services.backup.postgres import Postgres, connect_error, count_rows, run, tool

log = logging.getLogger(__name__)

SCRATCH_PREFIX = "microdesk_verify_"


def check_dump(path: Path) -> list[str]:
    """The entries of the dump's table of contents (``pg_restore --list``); refused if none."""
    listing = run("pg_restore", ["--list", str(path)])
    entries = [line for line in listing.splitlines() if line.strip() and not line.startswith(";")]
    if not entries:
        raise MicrodeskError("pg_restore failed: the dump lists nothing.")
    return entries


def keep_schemas(entries: list[str], existing: set[str], into: Path) -> Path:
    """A ``--use-list`` file without the schemas the target already has (and their comments and
    grants): re-creating ``public`` needs its owner, and the tables in it are what we restore."""
    skip = re.compile(r"^\d+; \d+ \d+ (?:SCHEMA - (\S+)|(?:COMMENT|ACL) - SCHEMA (\S+)) ")
    kept = []
    for line in entries:
        found = skip.match(line)
        if found and (found[1] or found[2]) in existing:
            continue
        kept.append(line)
    into.write_text("\n".join(kept) + "\n")
    return into


def schemas(conn: Connection) -> set[str]:
    return {str(s) for s in conn.scalars(text("SELECT nspname FROM pg_namespace")).all()}


RESTORE_FLAGS = ("--no-owner", "--no-privileges", "--exit-on-error")


def trial_restore(pg: Postgres, path: Path, rows: dict[str, int], work: Path) -> bool:
    """Restore `path` into a scratch database and compare its rows with `rows`; the scratch
    database is dropped after. False (nothing done) when the role may not create databases."""
    entries = check_dump(path)
    admin = pg.engine(autocommit=True)
    scratch = SCRATCH_PREFIX + secrets.token_hex(6)
    try:
        with admin.connect() as conn:
            if not conn.scalar(text(MAY_CREATE)):
                return False
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        try:
            found = _restore_and_count(pg.on(scratch), path, entries, work)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
    except SQLAlchemyError as exc:
        raise connect_error(pg, exc) from exc
    finally:
        admin.dispose()
    if found != rows:
        log.warning("trial restore: rows %s, expected %s", found, rows)
        raise MicrodeskError("the trial restore does not hold the rows that were backed up.")
    return True


MAY_CREATE = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"


def _restore_and_count(
    scratch: Postgres, path: Path, entries: list[str], work: Path
) -> dict[str, int]:
    engine = scratch.engine()
    try:
        with engine.connect() as conn:
            existing = schemas(conn)
        listing = keep_schemas(entries, existing, work / "trial.list")
        flags = [*RESTORE_FLAGS, "--single-transaction", f"--use-list={listing}", str(path)]
        run("pg_restore", flags, scratch)
        with engine.connect() as conn:
            return count_rows(conn)
    finally:
        engine.dispose()


def restore(pg: Postgres, path: Path, work: Path) -> None:
    """Replace the tables of the live database with the dump's, in one transaction (psql
    ``--single-transaction``): every table of the schema dropped (a newer migration's too), the
    dump restored, the live revocations and closed invites carried over
    (:mod:`bot.services.team.carry`), the calendar's links and sync token dropped (the restored
    tasks win: :mod:`bot.services.calendar_sync.restored`). Any error rolls all of it back."""
    tool("psql")  # before anything is read or written
    entries = check_dump(path)
    engine = pg.engine()
    try:
        with engine.connect() as conn:
            existing = schemas(conn)
    except SQLAlchemyError as exc:
        raise connect_error(pg, exc) from exc
    finally:
        engine.dispose()
    listing = keep_schemas(entries, existing, work / "restore.list")
    script = work / "restore.sql"
    flags = ["--clean", "--if-exists", *RESTORE_FLAGS, f"--use-list={listing}"]
    run("pg_restore", [*flags, f"--file={script}", str(path)])
    (work / "before.sql").write_text(BEFORE_RESTORE)
    (work / "after.sql").write_text(AFTER_RESTORE)
    files = [f"--file={work / name}" for name in ("before.sql", "restore.sql", "after.sql")]
    run("psql", ["--single-transaction", "--quiet", "--set=ON_ERROR_STOP=1", *files], pg)


# the live revocations kept aside, then every table of the schema dropped
BEFORE_RESTORE = """
DO $$
DECLARE found record;
BEGIN
  IF to_regclass('contractors') IS NOT NULL AND to_regclass('team_invites') IS NOT NULL THEN
    CREATE TEMP TABLE microdesk_revoked AS
      SELECT name, tg_user_id, revoked_at FROM contractors WHERE status = 'revoked';
    CREATE TEMP TABLE microdesk_closed AS
      SELECT token_hash FROM team_invites WHERE status <> 'pending';
  ELSE
    CREATE TEMP TABLE microdesk_revoked AS
      SELECT NULL::text AS name, NULL::bigint AS tg_user_id, NULL::timestamp AS revoked_at
      WHERE false;
    CREATE TEMP TABLE microdesk_closed AS SELECT NULL::text AS token_hash WHERE false;
  END IF;
  FOR found IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', found.tablename);
  END LOOP;
END $$;
"""

# the restored tables get the revocations made since the backup: revoked stays revoked; and
# the calendar sync forgets the server (as bot.services.calendar_sync.restored does on SQLite)
AFTER_RESTORE = """
RESET search_path;
DO $$
BEGIN
  IF to_regclass('calendar_links') IS NOT NULL AND to_regclass('calendar_state') IS NOT NULL THEN
    DELETE FROM calendar_links;
    UPDATE calendar_state SET sync_token = NULL;
  END IF;
  IF to_regclass('contractors') IS NOT NULL AND to_regclass('team_invites') IS NOT NULL THEN
    UPDATE contractors AS c SET status = 'revoked', revoked_at = r.revoked_at
      FROM pg_temp.microdesk_revoked AS r
      WHERE c.status = 'active' AND (c.name = r.name OR c.tg_user_id = r.tg_user_id);
    UPDATE team_invites AS i SET status = 'revoked'
      FROM pg_temp.microdesk_closed AS x
      WHERE i.token_hash = x.token_hash AND i.status = 'pending';
  END IF;
END $$;
"""
