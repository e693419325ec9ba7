"""Every start failure of `microdesk run` is one line naming the cause and the fix, exit code 1."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.app import build_services
from tests.conftest import OWNER, TOKEN, make_settings
from tests.fakes.botapi import FakeBotAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(tmp_path: Path, **settings: str) -> tuple[int, str]:
    """`microdesk run` with these settings; its exit code and its output (stderr included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "OWNER", "OPENAI"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        OWNER_TELEGRAM_ID=str(OWNER),
        DATA_DIR=str(tmp_path / "data"),
        KNOWLEDGE_DIR=str(tmp_path / "knowledge"),
    )
    env.update(settings)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=90,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def the_line(output: str) -> str:
    """The one line that says why; nothing like a traceback anywhere."""
    assert "Traceback" not in output and "Error:" not in output, output
    assert TOKEN not in output
    [line] = [x for x in output.splitlines() if x.startswith("microdesk: ")]
    return line


async def test_no_network_is_one_line(tmp_path: Path) -> None:
    code, out = await run(tmp_path, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}")
    assert code == 1
    assert "Cannot reach 127.0.0.1:" in the_line(out) and "internet connection" in the_line(out)


async def test_a_dns_failure_is_one_line(tmp_path: Path) -> None:
    code, out = await run(tmp_path, TELEGRAM_API_BASE_URL="http://api.telegram.invalid")
    assert code == 1
    assert the_line(out).startswith("microdesk: Cannot find api.telegram.invalid (the name lookup")


async def test_a_refused_token_is_one_line(tmp_path: Path) -> None:
    async with FakeBotAPI(token="4242:the-bots-real-token") as api:
        code, out = await run(tmp_path, TELEGRAM_API_BASE_URL=api.base_url)
    assert code == 1
    assert "Telegram refused the bot token" in the_line(out) and "microdesk setup" in out


async def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # what the webhook listens on: every interface
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeBotAPI(token=TOKEN) as api:
            code, out = await run(
                tmp_path,
                TELEGRAM_API_BASE_URL=api.base_url,
                WEBHOOK_URL="https://desk.example.invalid/tg",
                WEBHOOK_SECRET="s3cret",
                WEBHOOK_PORT=str(port),
            )
    assert code == 1
    assert f"Port {port} is already in use" in the_line(out) and "WEBHOOK_PORT" in out


async def test_an_unusable_data_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    code, out = await run(tmp_path, DATA_DIR=str(tmp_path / "a-file" / "data"))
    assert code == 1
    assert the_line(out).startswith("microdesk: DATA_DIR cannot be used:")
    assert "is a file, not a folder" in out


async def test_a_database_from_a_newer_version_is_one_line(tmp_path: Path) -> None:
    build_services(make_settings(tmp_path / "data")).close()
    with sqlite3.connect(tmp_path / "data" / "microdesk.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    async with FakeBotAPI(token=TOKEN) as api:
        code, out = await run(tmp_path, TELEGRAM_API_BASE_URL=api.base_url)
    assert code == 1
    line = the_line(out)
    assert "made by a newer version of microdesk (revision 9999)" in line
    assert "upgrade microdesk" in line
