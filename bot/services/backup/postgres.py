"""A PostgreSQL database in and out of a backup, through the client tools (blocking calls).

    Postgres.of(url)                  the database of a SQLAlchemy URL (``postgresql+psycopg://…``)
    dump(pg, dest) -> Snapshot        ``pg_dump -Fc`` into `dest`, with the rows of every table of
                                      the schema and the Alembic revision, read in the same
                                      snapshot (``pg_export_snapshot`` + ``pg_dump --snapshot``)
    tools_ready(pg)                   for ``doctor``: the tools are there and not older than the
                                      server

The password never reaches argv, a log line, a message or the archive: libpq gets a connection
string without it (``--dbname``) whose ``passfile`` names a 0600 file in a private temp folder,
deleted after the call. What a tool writes on stderr is scrubbed before it is logged or shown.
Reading a dump back (a check, a trial restore, a restore): :mod:`bot.services.backup.postgres_load`.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.errors import MicrodeskError

log = logging.getLogger(__name__)

CLIENT = "install the PostgreSQL client tools (Debian: postgresql-client)."
NEEDS = {
    "pg_dump": f"Backups of a PostgreSQL database need pg_dump; {CLIENT}",
    "pg_restore": f"Restoring a PostgreSQL backup needs pg_restore; {CLIENT}",
    "psql": f"Restoring a PostgreSQL backup needs psql; {CLIENT}",
}
MISMATCH = (
    "The PostgreSQL server is version {server} but {tool} is version {client}, which cannot "
    "back it up; install the PostgreSQL {server} client tools (Debian: postgresql-client-{server})."
)
NEWER_DUMP = (
    "This backup was made by a newer pg_dump than this {tool}; install the PostgreSQL client "
    "tools of your server's version (Debian: postgresql-client-NN)."
)
SIGN_IN = "{tool} could not sign in to PostgreSQL: check the user and password in DATABASE_URL."
REACH = "{tool} could not reach the PostgreSQL server: is it running, and is DATABASE_URL right?"
CONNECT = "I could not connect to the PostgreSQL database (DATABASE_URL): {why}."
REDACTED = "[redacted]"
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL database; ``repr`` and ``str`` never show the password."""

    url: URL

    @classmethod
    def of(cls, url: str) -> Postgres:
        return cls(make_url(url))

    def __str__(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def on(self, database: str) -> Postgres:
        return Postgres(self.url.set(database=database))

    def engine(self, *, autocommit: bool = False) -> Engine:
        level = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        timeout = {"connect_timeout": CONNECT_TIMEOUT}
        return create_engine(self.url, poolclass=NullPool, connect_args=timeout, **level)

    def conninfo(self, passfile: Path | None) -> str:
        """libpq's ``key='value' …`` form, without the password (it is in `passfile`); the URL's
        query (``sslmode``, ``host`` of a socket folder, ``options`` …) is libpq's already."""
        u = self.url
        params: dict[str, object] = {"host": u.host, "port": u.port, "dbname": u.database}
        params["user"] = u.username
        params.update({k: v if isinstance(v, str) else ",".join(v) for k, v in u.query.items()})
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        if passfile is not None:
            params["passfile"] = passfile
        return " ".join(f"{k}={_quoted(v)}" for k, v in params.items() if v not in (None, ""))

    def scrub(self, value: str) -> str:
        """`value` without the password, and without the user:password part of any URL."""
        value = re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1@", value)
        secret = self.url.password
        if secret:
            forms = {str(secret), quote(str(secret)), quote_plus(str(secret))}
            for form in sorted(forms, key=len, reverse=True):
                value = value.replace(form, REDACTED)
        return value


def _quoted(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, int]
    revision: str  # Alembic revision(s), '+'-joined


def tool(name: str) -> str:
    """The path of a client tool; one sentence naming what to install when it is missing."""
    found = shutil.which(name)
    if found is None:
        raise MicrodeskError(NEEDS[name])
    return found


# --- running the tools ------------------------------------------------------------------------


@contextmanager
def _passfile(pg: Postgres) -> Iterator[Path | None]:
    """A 0600 password file for libpq in a private temp folder (None without a password)."""
    if not pg.url.password:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="microdesk-pg-") as folder:  # mode 0700
        path = Path(folder) / "pgpass"
        secret = str(pg.url.password).replace("\\", "\\\\").replace(":", "\\:")
        path.touch(mode=0o600)
        path.write_text(f"*:*:*:*:{secret}\n")
        yield path


def run(name: str, args: Sequence[str], pg: Postgres | None = None) -> str:
    """Run a client tool (never prompting for a password); its output, or one sentence."""
    program = tool(name)
    if pg is None:
        done = subprocess.run([program, *args], capture_output=True, text=True, check=False)
    else:
        with _passfile(pg) as passfile:
            argv = [program, "--no-password", f"--dbname={pg.conninfo(passfile)}", *args]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return done.stdout
    problem = done.stderr if pg is None else pg.scrub(done.stderr)
    errors = [line for line in problem.splitlines() if ERROR_LINE.search(line)]  # no CONTEXT:
    log.warning("%s failed (exit %d): %s", name, done.returncode, " | ".join(errors)[:2000])
    raise MicrodeskError(explain(name, problem))


ERROR_LINE = re.compile(r"\b(?:error|fatal)\b:", re.IGNORECASE)  # CONTEXT / DETAIL may hold rows


def explain(name: str, stderr: str) -> str:
    """One sentence for what a client tool wrote on stderr (already scrubbed)."""
    mismatch = re.search(r"server version: (\d+)[^;\n]*; \S+ version: (\d+)", stderr)
    if "version mismatch" in stderr and mismatch:
        return MISMATCH.format(server=mismatch[1], client=mismatch[2], tool=name)
    if "unsupported version" in stderr and "file header" in stderr:
        return NEWER_DUMP.format(tool=name)
    if "password authentication failed" in stderr or "no password supplied" in stderr:
        return SIGN_IN.format(tool=name)
    if "could not connect" in stderr or re.search(r"connection to server .* failed", stderr):
        return REACH.format(tool=name)
    errors = [line for line in stderr.splitlines() if "error:" in line.lower()]
    detail = (errors or stderr.strip().splitlines() or ["no message"])[0]
    detail = re.sub(r"^.*?error:\s*", "", detail, flags=re.IGNORECASE)[:200].rstrip(".")
    return f"{name} failed: {detail}."


# --- dump ---------------------------------------------------------------------------------------


def dump(pg: Postgres, dest: Path) -> Snapshot:
    """``pg_dump -Fc`` of the database, and what it holds, from one snapshot."""
    tool("pg_dump")  # say what is missing before connecting anywhere
    engine = pg.engine()
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = str(conn.scalar(text("SELECT pg_export_snapshot()")))
                found = Snapshot(count_rows(conn), revision(conn))
                run("pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={dest}"], pg)
    except SQLAlchemyError as exc:
        raise connect_error(pg, exc) from exc
    finally:
        engine.dispose()
    return found


def connect_error(pg: Postgres, exc: SQLAlchemyError) -> MicrodeskError:
    why = pg.scrub(str(getattr(exc, "orig", exc)) or type(exc).__name__).strip().splitlines()
    log.warning("PostgreSQL: %s", " ".join(why))
    return MicrodeskError(CONNECT.format(why=(why or ["no answer"])[0][:200].rstrip(".")))


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows in every table of the current schema."""
    tables = conn.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
    ).all()
    quoted = {str(t): '"' + str(t).replace('"', '""') + '"' for t in tables}
    return {t: int(conn.scalar(text(f"SELECT count(*) FROM {q}")) or 0) for t, q in quoted.items()}


def revision(conn: Connection) -> str:
    if conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
        return ""
    rows = conn.scalars(text("SELECT version_num FROM alembic_version")).all()
    return "+".join(sorted(str(r) for r in rows))


def tools_ready(pg: Postgres) -> str:
    """For ``doctor``: pg_dump's version, when it is there and can back up this server."""
    client = _major(run("pg_dump", ["--version"]))
    engine = pg.engine()
    try:
        with engine.connect() as conn:
            server = int(str(conn.scalar(text("SHOW server_version_num")))) // 10000
    except SQLAlchemyError as exc:
        raise connect_error(pg, exc) from exc
    finally:
        engine.dispose()
    if client < server:
        raise MicrodeskError(MISMATCH.format(server=server, client=client, tool="pg_dump"))
    return f"pg_dump {client} for a PostgreSQL {server} server"


def _major(version_line: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", version_line)
    return int(found[1]) if found else 0
