"""Settings: typed, defaults from SPEC, one clear line naming a bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import SettingsError


def test_defaults_follow_the_spec() -> None:
    s = load_settings({})
    assert s.TELEGRAM_API_BASE_URL == "https://api.telegram.org"
    assert s.OPENAI_MODEL == "gpt-4o-mini"
    assert Path("./data") == s.DATA_DIR
    assert s.database_url == "sqlite:///data/microdesk.db"
    assert s.TIMEZONE == "UTC"
    assert s.briefing_time.hour == 8
    assert s.LLM_MONTHLY_TOKEN_BUDGET == 2_000_000
    assert s.CHROMA_PORT == 8000 and s.WEBHOOK_PORT == 8443
    assert not s.llm_enabled


def test_empty_values_from_env_example_mean_unset() -> None:
    s = load_settings({"OWNER_TELEGRAM_ID": "", "OPENAI_API_KEY": "", "WEBHOOK_URL": ""})
    assert s.OWNER_TELEGRAM_ID is None and s.OPENAI_API_KEY is None and s.WEBHOOK_URL is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEZONE", "Mars/Olympus"),
        ("BRIEFING_TIME", "25:00"),
        ("BRIEFING_TIME", "8am"),
        ("OWNER_TELEGRAM_ID", "me"),
        ("CHROMA_PORT", "0"),
        ("OPENAI_BASE_URL", "localhost:11434"),
        ("LLM_MONTHLY_TOKEN_BUDGET", "-5"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert message.startswith(f"Bad setting {name}:")
    assert "\n" not in message


def test_secrets_are_listed_for_redaction_and_hidden_in_repr() -> None:
    s = load_settings({"TELEGRAM_BOT_TOKEN": "4242:secret-value", "OPENAI_API_KEY": "key-123"})
    assert set(s.secrets()) == {"4242:secret-value", "key-123"}
    assert "secret-value" not in repr(s) and "key-123" not in repr(s)


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Berlin\nBRIEFING_TIME=07:30\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIMEZONE", raising=False)
    monkeypatch.delenv("BRIEFING_TIME", raising=False)
    s = load_settings()
    assert s.TIMEZONE == "Europe/Berlin" and s.BRIEFING_TIME == "07:30"


def test_a_mapping_is_all_that_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Berlin\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BRIEFING_TIME", "09:15")
    s = load_settings({"OPENAI_MODEL": "m"})
    assert s.TIMEZONE == "UTC" and s.BRIEFING_TIME == "08:00" and s.OPENAI_MODEL == "m"


def test_webhook_mode_requires_a_secret_telegram_accepts() -> None:
    url = "https://bot.example.invalid/hook"
    with pytest.raises(SettingsError) as missing:
        load_settings({"WEBHOOK_URL": url, "WEBHOOK_SECRET": ""})
    assert str(missing.value) == "Bad setting WEBHOOK_SECRET: required when WEBHOOK_URL is set"
    with pytest.raises(SettingsError) as bad:
        load_settings({"WEBHOOK_URL": url, "WEBHOOK_SECRET": "has spaces/and slashes"})
    assert str(bad.value).startswith("Bad setting WEBHOOK_SECRET:")
    assert "spaces" not in str(bad.value)  # the value itself is never echoed
    good = load_settings({"WEBHOOK_URL": url, "WEBHOOK_SECRET": "Ab_9-x"})
    assert url == good.WEBHOOK_URL and "Ab_9-x" in good.secrets()
    assert load_settings({"WEBHOOK_SECRET": "Ab_9-x"}).WEBHOOK_URL is None  # polling
