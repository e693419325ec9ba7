"""PostgreSQL for the tests: a throwaway server, and the ``db_url`` fixture over both engines.

A test module marked ``pytestmark = pytest.mark.all_databases`` runs each test twice: on SQLite
(``db_url`` is None: the default file in the test's DATA_DIR) and on PostgreSQL (``db_url`` is
the session's test database, emptied before each test). Other tests get SQLite only.

Where the server comes from, first that works:

1. ``MICRODESK_TEST_POSTGRES_URL``: a server of yours (``postgresql+psycopg://user@host/db``,
   with the right to create databases).
2. Debian's server binaries (``/usr/lib/postgresql/*/bin``): a cluster in a temp dir, on
   127.0.0.1 and a free port, fsync off, stopped and deleted after the session. As root it runs
   as the ``postgres`` user (PostgreSQL refuses to run as root).
3. With ``CI`` set: ``apt-get install postgresql`` first (as root), then 2.

"The session" is one test process: each pytest-xdist worker has its own cluster (or, with 1.,
its own database, named by its process id).

Otherwise the PostgreSQL variants skip and say why; with ``CI`` set they fail instead, so CI
never passes by skipping them.
"""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

log = logging.getLogger(__name__)
URL_ENV = "MICRODESK_TEST_POSTGRES_URL"
MARKER = "all_databases"
ENGINES = ("sqlite", "postgresql")
TEST_DB = f"microdesk_test_{os.getpid()}"
# every test starts from an empty database (a connection left open by a test fails this fast)
EMPTY_SCHEMA = "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"


class Unavailable(Exception):
    """PostgreSQL cannot be had here; the message says why and what to do."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: run on SQLite and on PostgreSQL (tests/pg.py)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(MARKER):
        metafunc.parametrize("db_url", ENGINES, indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite (the default); for PostgreSQL, the URL of a new empty database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    server: Server = request.getfixturevalue("postgres_server")
    server.sql(EMPTY_SCHEMA, database=TEST_DB)  # faster than a new database per test
    yield server.url(TEST_DB)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A reachable PostgreSQL server for the whole session (see the module docstring)."""
    ci = bool(os.environ.get("CI"))
    try:
        with _server(ci) as server:
            server.sql(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
            server.sql(f'CREATE DATABASE "{TEST_DB}"')
            yield server
            server.sql(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    except Unavailable as exc:
        reason = f"PostgreSQL tests not run: {exc}"
        if ci:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@dataclass
class Server:
    """A server the tests may create databases on; ``base`` is its URL without a database."""

    base: str
    admin_db: str = "postgres"

    def url(self, database: str) -> str:
        return f"{self.base}/{database}"

    def sql(self, statement: str, database: str | None = None) -> None:
        """Run SQL outside a transaction (CREATE / DROP DATABASE need that)."""
        import psycopg

        url = self.url(database or self.admin_db)
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement.encode())


class _server:
    """Context manager: an existing server, or a throwaway cluster started (and stopped) here."""

    def __init__(self, ci: bool) -> None:
        self.ci = ci
        self.cluster: Cluster | None = None

    def __enter__(self) -> Server:
        given = os.environ.get(URL_ENV)
        if given:
            return _reachable(given)
        self.cluster = Cluster(_binaries(self.ci))
        return self.cluster.start()

    def __exit__(self, *exc: object) -> None:
        if self.cluster is not None:
            self.cluster.stop()


def _reachable(url: str) -> Server:
    base, _, database = url.rpartition("/")
    server = Server(base, database or "postgres")
    try:
        server.sql("SELECT 1")
    except Exception as exc:
        raise Unavailable(f"{URL_ENV} is set but the server does not answer ({exc})") from exc
    return server


def _binaries(ci: bool) -> Path:
    """The newest Debian PostgreSQL bin folder, installing the package first on CI."""
    found = _initdb_found()
    if not found and ci:
        # the pytest-xdist workers each get here: one installs while the others wait for it
        with open(Path(tempfile.gettempdir()) / "microdesk-pg-install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = _initdb_found()
            if not found:
                _apt_install()
                found = _initdb_found()
    if not found:
        raise Unavailable(
            "no server binaries (apt-get install postgresql), CI is not set, "
            f"and {URL_ENV} names no server"
        )
    return Path(found[-1]).parent


def _initdb_found() -> list[str]:
    return sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _apt_install() -> None:
    if os.geteuid() != 0:
        raise Unavailable("CI is set but this is not root, so apt-get cannot install postgresql")
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Unavailable(f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    log.warning("installed postgresql in %.0f s", time.monotonic() - started)


class Cluster:
    """initdb + pg_ctl in a temp dir; as root, run as the postgres user."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="microdesk-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: list[str] = []

    def start(self) -> Server:
        started = time.monotonic()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log_file = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log_file, "-w", "start")
        log.warning("PostgreSQL cluster ready in %.1f s", time.monotonic() - started)
        return Server(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except Unavailable as exc:
            log.warning("could not stop the test cluster: %s", exc)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-300:]
            raise Unavailable(f"{program} failed: {tail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
