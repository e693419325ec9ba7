"""`microdesk doctor` names each misconfiguration it is given, and passes on a good one.

The Telegram side is the fake Bot API; the AI endpoint is a tiny aiohttp server answering
GET /v1/models (or a closed port); the database is a real SQLite file, good or damaged.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import create_engine, text

from bot.app import build_services
from bot.config import Settings, load_settings
from bot.console.doctor import Check, run_checks, scrub
from tests.conftest import TOKEN, make_settings
from tests.fakes.botapi import FakeBotAPI

pytestmark = pytest.mark.asyncio
API_KEY = "sk-test-key-that-must-never-be-printed"
MODEL = "tiny-model"


class FakeModels:
    """GET /v1/models: the model list, only for the right key."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.keys: list[str] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        data = [{"id": m, "object": "model", "owned_by": "me"} for m in self.models]
        return web.json_response({"object": "list", "data": data})


@pytest.fixture
async def models() -> AsyncIterator[FakeModels]:
    server = FakeModels([MODEL, "other-model"])
    await server.start()
    yield server
    await server.stop()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def good(tmp_path: Path, botapi: FakeBotAPI, models: FakeModels) -> dict[str, str]:
    """Settings of a working install (database created and migrated)."""
    values = {
        "TELEGRAM_API_BASE_URL": botapi.base_url,
        "OPENAI_BASE_URL": models.base_url,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_MODEL": MODEL,
    }
    build_services(make_settings(tmp_path, **values)).close()
    return values


def loader(tmp_path: Path, values: dict[str, str], **changes: str) -> Callable[[], Settings]:
    return lambda: make_settings(tmp_path, **{**values, **changes})


async def check(load: Callable[[], Settings]) -> dict[str, Check]:
    return {c.name: c for c in await run_checks(load, min_free_bytes=1)}


def failing(found: dict[str, Check]) -> list[str]:
    return [name for name, c in found.items() if not c.ok]


async def test_a_good_install_passes_every_check(
    tmp_path: Path, good: dict[str, str], models: FakeModels
) -> None:
    found = await check(loader(tmp_path, good))
    assert failing(found) == []
    assert list(found) == [
        "settings",
        "addresses",
        "time zone",
        "data folder",
        "database",
        "disk space",
        "document index",
        "AI endpoint",
        "Telegram token",
        "owner id",
    ]
    assert "@microdesk_bot" in found["Telegram token"].detail
    assert f"offers {MODEL}" in found["AI endpoint"].detail
    assert "up to date" in found["database"].detail
    assert models.keys == [f"Bearer {API_KEY}"]


async def test_a_wrong_token_is_named_with_the_fix(tmp_path: Path, good: dict[str, str]) -> None:
    found = await check(loader(tmp_path, good, TELEGRAM_BOT_TOKEN="4242:wrong-token-xyz"))
    assert failing(found) == ["Telegram token"]
    assert "token is wrong" in found["Telegram token"].detail
    assert "@BotFather" in found["Telegram token"].fix


async def test_an_unreachable_ai_endpoint_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    found = await check(loader(tmp_path, good, OPENAI_BASE_URL=closed_port_url()))
    assert failing(found) == ["AI endpoint"]
    assert "cannot reach http://127.0.0.1:" in found["AI endpoint"].detail
    assert "OPENAI_BASE_URL" in found["AI endpoint"].fix


async def test_a_wrong_key_or_a_missing_model_is_named(
    tmp_path: Path, good: dict[str, str]
) -> None:
    found = await check(loader(tmp_path, good, OPENAI_API_KEY="sk-wrong"))
    assert failing(found) == ["AI endpoint"] and "refused the key" in found["AI endpoint"].detail
    found = await check(loader(tmp_path, good, OPENAI_MODEL="llama3.2"))
    assert failing(found) == ["AI endpoint"]
    assert "does not offer llama3.2" in found["AI endpoint"].detail
    assert "tiny-model" in found["AI endpoint"].detail


async def test_a_missing_owner_id_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    found = await check(loader(tmp_path, good, OWNER_TELEGRAM_ID=""))
    assert failing(found) == ["owner id"]
    assert "microdesk setup" in found["owner id"].fix


async def test_a_damaged_database_file_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    (tmp_path / "microdesk.db").write_bytes(b"this is not a database " * 500)
    for leftover in ("microdesk.db-wal", "microdesk.db-shm"):
        (tmp_path / leftover).unlink(missing_ok=True)
    found = await check(loader(tmp_path, good))
    assert failing(found) == ["database"]
    assert "not a database" in found["database"].detail
    assert "backup" in found["database"].fix


async def test_an_unusable_database_url_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    for url in ("nonsense://db", "mysql+nodriver://u@h/db"):
        found = await check(loader(tmp_path, good, DATABASE_URL=url))
        assert failing(found) == ["database"]
        assert "DATABASE_URL cannot be used" in found["database"].detail
        assert "[postgres]" in found["database"].fix


async def test_an_old_or_newer_schema_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'microdesk.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    found = await check(loader(tmp_path, good))
    assert failing(found) == ["database"] and "needs more" in found["database"].detail
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    found = await check(loader(tmp_path, good))
    assert "newer than this version" in found["database"].detail


async def test_an_unwritable_data_dir_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    found = await check(loader(tmp_path, good, DATA_DIR=str(a_file / "data")))
    assert "data folder" in failing(found)
    assert "is a file, not a folder" in found["data folder"].detail
    assert "DATA_DIR" in found["data folder"].fix


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
async def test_a_read_only_data_dir_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    found = await check(loader(tmp_path, good, DATA_DIR=str(locked)))
    assert "not writable" in found["data folder"].detail


async def test_little_disk_space_is_named(tmp_path: Path, good: dict[str, str]) -> None:
    checks = await run_checks(loader(tmp_path, good), min_free_bytes=1 << 60)
    [low] = [c for c in checks if not c.ok]
    assert low.name == "disk space" and "free some space" in low.fix


async def test_a_bad_setting_is_named_and_nothing_else_runs() -> None:
    checks = await run_checks(lambda: load_settings({"TIMEZONE": "Mars/Olympus"}))
    assert [(c.name, c.ok) for c in checks] == [("TIMEZONE", False)]
    assert "unknown IANA time zone" in checks[0].detail and ".env" in checks[0].fix


async def test_every_bad_value_is_judged_in_plain_words(tmp_path: Path) -> None:
    bad = {
        "TELEGRAM_BOT_TOKEN": "7123456789:AAH",
        "OWNER_TELEGRAM_ID": "abc",
        "TIMEZONE": "Europe/Berln",
        "OPENAI_BASE_URL": "localhost:11434",
    }
    checks = await run_checks(lambda: load_settings(bad))
    found = {c.name: c.detail for c in checks if not c.ok}
    assert set(found) == set(bad)
    assert found["TELEGRAM_BOT_TOKEN"].startswith("this is not a bot token")
    assert found["OWNER_TELEGRAM_ID"].startswith("must be your numeric Telegram user id")
    assert "did you mean Europe/Berlin?" in found["TIMEZONE"]
    assert found["OPENAI_BASE_URL"] == "must start with http:// or https://"
    shown = " ".join(f"{c.detail} {c.fix}" for c in checks)
    for pydantic_words in ("Input should be", "valid integer", "unable to parse", "Value error"):
        assert pydantic_words not in shown
    assert "AAH" not in shown.replace("7123456789:AAH…", "")  # the value is never repeated


@pytest.mark.parametrize(
    ("name", "value", "verdict"),
    [
        ("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot123:abc", "includes the /bot"),
        ("WEBHOOK_URL", "http://desk.example.invalid/tg", "is not HTTPS"),
        ("WEBHOOK_URL", "https://desk.example.invalid:9000/tg", "uses port 9000"),
        ("OPENAI_BASE_URL", "http:///v1", "is not a web address"),
    ],
)
async def test_url_settings_are_judged(
    tmp_path: Path, good: dict[str, str], name: str, value: str, verdict: str
) -> None:
    found = await check(loader(tmp_path, good, **{name: value, "WEBHOOK_SECRET": "x"}))
    assert name in failing(found) and verdict in found[name].detail
    assert "123:abc" not in found[name].detail or name != "TELEGRAM_API_BASE_URL"


async def test_a_token_pasted_into_the_telegram_root_is_never_shown(
    tmp_path: Path, good: dict[str, str]
) -> None:
    port = closed_port_url().split(":")[2].split("/")[0]
    pasted = "7123456789:" + "AAHxyzzyTokenThatIsNotTheConfiguredOne"  # built: no token in git
    for path in (f"/bot{pasted}/", f"/tg/{pasted[:4]}-short-{pasted[-9:]}/"):
        root = f"http://127.0.0.1:{port}{path}"
        found = await check(loader(tmp_path, good, TELEGRAM_API_BASE_URL=root))
        detail = found["Telegram token"].detail
        assert detail.startswith(f"cannot reach http://127.0.0.1:{port} (")
        shown = " ".join(f"{c.detail} {c.fix}" for c in found.values())
        assert "xyzzy" not in shown and "-short-" not in shown and "7123" not in shown


async def test_doctor_output_is_scrubbed_of_anything_token_shaped() -> None:
    stray = "7123456789:" + "AAHstrayTokenFromSomewhereElse_0123456789"  # built: no token in git
    [cleaned] = scrub([Check("webhook", False, f"Telegram said: {stray} failed", stray)], [])
    assert stray not in cleaned.detail + cleaned.fix
    assert cleaned.detail == "Telegram said: [redacted] failed"


async def test_no_token_and_no_ai_are_skipped_not_failed(tmp_path: Path) -> None:
    values = {"TELEGRAM_BOT_TOKEN": "", "OWNER_TELEGRAM_ID": ""}
    found = await check(loader(tmp_path, values))
    assert failing(found) == []
    assert all(found[n].skipped for n in ("Telegram token", "owner id", "AI endpoint"))
    assert "not created yet" in found["database"].detail
    assert not (tmp_path / "microdesk.db").exists()  # the doctor created nothing


async def test_webhook_mode_checks_what_telegram_reports(
    tmp_path: Path, good: dict[str, str], botapi: FakeBotAPI
) -> None:
    hook = {"WEBHOOK_URL": "https://desk.example.invalid/tg", "WEBHOOK_SECRET": "doctor-secret"}
    load = loader(tmp_path, good, **hook)
    assert "webhook" not in await check(loader(tmp_path, good))  # polling: no such check
    found = await check(load)
    assert failing(found) == [] and found["webhook"].skipped  # run registers it at start
    botapi.webhook = {"url": "https://old.example.invalid/x", "secret_token": "doctor-secret"}
    found = await check(load)
    assert failing(found) == ["webhook"] and "old.example.invalid" in found["webhook"].detail
    botapi.webhook["url"] = hook["WEBHOOK_URL"]
    botapi.webhook_error = "Wrong response from the webhook: 502 Bad Gateway"
    found = await check(load)
    assert failing(found) == ["webhook"] and "502 Bad Gateway" in found["webhook"].detail
    assert "port 8443" in found["webhook"].fix
    botapi.webhook_error = None
    found = await check(load)
    assert (
        failing(found) == [] and "calls https://desk.example.invalid/tg" in found["webhook"].detail
    )
    assert "doctor-secret" not in str(found)


# --- the command line ---------------------------------------------------------------------------


def env_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, values: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    base = {
        "DATA_DIR": str(tmp_path),
        "TIMEZONE": "Europe/Berlin",
        "OWNER_TELEGRAM_ID": "1001",
        "TELEGRAM_BOT_TOKEN": TOKEN,
    }
    for name, value in {**base, **values}.items():
        monkeypatch.setenv(name, value)


async def test_cli_prints_one_line_per_check_and_exits_0(
    tmp_path: Path,
    good: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.__main__ import main

    env_for(monkeypatch, tmp_path, good)
    assert await asyncio.to_thread(main, ["doctor"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 11 and lines[-1] == "All good."
    assert all(line[0] in "✓–" for line in lines[:-1])
    assert TOKEN not in out and API_KEY not in out


async def test_cli_exits_1_names_the_problem_and_prints_no_secret(
    tmp_path: Path,
    good: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.__main__ import main

    wrong = "4242:a-wrong-token-that-must-stay-secret"
    env_for(monkeypatch, tmp_path, {**good, "TELEGRAM_BOT_TOKEN": wrong})
    assert await asyncio.to_thread(main, ["doctor"]) == 1
    captured = capsys.readouterr()
    output = captured.out + captured.err
    [line] = [x for x in output.splitlines() if x.startswith("✗")]
    assert line.startswith("✗ Telegram token: the token is wrong")
    assert "→ fix: get a new one from @BotFather" in line
    assert wrong not in output and API_KEY not in output and "/bot" not in output


async def test_doctor_says_which_zone_is_in_force_and_where_it_came_from(
    tmp_path: Path, good: dict[str, str], models: FakeModels
) -> None:
    settings = loader(tmp_path, {**good, "TIMEZONE": "Europe/Berlin"})()
    found = await check(lambda: settings)
    assert "Europe/Berlin, from TIMEZONE" in found["time zone"].detail
    services = build_services(settings)
    services.prefs.set_timezone("Lisbon")
    services.close()
    found = await check(lambda: settings)
    detail = found["time zone"].detail
    assert "Europe/Lisbon, chosen in /settings (TIMEZONE=Europe/Berlin is not used)" in detail
