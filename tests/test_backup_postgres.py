"""Backups of a PostgreSQL database: real pg_dump / pg_restore / psql against the test server
(tests/pg.py), through the real bot, the scheduled backup to a target, and `microdesk restore`.

The database role has a password and, where the test cluster is ours, must sign in with it
(scram-sha-256 for that role): the client tools only work when the password reaches them
(through the 0600 passfile), and it must never show in argv, logs, messages or the archive.
"""

from __future__ import annotations

import logging
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from rich.console import Console
from sqlalchemy import text

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.console.backup import restore_command
from bot.console.doctor import check_pg_dump
from bot.db.calendar import CalendarLink, CalendarState
from bot.errors import MicrodeskError, UserInputError
from bot.services.backup.postgres import Postgres, explain
from bot.services.backup.postgres_load import trial_restore
from bot.services.backup.restore import restore_backup
from tests.conftest import OWNER, make_settings, running
from tests.fakes.botapi import FakeBotAPI
from tests.pg import EMPTY_SCHEMA, TEST_DB, Server

ROLE = "microdesk_backup_role"
PASSWORD = "pg-S3cret:with\\odd@chars/%"
PASSPHRASE = "correct horse battery staple"
MISSING_DUMP = (
    "Backups of a PostgreSQL database need pg_dump; install the PostgreSQL client tools "
    "(Debian: postgresql-client)."
)


def _admin(server: Server, database: str = "postgres") -> psycopg.Connection[Any]:
    dsn = server.url(database).replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=10)


@pytest.fixture(scope="module")
def role(postgres_server: Server) -> Iterator[str]:
    """A login role with a password (and CREATEDB), made to sign in with it where we can."""
    with _admin(postgres_server) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(f"{verb} ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'".encode())
        hba = Path(str(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
        rule = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
        ours = hba.is_file()  # the throwaway cluster of tests/pg.py: the file is here
        if ours:
            hba.write_text(rule + hba.read_text())
            conn.execute("SELECT pg_reload_conf()")
    if ours:  # from now on the tools only get in with the password
        host = postgres_server.base.rsplit("@", 1)[1]
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://{ROLE}@{host}/postgres", connect_timeout=10)
    yield ROLE
    if ours:
        hba.write_text(hba.read_text().replace(rule, ""))
    with _admin(postgres_server) as conn:
        conn.execute("SELECT pg_reload_conf()")


@pytest.fixture
def pg_url(postgres_server: Server, role: str) -> str:
    """The test database, emptied, its schema open to the role; a URL with the password."""
    postgres_server.sql(EMPTY_SCHEMA, database=TEST_DB)
    postgres_server.sql(f"GRANT ALL ON SCHEMA public TO {role}", database=TEST_DB)
    host = postgres_server.base.rsplit("@", 1)[1]
    return f"postgresql+psycopg://{role}:{quote(PASSWORD, safe='')}@{host}/{TEST_DB}"


def pg_settings(tmp_path: Path, url: str, **more: str) -> Settings:
    return make_settings(tmp_path / "data", DATABASE_URL=url, **more)


def titles(services: Services) -> list[str]:
    return sorted(t.title for t in services.tasks.list())


def no_password_in(*texts: str) -> None:
    for value in texts:
        assert PASSWORD not in value and quote(PASSWORD, safe="") not in value


@pytest.fixture
def argv_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The command lines of every program run (the real programs still run)."""
    seen: list[str] = []
    real = subprocess.run

    def spy(args: list[str], *more: Any, **options: Any) -> Any:
        seen.append(" ".join(map(str, args)))
        return real(args, *more, **options)

    monkeypatch.setattr(subprocess, "run", spy)
    return seen


async def test_backup_through_the_bot_restores_after_changes(
    tmp_path: Path,
    pg_url: str,
    botapi: FakeBotAPI,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    argv_seen: list[str],
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: Server,
    role: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = pg_settings(tmp_path, pg_url, TELEGRAM_API_BASE_URL=botapi.base_url)
    services = build_services(settings, clock)
    services.tasks.add("File VAT return friday")
    services.tasks.add("Renew licence monday")
    async with running(services):
        with monkeypatch.context() as without_tools:
            without_tools.setenv("PATH", str(tmp_path))  # no PostgreSQL client tools there
            botapi.send_message("/backup", user_id=OWNER)
            await botapi.wait_for_message(OWNER, contains=MISSING_DUMP)
        assert not list((settings.DATA_DIR / "backups").glob("microdesk-*"))
        botapi.send_message("/backup", user_id=OWNER)
        [sent] = await botapi.wait_for(
            lambda: [m for m in botapi.bot_messages(OWNER) if "document" in m], what="a backup"
        )
        archive = tmp_path / "received.zip"
        document = sent["document"]
        assert isinstance(document, dict)
        archive.write_bytes(botapi.file_bytes(str(document["file_id"])))
        messages = [str(m) for m in botapi.bot_messages(OWNER)]
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == ["manifest.json", "microdesk.pgdump"]
        manifest = opened.read("manifest.json").decode()
        everything = b"".join(opened.read(name) for name in opened.namelist())
    assert '"engine": "postgresql"' in manifest and '"tasks": 2' in manifest
    assert PASSWORD.encode() not in everything and ROLE not in manifest
    assert any("pg_dump" in line for line in argv_seen)
    elsewhere = make_settings(tmp_path / "sqlite")  # not into SQLite: one sentence, nothing made
    with pytest.raises(UserInputError, match="holds a postgresql database, but DATABASE_URL is"):
        restore_backup(archive, elsewhere)
    assert not (elsewhere.DATA_DIR / "microdesk.db").exists()
    with zipfile.ZipFile(archive) as opened:  # a trial restore that finds other rows is refused
        dumped = Path(opened.extract("microdesk.pgdump", tmp_path))
    with pytest.raises(MicrodeskError, match="does not hold the rows"):
        trial_restore(Postgres.of(pg_url), dumped, {"tasks": 3}, tmp_path)
    postgres_server.sql(f"ALTER ROLE {role} NOCREATEDB")
    try:  # a role that may not create databases: no trial restore, nothing made
        assert trial_restore(Postgres.of(pg_url), dumped, {"tasks": 3}, tmp_path) is False
    finally:
        postgres_server.sql(f"ALTER ROLE {role} CREATEDB")

    changed = build_services(settings, clock)  # rows changed after the backup
    [vat, _] = sorted(changed.tasks.list(), key=lambda t: t.title)
    changed.tasks.delete(vat.id)
    changed.tasks.add("Added after the backup tuesday")
    changed.close()

    console = Console(record=True, width=200)
    assert restore_command(settings, str(archive), console, confirmed=True) == 0
    out = console.export_text()
    assert "Restored the backup" in out and "microdesk.pgdump.before-restore" in out
    restored = build_services(settings, clock)
    assert titles(restored) == ["File VAT return", "Renew licence"]
    restored.close()
    assert (settings.DATA_DIR / "microdesk.pgdump.before-restore").stat().st_size > 0
    no_password_in(out, *messages, *argv_seen, *(r.getMessage() for r in caplog.records))


@pytest.fixture
def target_services(tmp_path: Path, pg_url: str, clock: FrozenClock) -> Iterator[Services]:
    more = {"BACKUP_TARGET": str(tmp_path / "nas"), "BACKUP_PASSPHRASE": PASSPHRASE}
    built = build_services(pg_settings(tmp_path, pg_url, **more), clock)
    built.backups.weekly_not_before = 0.0
    yield built
    built.close()


def scratch_databases(server: Server) -> list[str]:
    with _admin(server) as conn:
        found = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'microdesk_v%'")
        return [str(row[0]) for row in found]


async def test_scheduled_backup_is_verified_and_a_bad_restore_changes_nothing(
    tmp_path: Path,
    target_services: Services,
    postgres_server: Server,
    role: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    services, settings = target_services, target_services.settings
    services.tasks.add("Quarterly report friday")
    with services.engine.begin() as conn:  # an active contractor, revoked after the backup
        conn.execute(
            text(
                "INSERT INTO contractors (name, tg_user_id, status, daily, joined_at, "
                "last_active_at) VALUES ('anna', 42, 'active', false, :at, :at)"
            ),
            {"at": datetime(2026, 11, 1, tzinfo=UTC)},
        )
    with services.sessions.begin() as session:  # the calendar sync state of the backup's day
        at = datetime(2026, 11, 1, tzinfo=UTC)
        session.add(CalendarState(id=1, target="t", sync_token="token-of-the-day"))
        session.add(CalendarLink(uid="u", task_id=1, href="/e", fingerprint="f", synced_at=at))
    assert await services.backups.weekly_if_due() is None
    [name] = [p.name for p in (tmp_path / "nas").iterdir()]
    assert name.endswith(".zip.age")
    audit = [e.detail for e in services.audit.page(None, None, 5).entries]
    assert any("trial restore into a scratch database" in str(d) for d in audit)
    assert scratch_databases(postgres_server) == []

    services.tasks.add("Added after the backup monday")
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE contractors SET status = 'revoked', revoked_at = now()"))
    after = titles(services)
    console = Console(record=True, width=200)

    assert restore_command(settings, name, console, lambda: "wrong", confirmed=True) == 1
    assert "cannot be opened with that passphrase" in console.export_text()
    sealed = tmp_path / "nas" / name
    good = sealed.read_bytes()
    sealed.write_bytes(good[:-40] + bytes(b ^ 1 for b in good[-40:]))
    assert restore_command(settings, name, console, lambda: PASSPHRASE, confirmed=True) == 1
    sealed.write_bytes(good)
    postgres_server.sql(f"REVOKE CREATE ON SCHEMA public FROM {role}", database=TEST_DB)
    try:  # fails after every table was dropped: the one transaction rolls all of it back
        assert restore_command(settings, name, console, lambda: PASSPHRASE, confirmed=True) == 1
    finally:
        postgres_server.sql(f"GRANT CREATE ON SCHEMA public TO {role}", database=TEST_DB)
    assert "psql failed: permission denied for schema public." in console.export_text()
    assert titles(services) == after

    assert restore_command(settings, name, console, lambda: PASSPHRASE, confirmed=True) == 0
    assert titles(services) == ["Quarterly report"]
    with services.engine.connect() as conn:
        assert conn.scalar(text("SELECT status FROM contractors")) == "revoked"
        # the restored tasks win over the calendar: its links and sync token are forgotten
        assert conn.scalar(text("SELECT count(*) FROM calendar_links")) == 0
        assert conn.scalar(text("SELECT sync_token FROM calendar_state")) is None
        assert conn.scalar(text("SELECT target FROM calendar_state")) == "t"
    no_password_in(console.export_text(), *(r.getMessage() for r in caplog.records))


async def test_without_pg_dump_the_owner_is_told_once_and_nothing_counts(
    tmp_path: Path, target_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no PostgreSQL client tools there
    services = target_services
    notice = await services.backups.weekly_if_due()
    assert notice is not None and MISSING_DUMP in notice.text
    assert await services.backups.weekly_if_due() is None  # told once
    assert any(MISSING_DUMP in line for line in services.backups.status_lines())
    assert not (tmp_path / "nas").exists() or list((tmp_path / "nas").iterdir()) == []
    assert services.backups.newest_verified() is None
    check = check_pg_dump(services.settings)
    assert not check.ok and check.detail == MISSING_DUMP
    monkeypatch.undo()
    check = check_pg_dump(services.settings)
    assert check.ok and "pg_dump" in check.detail
    no_password_in(check.detail, check.fix)


def test_a_server_newer_than_pg_dump_gets_one_sentence(pg_url: str) -> None:
    stderr = (
        "pg_dump: error: aborting because of server version mismatch\n"
        "pg_dump: detail: server version: 17.2; pg_dump version: 15.18\n"
    )
    assert explain("pg_dump", stderr) == (
        "The PostgreSQL server is version 17 but pg_dump is version 15, which cannot back it "
        "up; install the PostgreSQL 17 client tools (Debian: postgresql-client-17)."
    )
    newer = "pg_restore: error: unsupported version (1.99) in file header\n"
    assert explain("pg_restore", newer).startswith("This backup was made by a newer pg_dump")
    said = Postgres.of(pg_url).scrub(f"could not connect: {pg_url} ({PASSWORD})")
    assert ROLE in said and TEST_DB in said
    no_password_in(said, Postgres.of(pg_url).conninfo(None), str(Postgres.of(pg_url)))
