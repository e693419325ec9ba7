"""The engine and session factory, and migrations applied at start.

SQLite runs in WAL mode with foreign keys on; ``synchronous=FULL`` so an approved proposal or a
recorded send survives a power cut, not only a crash. A relaxed engine (``durable=False``, the
durable inbox's bookkeeping) commits without waiting for the disk: its commits survive the
process being killed, not a power cut, until the next durable commit on any connection syncs
the write-ahead log, which holds them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

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
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")  # features may add independent branches


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def integrity_ok(engine: Engine) -> bool:
    """SQLite's ``PRAGMA integrity_check`` says "ok"; other databases have no such check (True)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        rows = connection.execute(text("PRAGMA integrity_check")).scalars().all()
    return [str(row) for row in rows] == ["ok"]
