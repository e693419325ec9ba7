"""Backups and restore on real SQLite files: every table round-trips, copies are consistent under
a writer, damaged files are refused with nothing changed, secrets stay out, rotation, weekly."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zipfile
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.commands.build import Conversation, build_conversation
from bot.commands.reply import Reply
from bot.config import Settings
from bot.db.backups import BackupLog
from bot.db.engine import integrity_ok, make_engine
from bot.db.models import Task, TaskCompletion
from bot.errors import MicrodeskError, UserInputError
from bot.services.backup.archive import unpack
from bot.services.backup.restore import IN_USE, DataLock, restore_backup
from bot.services.backup.service import INDEX_LOCK, file_integrity_ok
from tests.backup_helpers import (
    as_restored,
    dump,
    empty_every_table,
    fill_every_table,
    fingerprint,
    members,
    repack,
)
from tests.conftest import TOKEN, make_settings


def _many_tasks(services: Services, count: int) -> None:
    now = services.clock.now()
    row = {"title": "x" * 200, "has_time": False, "status": "open"}
    with services.engine.begin() as conn:
        conn.execute(insert(Task), [{**row, "created_at": now, "updated_at": now}] * count)


def test_restore_round_trips_every_table(services: Services, settings: Settings) -> None:
    tables = fill_every_table(services.engine)
    assert {"tasks", "task_completions", "reminder_log", "backup_log", "settings"} <= set(tables)
    before = dump(services.engine)
    assert all(before[name] for name in tables), "every table holds a row before the backup"

    info = services.backups.create()
    empty_every_table(services.engine)  # what happens after the backup is undone by the restore
    services.tasks.add("Written after the backup tomorrow")
    services.close()

    result = restore_backup(info.path, settings)

    engine = make_engine(settings.database_url)
    assert dump(engine) == as_restored(before)
    assert integrity_ok(engine)
    engine.dispose()
    assert result.previous == settings.DATA_DIR / "microdesk.db.before-restore"
    with closing(sqlite3.connect(result.previous)) as kept:
        assert kept.execute("SELECT title FROM tasks").fetchall() == [("Written after the backup",)]


def test_backup_while_a_writer_keeps_inserting_is_consistent(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    row = {"title": "x" * 200, "has_time": False, "status": "open"}
    _many_tasks(services, 20_000)  # enough pages that the copy takes a while
    written, stop = [0], threading.Event()

    def writer() -> None:  # each transaction adds a task and its completion: always in pairs
        engine = make_engine(settings.database_url)
        while not stop.is_set():
            with engine.begin() as conn:
                inserted = conn.execute(
                    insert(Task).values(**row, created_at=now, updated_at=now)
                ).inserted_primary_key
                assert inserted is not None
                task = inserted[0]
                conn.execute(insert(TaskCompletion).values(task_id=task, title="x", done_at=now))
            written[0] += 1
        engine.dispose()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 5:
            stop.wait(0.005)
        at_start = written[0]
        info = services.backups.create()
        at_end = written[0]
    finally:
        stop.set()
        thread.join()

    assert at_end > at_start, "the writer kept committing while the backup ran"
    unpack(info.path, tmp_path / "out")
    copy = tmp_path / "out" / "microdesk.db"
    assert file_integrity_ok(copy)
    with closing(sqlite3.connect(copy)) as conn:
        tasks = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
        done = conn.execute("SELECT count(*) FROM task_completions").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert tasks - 20_000 == done, "a transaction was copied in half"
    assert at_start <= done <= at_end + 1
    assert mode == "delete"  # one self-contained file, no WAL beside it


def _flip_in_database(archive: Path) -> bytes:
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("microdesk.db")
    raw[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF
    return bytes(raw)


def _replace_db(archive: Path, change: Callable[[Path], None], tmp: Path) -> bytes:
    parts = members(archive)
    db = tmp / "edit.db"
    db.write_bytes(parts["microdesk.db"])
    change(db)
    return repack({**parts, "microdesk.db": db.read_bytes()}, fix_manifest=True)


def _one_letter_changed(parts: dict[str, bytes]) -> bytes:
    db = parts["microdesk.db"]
    at = db.index(b"x" * 200)
    return db[:at] + b"y" + db[at + 1 :]  # a task title: still a valid database, same size


def _listed_escape(archive: Path) -> bytes:
    parts = members(archive)
    manifest = json.loads(parts["manifest.json"])
    manifest["files"].append({"path": "../../evil.db", "size": 1, "sha256": "0" * 64})
    return repack({**parts, "manifest.json": json.dumps(manifest).encode(), "../../evil.db": b"x"})


def _newer_schema(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(  # one row: with migration branches there is a row per head
            "UPDATE alembic_version SET version_num = '9999'"
            " WHERE rowid = (SELECT min(rowid) FROM alembic_version)"
        )
        conn.commit()


def _broken_pages(db: Path) -> None:
    raw = bytearray(db.read_bytes())
    page = 4096
    for n in range(2, len(raw) // page):
        raw[n * page : n * page + 100] = b"\x07" * 100
    db.write_bytes(bytes(raw))


BAD_FILES: dict[str, tuple[Callable[[Path, Path], bytes], str]] = {
    "truncated": (lambda a, t: a.read_bytes()[: a.stat().st_size // 2], "damaged or incomplete"),
    "flipped byte": (lambda a, t: _flip_in_database(a), "damaged"),
    "not a zip": (lambda a, t: b"PK but not really " * 50, "damaged or incomplete"),
    "foreign zip": (lambda a, t: repack({"notes.txt": b"hello"}), "not a microdesk backup"),
    "checksum": (
        lambda a, t: repack({**members(a), "microdesk.db": b"SQLite format 3\0" + b"0" * 5000}),
        "does not match its checksum",
    ),
    "same size, other bytes": (
        lambda a, t: repack({**members(a), "microdesk.db": _one_letter_changed(members(a))}),
        "does not match its checksum",
    ),
    "extra member": (lambda a, t: repack({**members(a), "../evil.db": b"x"}), "not a microdesk"),
    "path escape": (lambda a, t: _listed_escape(a), "not a microdesk backup"),
    "newer schema": (lambda a, t: _replace_db(a, _newer_schema, t), "newer version"),
    "failing integrity": (lambda a, t: _replace_db(a, _broken_pages, t), "integrity check"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_backup_is_refused_in_one_sentence_and_nothing_changes(
    kind: str, services: Services, settings: Settings, tmp_path: Path
) -> None:
    _many_tasks(services, 300)
    info = services.backups.create()
    services.tasks.add("After the backup tomorrow")
    services.close()
    make, expected = BAD_FILES[kind]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(make(info.path, tmp_path))
    before = fingerprint(settings.DATA_DIR)

    with pytest.raises(UserInputError) as refused:
        restore_backup(bad, settings)

    message = str(refused.value)
    assert expected in message
    assert message.endswith(".") and "\n" not in message and str(tmp_path) not in message
    assert fingerprint(settings.DATA_DIR) == before


def test_an_intact_backup_still_restores_after_those_checks(
    services: Services, settings: Settings
) -> None:
    services.tasks.add("Pay rent tomorrow")
    info = services.backups.create()
    services.tasks.add("Later task tomorrow")
    services.close()
    restore_backup(info.path, settings)
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        assert conn.scalars(select(Task.title)).all() == ["Pay rent"]
    engine.dispose()


def test_restore_is_refused_while_microdesk_runs(services: Services, settings: Settings) -> None:
    info = services.backups.create()
    running = DataLock(settings.DATA_DIR / "microdesk.db")
    assert running.acquire(exclusive=False)
    try:
        with pytest.raises(UserInputError, match="stop the bot"):
            restore_backup(info.path, settings)
    finally:
        running.release()
    assert IN_USE.endswith(".")


def test_secrets_and_settings_never_go_into_a_backup(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-secret-key-000000000000000000"
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n")  # read into the settings
    data = tmp_path / "data"
    services = build_services(make_settings(data), clock)
    services.prefs.set_timezone("Europe/Vienna")
    for where in (data / ".env", data / "index" / ".env", data / "index" / "x" / ".env.local"):
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nOPENAI_API_KEY={key}\n")
    (data / "index" / "vectors.bin").write_bytes(b"\x01\x02")

    info = services.backups.create()
    services.close()

    parts = members(info.path)
    assert sorted(parts) == ["index/vectors.bin", "manifest.json", "microdesk.db"]
    for content in parts.values():
        assert TOKEN.encode() not in content and key.encode() not in content
    manifest = json.loads(parts["manifest.json"])
    assert set(manifest) == {
        "format",
        "format_version",
        "created_at",
        "app_version",
        "schema_revision",
        "index",
        "files",
    }
    assert str(tmp_path) not in parts["manifest.json"].decode()
    assert manifest["created_at"] == clock.now().isoformat()


def test_a_live_chroma_index_is_copied_and_restores(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(settings.DATA_DIR / "index"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection("chunks", embedding_function=None)
    collection.add(ids=["1", "2", "3"], embeddings=[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])  # type: ignore[arg-type]
    writing = threading.Event()

    def ingest() -> None:  # an ingest holds INDEX_LOCK while it writes: the backup waits
        with INDEX_LOCK:
            writing.set()
            time.sleep(0.3)
            collection.add(ids=["4"], embeddings=[[0.6, 0.8, 0]])  # type: ignore[arg-type]

    thread = threading.Thread(target=ingest)
    thread.start()
    writing.wait()
    info = services.backups.create()
    thread.join()
    names = set(members(info.path))
    assert "index/chroma.sqlite3" in names
    assert not any(n.endswith(("-wal", "-shm", "-journal")) for n in names)

    elsewhere = make_settings(tmp_path / "other")
    restore_backup(info.path, elsewhere)
    restored = chromadb.PersistentClient(
        path=str(elsewhere.DATA_DIR / "index"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    again = restored.get_collection("chunks", embedding_function=None)
    assert again.count() == 4
    hits = again.query(query_embeddings=[[0, 0.9, 0.1]], n_results=1)  # type: ignore[arg-type]
    assert hits["ids"] == [["2"]]


def test_rotation_keeps_the_newest_eight(services: Services, clock: FrozenClock) -> None:
    folder = services.settings.DATA_DIR / "backups"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("the owner's own file")
    made = []
    for _ in range(11):
        made.append(services.backups.create().path.name)
        clock.advance(timedelta(minutes=1))
    made.append(services.backups.create().path.name)  # same second as the next: a new name
    made.append(services.backups.create().path.name)
    assert made[-1] != made[-2]
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([*made[-8:], "notes.txt"])


def zips(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.zip")}


async def tick_without_backup(
    conversation: Conversation, send: Callable[[Reply], Awaitable[None]], folder: Path
) -> bool:
    await conversation.run_tick(send)
    return not zips(folder)


async def test_weekly_backup_once_per_iso_week_from_the_scheduler_tick(
    services: Services, settings: Settings, clock: FrozenClock
) -> None:
    folder = settings.DATA_DIR / "backups"
    sent: list[Reply] = []

    async def send(reply: Reply) -> None:
        sent.append(reply)

    conversation = build_conversation(services)
    assert await tick_without_backup(conversation, send, folder)  # the first minute after start
    services.backups.weekly_not_before = 0.0

    async def tick() -> set[str]:
        await conversation.run_tick(send)
        return zips(folder)

    first = await tick()  # Wednesday 25 Nov 2026: week 48
    assert len(first) == 1
    assert await tick() == first
    clock.set(datetime(2026, 11, 29, 22, 30, tzinfo=UTC))  # Sunday 23:30 in Berlin: still W48
    assert await tick() == first

    restarted = build_services(settings, clock)  # the ledger survives a restart
    restarted.backups.weekly_not_before = 0.0
    assert await build_conversation(restarted).run_tick(send) >= 0
    assert zips(folder) == first

    clock.set(datetime(2026, 11, 29, 23, 30, tzinfo=UTC))  # Monday 00:30 in Berlin: W49
    assert len(await tick()) == 2
    assert len(await tick()) == 2
    with services.sessions() as session:
        weeks = session.scalars(select(BackupLog.week)).all()
    assert sorted(weeks) == ["2026-W48", "2026-W49"]
    assert all("weekly backup" not in r.text for r in sent)  # success is silent
    restarted.close()


async def test_weekly_backup_failure_is_told_once_and_retried_after_an_hour(
    services: Services, settings: Settings, clock: FrozenClock
) -> None:
    blocker = settings.DATA_DIR / "backups"
    blocker.write_text("a file where the backups folder should be")
    services.backups.weekly_not_before = 0.0
    notices = [await services.backups.weekly_if_due() for _ in range(3)]
    assert notices[0] is not None and "weekly backup did not work" in notices[0].text
    assert notices[0].week == "2026-W48"
    assert notices[1:] == [None, None]
    clock.advance(timedelta(minutes=61))
    assert await services.backups.weekly_if_due() is None  # failed again: not told twice
    blocker.unlink()
    clock.advance(timedelta(minutes=61))
    assert await services.backups.weekly_if_due() is None
    assert len(list(blocker.glob("microdesk-*.zip"))) == 1


def test_backup_covers_sqlite_and_postgresql_only(tmp_path: Path, clock: FrozenClock) -> None:
    from bot.services.backup.service import DataPaths

    settings = make_settings(tmp_path, DATABASE_URL="mysql://u:p@127.0.0.1:1/microdesk")
    with pytest.raises(MicrodeskError, match="SQLite and PostgreSQL databases only"):
        DataPaths.of(settings)
    with pytest.raises(MicrodeskError, match="SQLite and PostgreSQL databases only"):
        restore_backup(tmp_path / "any.zip", settings)
