"""The engine and session factory, and migrations applied at start.

SQLite runs in WAL mode with foreign keys on; ``synchronous=FULL`` so an approved proposal or a
recorded send survives a power cut, not only a crash. A relaxed engine (``durable=False``, the
durable inbox's bookkeeping) commits without waiting for the disk: its commits survive the
process being killed, not a power cut, until the next durable commit on any connection syncs
the write-ahead log, which holds them too.

A database already at the head revisions is left alone without importing Alembic (a quarter
of the start-up time): the heads are read from the migration files themselves, so a new
migration is picked up without anyone updating a constant here.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import DatabaseTooNewError

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str | URL, *, durable: bool = True) -> Engine:
    """An engine for `url`; for SQLite, make the folder and set pragmas on each connection.

    ``durable=False``: commits do not wait for the disk (SQLite ``synchronous=NORMAL``,
    PostgreSQL ``synchronous_commit=off``).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        options = parsed.query.get("options", "")
        if not durable:  # libpq options; keep any the URL already carries
            options = f"{options} -c synchronous_commit=off".strip()
        relaxed = {"options": options} if options else {}
        return create_engine(parsed, pool_pre_ping=True, connect_args=relaxed)
    synchronous = "FULL" if durable else "NORMAL"
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def relaxed_engine(engine: Engine) -> Engine:
    """An engine on the same database whose commits do not wait for the disk; `engine` itself
    for an in-memory SQLite database (a second engine would open another, empty one)."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine
    return make_engine(engine.url, durable=False)


def migrate(engine: Engine) -> None:
    """Apply every pending migration (Alembic, numbered revisions in migrations/versions)."""
    if at_head(engine):
        return
    unknown = recorded_revisions(engine) - known_revisions(MIGRATIONS / "versions")
    if unknown:
        raise DatabaseTooNewError(
            f"The database was made by a newer version of microdesk (revision "
            f"{', '.join(sorted(unknown))}): upgrade microdesk (git pull, then ./scripts/start), "
            "or restore a backup made by this version."
        )
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")  # features may add independent branches


def at_head(engine: Engine, versions: Path = MIGRATIONS / "versions") -> bool:
    """The database records exactly the head revisions of the migration files."""
    heads = head_revisions(versions)
    return bool(heads) and recorded_revisions(engine) == heads


def recorded_revisions(engine: Engine) -> set[str]:
    """The revisions the database says it is at (none before the first migration)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return set()
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def known_revisions(versions: Path) -> set[str]:
    """Every revision this version's migration files define."""
    found = set()
    for path in versions.glob("*.py"):
        try:
            revision = _assigned(path, ("revision",)).get("revision")
        except (OSError, SyntaxError, ValueError):
            continue
        if isinstance(revision, str):
            found.add(revision)
    return found


def head_revisions(versions: Path) -> frozenset[str]:
    """Revisions no other revision builds on, read from the files' `revision` and
    `down_revision` assignments; empty when a file can't be read that way (Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        if path.name == "__init__.py":
            continue
        try:
            found = _assigned(path, ("revision", "down_revision"))
        except (OSError, SyntaxError, ValueError):  # Alembic reports the broken file
            return frozenset()
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str) or "down_revision" not in found:
            return frozenset()
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
        elif down is not None:
            return frozenset()
    return frozenset(revisions - parents)


def _assigned(path: Path, names: tuple[str, ...]) -> dict[str, object]:
    """Literal values assigned to `names` at the top of a Python file (``x = 1``, ``x: T = 1``)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_bytes()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            try:
                found[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                found[target.id] = value  # not a literal: the caller gives up
    return found


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def integrity_ok(engine: Engine) -> bool:
    """SQLite's ``PRAGMA integrity_check`` says "ok"; other databases have no such check (True)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        rows = connection.execute(text("PRAGMA integrity_check")).scalars().all()
    return [str(row) for row in rows] == ["ok"]
