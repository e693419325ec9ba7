"""One typed Settings object, loaded from the environment, a `.env` file, or any mapping.

Nothing else in the project reads ``os.environ``. A bad value fails at start with
:class:`SettingsError`, whose message is one line naming the setting.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.dates.business import check_country
from bot.dates.model import ORDERS
from bot.dates.words import SUPPORTED
from bot.errors import SettingsError

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook's secret_token accepts
# BotFather's tokens: the bot's numeric id, a colon, ~35 letters, digits, _ and -
BOT_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")
BAD_TOKEN = (
    "this is not a bot token: BotFather's tokens look like 7123456789:AAH… (digits, a colon, "
    "then about 35 letters and digits); copy the whole token again"
)
COUNTRY_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_hhmm(value: str) -> time:
    """'08:00' -> time(8, 0); raises ValueError with a readable message."""
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError(f"expected HH:MM (24-hour), got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_duration(value: str) -> timedelta:
    """'30s', '2m', '1h' -> a timedelta of at least 1 second; raises ValueError when unreadable."""
    match = _DURATION.match(value.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration such as 30s, 2m or 1h, got {value!r}")
    return timedelta(seconds=int(match.group(1)) * _SECONDS[match.group(2)])


class Settings(BaseSettings):
    """Every setting microdesk reads, typed (the owner's list: README.md and .env.example)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_BASE_URL: str = "https://api.telegram.org"
    OWNER_TELEGRAM_ID: int | None = None
    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    OPENAI_MODEL: str = "gpt-4o-mini"
    DATA_DIR: Path = Path("./data")
    DATABASE_URL: str | None = None
    CHROMA_HOST: str | None = None
    CHROMA_PORT: int = Field(default=8000, ge=1, le=65535)
    KNOWLEDGE_DIR: Path = Path("./knowledge")
    TIMEZONE: str = "UTC"
    BRIEFING_TIME: str = "08:00"
    LLM_MONTHLY_TOKEN_BUDGET: int = Field(default=2_000_000, ge=0)
    LLM_TIMEOUT: float = Field(default=60.0, gt=0, le=3600)
    LLM_DRAFT_TIMEOUT: float = Field(default=600.0, gt=0, le=86_400)
    WEBHOOK_URL: str | None = None
    WEBHOOK_SECRET: SecretStr | None = Field(default=None, validate_default=True)
    WEBHOOK_PORT: int = Field(default=8443, ge=1, le=65535)
    KNOWLEDGE_URL: str | None = None
    KNOWLEDGE_USERNAME: str | None = None
    KNOWLEDGE_PASSWORD: SecretStr | None = None
    KNOWLEDGE_POLL: str = "10m"
    BACKUP_TARGET: str | None = None
    BACKUP_USERNAME: str | None = None
    BACKUP_PASSWORD: SecretStr | None = None
    BACKUP_EVERY: Literal["daily", "weekly", "monthly"] = "weekly"
    BACKUP_KEEP: int = Field(default=8, ge=1, le=1000)
    BACKUP_PASSPHRASE: SecretStr | None = Field(default=None, validate_default=True)
    LANGUAGES: str = "en,de,fr,es"
    COUNTRY: str = ""
    DATE_ORDER: str = ""

    @field_validator("LANGUAGES")
    @classmethod
    def _languages(cls, value: str) -> str:
        codes = [code.strip().lower() for code in value.split(",") if code.strip()]
        unknown = [code for code in codes if code not in SUPPORTED]
        if unknown or not codes:
            raise ValueError(f"use a comma-separated list of {', '.join(SUPPORTED)}")
        return ",".join(codes)

    @field_validator("COUNTRY")
    @classmethod
    def _country(cls, value: str) -> str:
        return check_country(value) if value.strip() else ""

    @field_validator("DATE_ORDER")
    @classmethod
    def _order(cls, value: str) -> str:
        value = value.strip().upper()
        if value and value not in ORDERS:
            raise ValueError(f"use one of {', '.join(ORDERS)}")
        return value

    CALDAV_URL: str | None = None
    CALDAV_USERNAME: str | None = None
    CALDAV_PASSWORD: SecretStr | None = None
    CALDAV_CALENDAR: str = "microdesk"
    CALDAV_POLL: str = "2m"
    FEED_PORT: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("TIMEZONE")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(unknown_zone(value)) from exc
        return value

    @field_validator("TELEGRAM_BOT_TOKEN")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not BOT_TOKEN.match(value.get_secret_value().strip()):
            raise ValueError(BAD_TOKEN)
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("OWNER_TELEGRAM_ID")
    @classmethod
    def _owner(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError(
                "that is a group's or channel's id; use your own numeric user id "
                "(`microdesk setup` finds it for you)"
            )
        return value

    @field_validator("BRIEFING_TIME")
    @classmethod
    def _briefing(cls, value: str) -> str:
        parse_hhmm(value)
        return value.strip()

    @field_validator("CALDAV_POLL", "KNOWLEDGE_POLL")
    @classmethod
    def _poll(cls, value: str) -> str:
        parse_duration(value)
        return value.strip()

    @field_validator("CALDAV_CALENDAR")
    @classmethod
    def _calendar_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name the calendar, e.g. microdesk")
        return value.strip()

    @field_validator(
        "TELEGRAM_API_BASE_URL", "OPENAI_BASE_URL", "WEBHOOK_URL", "CALDAV_URL", "KNOWLEDGE_URL"
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator(
        "TELEGRAM_BOT_TOKEN",
        "OPENAI_API_KEY",
        "WEBHOOK_SECRET",
        "CHROMA_HOST",
        "CALDAV_USERNAME",
        "CALDAV_PASSWORD",
        "FEED_PORT",
        "KNOWLEDGE_USERNAME",
        "KNOWLEDGE_PASSWORD",
        "BACKUP_USERNAME",
        "BACKUP_PASSWORD",
        "BACKUP_PASSPHRASE",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("WEBHOOK_URL"):
                raise ValueError("required when WEBHOOK_URL is set")
            return None
        if not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("use 1-256 characters: letters, digits, _ and - only")
        return value

    @field_validator("BACKUP_TARGET")
    @classmethod
    def _backup_target(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "://" in value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("a folder path, or a WebDAV URL starting with http:// or https://")
        return value

    @field_validator("BACKUP_PASSPHRASE")
    @classmethod
    def _backup_passphrase(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and "://" in (info.data.get("BACKUP_TARGET") or ""):
            raise ValueError("required when BACKUP_TARGET is a WebDAV URL (backups are encrypted)")
        return value

    @field_validator("OWNER_TELEGRAM_ID", "DATABASE_URL", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def knowledge_poll_seconds(self) -> float:
        return parse_duration(self.KNOWLEDGE_POLL).total_seconds()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    @property
    def briefing_time(self) -> time:
        return parse_hhmm(self.BRIEFING_TIME)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.LANGUAGES.split(","))

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite:///{self.DATA_DIR / 'microdesk.db'}"

    @property
    def caldav_poll(self) -> timedelta:
        return parse_duration(self.CALDAV_POLL)

    @property
    def llm_enabled(self) -> bool:
        """AI features are on when an API key or a base URL is configured."""
        return self.OPENAI_API_KEY is not None or self.OPENAI_BASE_URL is not None

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line or a message."""
        found = [
            self.TELEGRAM_BOT_TOKEN,
            self.OPENAI_API_KEY,
            self.WEBHOOK_SECRET,
            self.CALDAV_PASSWORD,
            self.BACKUP_PASSWORD,
            self.BACKUP_PASSPHRASE,
            self.KNOWLEDGE_PASSWORD,
        ]
        values = [s.get_secret_value() for s in found if s is not None and s.get_secret_value()]
        in_urls = [urlsplit(url or "").password for url in (self.BACKUP_TARGET, self.KNOWLEDGE_URL)]
        database = urlsplit(self.DATABASE_URL or "").password  # as written: percent-encoded
        in_urls += [database, unquote(database)] if database else []
        return [*values, *[p for p in in_urls if p]]


def unknown_zone(value: str) -> str:
    """One sentence for a zone name that is not in the zone database, with a close match."""
    close = difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "e.g. Europe/Berlin or America/New_York"
    return f"unknown IANA time zone {value[:40]!r}: {hint}"


# pydantic's wording, per error type, in words an owner reads (the setting's name comes first)
_PLAIN = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "string_type": "must be text",
    "missing": "is missing",
}
_PLAIN_FOR = {
    ("OWNER_TELEGRAM_ID", "int_parsing"): (
        "must be your numeric Telegram user id (digits only, like 123456789); "
        "`microdesk setup` finds it for you"
    ),
}


class BadSettings(SettingsError):
    """Every bad setting at once; ``str()`` names the first, ``problems`` has them all as
    (setting, what is wrong with it)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        name, message = problems[0]
        super().__init__(f"Bad setting {name}: {message}")
        self.problems = problems


def plain_problem(err: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error as (setting, what is wrong), never in pydantic's own wording."""
    name = ".".join(str(p) for p in err["loc"]) or "settings"
    kind = str(err.get("type", ""))
    if kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
    elif (name, kind) in _PLAIN_FOR:
        message = _PLAIN_FOR[(name, kind)]
    elif kind in _PLAIN:
        message = _PLAIN[kind].format(**(err.get("ctx") or {}))
    else:
        message = "has a value that cannot be used"
    return name, message


class _FromMapping(Settings):
    """Settings from a mapping alone: no environment, no `.env` (what tests pass is all)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def environment_values() -> dict[str, str]:
    """The settings given as environment variables (they win over `.env`), unvalidated."""
    return {name: os.environ[name] for name in Settings.model_fields if name in os.environ}


def load_settings(source: Mapping[str, str] | None = None, *, env_file: bool = True) -> Settings:
    """Settings from a mapping (tests) or the environment and `.env` (the app).

    Raises SettingsError with one line naming the first bad setting.
    """
    try:
        if source is not None:
            values: dict[str, Any] = dict(source)
            return _FromMapping(**values)
        return Settings(_env_file=".env" if env_file else None)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise BadSettings([plain_problem(err) for err in exc.errors()]) from None
