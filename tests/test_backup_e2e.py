"""/backup through the real Application over the fake Bot API, and the CLI verbs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import build_services
from bot.clock import FrozenClock
from bot.commands import backup as backup_commands
from bot.services.backup.restore import DataLock, restore_backup
from bot.tg.app import TelegramAdapter
from tests.conftest import OWNER, make_settings
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.bot(data_dir="data")


def documents(botapi: FakeBotAPI) -> list[dict[str, object]]:
    return [m for m in botapi.bot_messages(OWNER) if "document" in m]


async def test_backup_command_sends_one_document_that_restores(
    bot: TelegramAdapter, botapi: FakeBotAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    bot.s.tasks.add("File VAT return every quarter due Jan 31")
    botapi.send_message("/backup", user_id=OWNER)
    [sent] = await botapi.wait_for(lambda: documents(botapi), what="a backup document")
    document = sent["document"]
    assert isinstance(document, dict)
    assert str(document["file_name"]).startswith("microdesk-")
    assert "microdesk restore" in str(sent["caption"])
    assert len(botapi.calls_to("sendDocument")) == 1

    received = tmp_path / "received.zip"
    received.write_bytes(botapi.file_bytes(str(document["file_id"])))
    elsewhere = make_settings(tmp_path / "restored")
    restore_backup(received, elsewhere)
    restored = build_services(elsewhere, clock)
    assert [t.title for t in restored.tasks.list()] == ["File VAT return"]
    restored.close()


async def test_a_backup_over_the_telegram_limit_is_kept_and_explained(
    bot: TelegramAdapter, botapi: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_commands, "TELEGRAM_LIMIT", 100)
    before = len(botapi.bot_messages(OWNER))
    botapi.send_message("/backup", user_id=OWNER)
    reply = await botapi.wait_for_message(OWNER, contains="50 MB", after=before)
    assert "backups folder" in reply["text"] and "/" not in reply["text"].split("folder")[1]
    assert documents(botapi) == []


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env here
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    for name in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return data


def test_cli_backup_and_restore(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    services = build_services(make_settings(cli_env))
    services.tasks.add("Renew licence friday")
    services.close()
    archive = cli_env.parent / "copy.zip"

    assert main(["backup", "--to", str(archive)]) == 0
    assert "Backup written" in capsys.readouterr().out

    services = build_services(make_settings(cli_env))
    services.tasks.add("Added after the backup friday")
    services.close()
    running = DataLock(cli_env / "microdesk.db")
    assert running.acquire(exclusive=False)
    assert main(["restore", str(archive), "--yes"]) == 1
    assert "stop the bot" in capsys.readouterr().out
    running.release()

    assert main(["restore", str(archive), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Restored the backup" in out and "microdesk.db.before-restore" in out
    services = build_services(make_settings(cli_env))
    assert [t.title for t in services.tasks.list()] == ["Renew licence"]
    services.close()


def test_cli_refuses_a_damaged_file_and_postgres_without_pg_dump(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = cli_env.parent / "junk.zip"
    junk.write_bytes(b"\x00" * 1000)
    assert main(["restore", str(junk), "--yes"]) == 1
    assert capsys.readouterr().out.strip() == (
        "microdesk: This backup cannot be read: the file is damaged or incomplete."
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/microdesk")
    monkeypatch.setenv("PATH", str(cli_env.parent))  # no PostgreSQL client tools there
    assert main(["backup"]) == 1
    assert capsys.readouterr().out.strip() == (
        "microdesk: Backups of a PostgreSQL database need pg_dump; install the PostgreSQL "
        "client tools (Debian: postgresql-client)."
    )
    assert main(["restore", str(junk), "--yes"]) == 1
    assert "needs pg_restore; install the PostgreSQL client tools" in capsys.readouterr().out
    assert not (cli_env / "backups").exists()
