"""Backups that leave the box: a real WebDAV server (wsgidav) or a folder as BACKUP_TARGET,
encrypted with BACKUP_PASSPHRASE, verified by reading back, rotated, restored from the target."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.commands.build import build_conversation
from bot.config import Settings
from bot.console.backup import restore_command
from bot.console.doctor import check_backup_target
from bot.db.backups import BackupLog
from bot.db.engine import make_engine
from bot.errors import SettingsError
from bot.services.backup.sealed import MAGIC
from bot.services.backup.service import NAME
from tests.backup_helpers import as_restored, dump, fill_every_table, fingerprint
from tests.conftest import make_settings
from tests.webdav_server import WebDAVServer, free_port, webdav_server

PASSPHRASE = "correct horse battery staple"
PASSWORD = "dav-secret-pw"


@pytest.fixture
def share(tmp_path: Path) -> Iterator[WebDAVServer]:
    with webdav_server(tmp_path / "share", password=PASSWORD) as server:
        yield server


def dav_settings(tmp_path: Path, url: str, **more: str) -> Settings:
    values = {
        "BACKUP_TARGET": url,
        "BACKUP_USERNAME": "owner",
        "BACKUP_PASSWORD": PASSWORD,
        "BACKUP_PASSPHRASE": PASSPHRASE,
    }
    return make_settings(tmp_path / "data", **{**values, **more})


@pytest.fixture
def dav(tmp_path: Path, share: WebDAVServer, clock: FrozenClock) -> Iterator[Services]:
    built = build_services(dav_settings(tmp_path, share.url), clock)
    built.backups.weekly_not_before = 0.0
    fill_every_table(built.engine)
    yield built
    built.close()


def on_share(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "share").iterdir())


def backups_on_share(tmp_path: Path) -> list[str]:
    return [n for n in on_share(tmp_path) if NAME.match(n)]


def restore(settings: Settings, source: str, passphrase: str) -> tuple[int, str]:
    console = Console(record=True, width=200)
    code = restore_command(settings, source, console, ask=lambda: passphrase, confirmed=True)
    return code, console.export_text()


async def test_a_scheduled_backup_goes_encrypted_to_webdav_and_restores_from_there(
    tmp_path: Path, dav: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = dump(dav.engine)
    assert await dav.backups.weekly_if_due() is None
    [name] = backups_on_share(tmp_path)
    assert name.endswith(".zip.age")
    sealed = (tmp_path / "share" / name).read_bytes()
    assert sealed.startswith(MAGIC)
    assert b"SQLite format 3" not in sealed  # nothing readable leaves the box
    assert not [n for n in on_share(tmp_path) if n.endswith(".partial")]
    with dav.sessions() as session:
        row = session.scalars(select(BackupLog).where(BackupLog.week == "2026-W48")).one()
    assert (row.week, row.target, row.file_name) == (
        "2026-W48",
        dav.backups.target.describe(),
        name,
    )
    assert PASSWORD not in (row.target or "")

    with dav.engine.begin() as conn:  # the data changes after the backup
        conn.exec_driver_sql("DELETE FROM tasks")
    dav.close()
    code, out = restore(dav.settings, name, PASSPHRASE)
    assert code == 0, out
    assert "Restored the backup" in out
    after = dump(make_engine(dav.settings.database_url))
    *kept, record = after["audit_log"]  # the restore itself is the one new audit entry
    assert "restored" in record and {**after, "audit_log": kept} == as_restored(before)
    for secret in (PASSWORD, PASSPHRASE):
        assert secret not in caplog.text
        assert secret not in out


async def test_a_wrong_passphrase_or_a_damaged_file_is_refused_and_nothing_changes(
    tmp_path: Path, dav: Services
) -> None:
    assert await dav.backups.weekly_if_due() is None
    [name] = backups_on_share(tmp_path)
    dav.close()
    data = dav.settings.DATA_DIR
    untouched = fingerprint(data)

    code, out = restore(dav.settings, name, "not the passphrase")
    assert code == 1
    assert out.strip().count(".") == 1 and "passphrase" in out  # one sentence
    assert fingerprint(data) == untouched

    on_target = tmp_path / "share" / name
    whole = on_target.read_bytes()
    on_target.write_bytes(whole[: len(whole) // 2])  # truncated on the target
    code, out = restore(dav.settings, name, PASSPHRASE)
    assert code == 1 and "damaged" in out
    tampered = bytearray(whole)
    tampered[len(tampered) // 2] ^= 0x01  # one bit flipped in the ciphertext
    on_target.write_bytes(bytes(tampered))
    code, out = restore(dav.settings, name, PASSPHRASE)
    assert code == 1 and "damaged" in out
    assert fingerprint(data) == untouched

    code, out = restore(dav.settings, "microdesk-20990101-000000.zip.age", PASSPHRASE)
    assert code == 1 and "There is no backup named" in out and "BACKUP_TARGET" in out


async def test_a_target_that_fills_up_mid_write_counts_nothing_and_says_so(
    tmp_path: Path, clock: FrozenClock
) -> None:
    with webdav_server(tmp_path / "share", password=PASSWORD, quota=2_000) as full:
        services = build_services(dav_settings(tmp_path, full.url), clock)
        services.backups.weekly_not_before = 0.0
        fill_every_table(services.engine)
        notice = await services.backups.weekly_if_due()
        assert (
            notice is not None and "did not work" in notice.text and "BACKUP_TARGET" in notice.text
        )
        assert backups_on_share(tmp_path) == []  # at most a .partial: never a good-looking name
        with services.sessions() as session:
            assert session.get(BackupLog, "2026-W48") is None
        lines = services.backups.status_lines()
        assert any("failed" in line for line in lines)
        assert any("no verified backup" in line for line in lines)
        services.close()


async def test_a_copy_that_does_not_read_back_intact_is_removed_and_not_counted(
    tmp_path: Path, clock: FrozenClock
) -> None:
    with webdav_server(tmp_path / "share", password=PASSWORD, quota=2_000, silent=True) as bad:
        services = build_services(dav_settings(tmp_path, bad.url), clock)
        services.backups.weekly_not_before = 0.0
        notice = await services.backups.weekly_if_due()
        assert notice is not None and "did not read back intact" in notice.text
        assert on_share(tmp_path) == []  # the bad copy was removed again
        with services.sessions() as session:
            assert session.get(BackupLog, "2026-W48") is None
        services.close()


async def test_the_target_down_is_told_once_retried_and_the_briefing_nags_until_it_works(
    tmp_path: Path, share: WebDAVServer, clock: FrozenClock
) -> None:
    services = build_services(dav_settings(tmp_path, share.url), clock)
    services.backups.weekly_not_before = 0.0
    conversation = build_conversation(services)
    share.stop()
    notice = await services.backups.weekly_if_due()
    assert notice is not None and "cannot be reached" in notice.text
    assert PASSWORD not in notice.text
    clock.advance(timedelta(minutes=61))
    assert await services.backups.weekly_if_due() is None  # failed again: told once
    briefing = conversation.briefing.render().text
    assert "Backups" in briefing and "no verified backup" in briefing

    share.start()
    clock.advance(timedelta(minutes=61))
    assert await services.backups.weekly_if_due() is None
    assert len(backups_on_share(tmp_path)) == 1
    assert services.backups.status_lines() == []
    assert "Backups" not in conversation.briefing.render().text

    clock.advance(timedelta(days=8))  # the next week's backup has not run: overdue every day
    for _ in range(2):
        assert any("older than BACKUP_EVERY" in line for line in services.backups.status_lines())
        clock.advance(timedelta(days=1))
    services.close()


async def test_the_target_keeps_the_newest_backup_keep(tmp_path: Path, clock: FrozenClock) -> None:
    nas = tmp_path / "share"  # a mounted share: no passphrase needed, so no scrypt per backup
    settings = make_settings(
        tmp_path / "data", BACKUP_TARGET=str(nas), BACKUP_EVERY="daily", BACKUP_KEEP="3"
    )
    services = build_services(settings, clock)
    services.backups.weekly_not_before = 0.0
    (nas / "microdesk-20261101-000000.zip.partial").parent.mkdir(parents=True)
    (nas / "microdesk-20261101-000000.zip.partial").write_bytes(b"cut short")
    (nas / "notes.txt").write_text("the owner's own file")
    made = []
    for _ in range(5):
        assert await services.backups.weekly_if_due() is None
        made.append(backups_on_share(tmp_path)[-1])
        clock.advance(timedelta(days=1))
    assert backups_on_share(tmp_path) == made[-3:]
    assert on_share(tmp_path) == sorted([*made[-3:], "notes.txt"])  # leftover swept, rest kept
    with services.sessions() as session:
        days = session.scalars(select(BackupLog.week).where(BackupLog.target.is_not(None))).all()
    assert sorted(days) == [f"2026-11-{d}" for d in range(25, 30)]  # one per day
    services.close()


async def test_a_mounted_share_folder_as_target_without_a_passphrase(
    tmp_path: Path, clock: FrozenClock
) -> None:
    nas = tmp_path / "nas"
    services = build_services(make_settings(tmp_path / "data", BACKUP_TARGET=str(nas)), clock)
    services.backups.weekly_not_before = 0.0
    assert await services.backups.weekly_if_due() is None
    [name] = [p.name for p in nas.iterdir()]
    assert NAME.match(name) and name.endswith(".zip")
    assert not (tmp_path / "data" / "backups").exists()  # the target, not the box
    services.close()


def test_doctor_checks_the_target_and_names_the_setting(
    tmp_path: Path, share: WebDAVServer
) -> None:
    good = check_backup_target(dav_settings(tmp_path, share.url))
    assert good.ok and "writable" in good.detail
    assert on_share(tmp_path) == []  # the probe is gone again

    wrong = check_backup_target(dav_settings(tmp_path, share.url, BACKUP_PASSWORD="nope"))
    assert not wrong.ok and "BACKUP_PASSWORD" in wrong.detail
    down = check_backup_target(dav_settings(tmp_path, f"http://127.0.0.1:{free_port()}/"))
    assert not down.ok and "cannot be reached" in down.detail and "BACKUP_TARGET" in down.detail
    in_url = share.url.replace("http://", f"http://owner:{PASSWORD}@")
    inline = dav_settings(tmp_path, in_url, BACKUP_USERNAME="", BACKUP_PASSWORD="")
    found = check_backup_target(inline)
    assert found.ok and PASSWORD not in found.detail
    assert PASSWORD in inline.secrets()
    unset = check_backup_target(make_settings(tmp_path))
    assert unset.skipped


def test_settings_refuse_an_unencrypted_webdav_target_and_a_bad_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BACKUP_PASSPHRASE: required"):
        make_settings(tmp_path, BACKUP_TARGET="https://cloud.example/dav/")
    with pytest.raises(SettingsError, match="BACKUP_TARGET"):
        make_settings(tmp_path, BACKUP_TARGET="ftp://nas/backups", BACKUP_PASSPHRASE="x")
    with pytest.raises(SettingsError, match="BACKUP_EVERY"):
        make_settings(tmp_path, BACKUP_EVERY="hourly")
