"""`microdesk setup`: the guided first run, driven in a terminal against the fake Bot API and a
fake model server."""

from __future__ import annotations

import socket
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.setup.envfile import EnvFile
from bot.setup.pairing import PairingCode
from bot.setup.telegram import BotApi
from tests.conftest import OWNER, START, STRANGER, TOKEN
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.openai_api import MODEL, FakeOpenAI
from tests.fakes.openai_api import Reply as ModelReply
from tests.terminal_driver import TerminalDriver

KEPT = "# my own notes stay\nKNOWLEDGE_DIR=./my-documents\n"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def existing_env(tmp_path: Path, botapi: FakeBotAPI) -> Path:
    env = tmp_path / ".env"
    env.write_text(f"{KEPT}TELEGRAM_API_BASE_URL={botapi.base_url}\nDATA_DIR=./data\n")
    return env


async def pair(term: TerminalDriver, botapi: FakeBotAPI) -> None:
    """Read the code setup shows; the owner sends it, a stranger sends it too, a moment later."""
    code = (await term.expect(r"\n    (\d{3} \d{3})\n")).group(1)
    botapi.send_message("hello?", user_id=STRANGER, first_name="Mallory")
    botapi.send_message(code, user_id=OWNER, first_name="Olga", username="olga")
    botapi.send_message(code, user_id=STRANGER, first_name="Mallory")


async def test_a_first_run_pairs_the_owner_and_writes_every_answer(tmp_path: Path) -> None:
    async with FakeBotAPI(token=TOKEN) as botapi, FakeOpenAI() as models:
        env = existing_env(tmp_path, botapi)
        probes = ["--probe", closed_port_url(), "--probe", models.base_url]
        term = TerminalDriver(tmp_path, "setup", *probes)
        try:
            await term.expect("Bot token: ")
            term.type("hello world")
            await term.expect("✗ That is not a bot token")
            term.type("4242:a-revoked-token-value")
            await term.expect("Telegram does not know this token: it was revoked or mistyped")
            term.type(TOKEN)
            await term.expect("your bot is @microdesk_bot")
            await pair(term, botapi)
            await term.expect(r"Paired with Olga \(@olga\), user id 1001")
            await term.expect(r"Time zone \[")
            term.type("Europe/Berln")
            await term.expect("✗ Unknown IANA time zone .Europe/Berln.: did you mean Europe/Berlin")
            term.type("Europe/Berlin")
            await term.expect(r"\[DE\]: ")
            term.type("")
            await term.expect(r"Briefing time, HH:MM \[08:00\]: ")
            term.type("7:30")
            await term.expect(rf"\[1\] {MODEL} · ")
            models.script(ModelReply.text("OK"))
            term.type("1")
            await term.expect(f"✓ {MODEL} answered in")
            await term.expect("✓ Telegram token: works: the bot is @microdesk_bot")
            await term.expect("Next: ./scripts/start")
            assert await term.exit_code() == 0
        finally:
            term.kill()
        to_owner = [m for m in botapi.bot_messages() if m["chat"]["id"] == OWNER]
        assert [m["text"] for m in to_owner] == [
            "✓ Paired: this bot now serves you, and only you. Setup goes on in the terminal."
        ]
        assert all(m["chat"]["id"] != STRANGER for m in botapi.bot_messages())
        assert botapi.pending_updates == []  # what setup read is confirmed: `run` won't answer it
    text = env.read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert text.startswith(KEPT) and f"TELEGRAM_API_BASE_URL={botapi.base_url}\n" in text
    assert TOKEN not in term.output
    settings = load_settings_from(tmp_path)
    assert settings.TELEGRAM_BOT_TOKEN is not None
    assert settings.TELEGRAM_BOT_TOKEN.get_secret_value() == TOKEN
    assert settings.OWNER_TELEGRAM_ID == OWNER
    assert (settings.TIMEZONE, settings.COUNTRY, settings.BRIEFING_TIME) == (
        "Europe/Berlin",
        "DE",
        "07:30",
    )
    assert (models.base_url, MODEL) == (settings.OPENAI_BASE_URL, settings.OPENAI_MODEL)
    assert Path("my-documents") == settings.KNOWLEDGE_DIR


def load_settings_from(folder: Path) -> Settings:
    values = EnvFile.read(folder / ".env").values()
    return load_settings(values)


async def test_a_second_run_changes_one_thing_only(tmp_path: Path) -> None:
    async with FakeBotAPI(token=TOKEN) as botapi:
        env = existing_env(tmp_path, botapi)
        with env.open("a") as out:
            out.write(
                f"TELEGRAM_BOT_TOKEN={TOKEN}\nOWNER_TELEGRAM_ID={OWNER}\nTIMEZONE=Asia/Tokyo\n"
            )
        before = env.read_text().splitlines()
        term = TerminalDriver(tmp_path, "setup", "--probe", closed_port_url())
        try:
            await term.expect(r"\[4\] briefing time — now: 08:00")
            term.type("4")
            term.type("21:05")
            await term.expect("Next: ./scripts/start")
            assert await term.exit_code() == 0
        finally:
            term.kill()
        assert not [c for c in botapi.calls if c.method == "getUpdates"]  # no pairing again
    after = env.read_text().splitlines()
    assert [line for line in after if line not in before] == ["BRIEFING_TIME=21:05"]
    assert set(before) - set(after) == set()


async def test_ctrl_d_stops_setup_and_writes_nothing(tmp_path: Path) -> None:
    term = TerminalDriver(tmp_path, "setup", "--probe", closed_port_url())
    try:
        await term.expect("Bot token: ")
        term.close_input()
        await term.expect("Setup stopped; nothing was written.")
        assert await term.exit_code() == 1
    finally:
        term.kill()
    assert not (tmp_path / ".env").exists()


def test_a_pairing_code_works_once_and_for_ten_minutes() -> None:
    clock = FrozenClock(START)
    code = PairingCode(clock)
    assert len(code.code) == 6 and code.code.isdigit()
    assert not code.accept("000000" if code.code != "000000" else "111111")
    assert code.accept(code.shown)  # "123 456" as shown is fine
    assert not code.accept(code.code)  # used
    late = PairingCode(clock)
    clock.advance(timedelta(minutes=10))
    assert late.expired and not late.accept(late.code)


async def test_an_expired_code_pairs_nobody(tmp_path: Path) -> None:
    import asyncio

    clock = FrozenClock(START)
    async with FakeBotAPI(token=TOKEN) as botapi:
        code = PairingCode(clock)
        clock.advance(timedelta(minutes=11))
        botapi.send_message(code.code, user_id=OWNER)
        api = BotApi(botapi.base_url, TOKEN)
        try:
            assert await asyncio.to_thread(api.pair, code, 1) is None
        finally:
            api.close()
        assert botapi.bot_messages() == []


def test_env_file_keeps_lines_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# a comment\nA=1\nexport B='two words'\n")
    path.chmod(0o644)
    env = EnvFile.read(path)
    assert env.values() == {"A": "1", "B": "two words"}
    env.set("B", "three words here")
    env.set("C", "x")
    env.write()
    assert path.read_text() == '# a comment\nA=1\nB="three words here"\nC=x\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert EnvFile.read(path).get("B") == "three words here"


@pytest.mark.parametrize("token", ["hello world", "123", "7123456789:AAH"])
def test_a_malformed_token_is_called_malformed(token: str) -> None:
    from bot.errors import SettingsError

    with pytest.raises(SettingsError, match="not a bot token") as info:
        load_settings({"TELEGRAM_BOT_TOKEN": token})
    assert str(info.value).startswith("Bad setting TELEGRAM_BOT_TOKEN: this is not a bot token")
    assert "hello world" not in str(info.value)  # the value itself is never shown
