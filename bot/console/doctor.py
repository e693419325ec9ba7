"""`microdesk doctor`: each check is a small function returning a :class:`Check`.

Checks never change anything (no migration, no file left behind) and never put a secret in a
result: the Telegram token travels in the getMe URL, so neither URLs nor library error messages
are ever shown (the Telegram root only as scheme, host and port: a path pasted there can hold a
token), and every result is scrubbed of the configured secrets, and of anything shaped like a
bot token, before it is returned.
Network checks time out after :data:`TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import BadSettings, Settings, load_settings
from bot.db.engine import MIGRATIONS
from bot.errors import MicrodeskError, SettingsError
from bot.llm.completion import Usage
from bot.llm.errors import LLMBadResponse, LLMDisabled, LLMError, LLMTimeout
from bot.llm.usage import UsageReport
from bot.logs import REDACTED, redact_token_shapes

TIMEOUT = 5.0
MIN_FREE_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is fine, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False


def passed(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, detail, fix)


def skipped(name: str, detail: str) -> Check:
    return Check(name, True, detail, skipped=True)


async def run_checks(
    load: Callable[[], Settings] = load_settings,
    *,
    min_free_bytes: int = MIN_FREE_BYTES,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    """Every check, in order; only the settings check when the settings do not load."""
    try:
        settings = load()
    except BadSettings as exc:
        return [failed(name, problem, _SETTING_FIX) for name, problem in exc.problems]
    except SettingsError as exc:
        return [failed("settings", str(exc), _SETTING_FIX)]
    found = [
        passed("settings", "loaded"),
        *check_urls(settings),
        check_zone(settings),
        check_data_dir(settings.DATA_DIR),
        check_database(settings.database_url),
        check_disk(settings.DATA_DIR, min_free_bytes),
        await asyncio.to_thread(check_index, settings),
        await check_llm(settings),
        await check_telegram(settings, transport),
        check_owner(settings),
    ]
    if settings.WEBHOOK_URL is not None:
        found.append(await check_webhook(settings, transport))
    if settings.CALDAV_URL is not None:
        found.append(await asyncio.to_thread(check_calendar, settings))
    if settings.BACKUP_TARGET is not None:
        found.append(await asyncio.to_thread(check_backup_target, settings))
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        found.append(await asyncio.to_thread(check_pg_dump, settings))
    if settings.KNOWLEDGE_URL is not None:
        found.append(await asyncio.to_thread(check_knowledge_share, settings))
    return scrub(found, settings.secrets())


_SETTING_FIX = "correct it in .env (see .env.example), or run `microdesk setup`"


def scrub(checks: Iterable[Check], secrets: list[str]) -> list[Check]:
    """The checks with every secret replaced, whatever a check put in its text."""

    def clean(value: str) -> str:
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, REDACTED)
        return redact_token_shapes(value)  # a token that is not the configured one, too

    return [replace(c, detail=clean(c.detail), fix=clean(c.fix)) for c in checks]


# --- values -------------------------------------------------------------------------------------

WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram calls


def check_urls(settings: Settings) -> list[Check]:
    """Every *_URL setting that is set: a full http(s) address, each with its own rules."""
    verdicts = [
        judge_url(name, value)
        for name in sorted(type(settings).model_fields)
        if name.endswith("_URL") and name != "DATABASE_URL"
        for value in [getattr(settings, name)]
        if isinstance(value, str) and value
    ]
    bad = [v for v in verdicts if not v.ok]
    if bad or not verdicts:
        return bad
    return [passed("addresses", f"{', '.join(v.name for v in verdicts)}: well-formed")]


def judge_url(name: str, value: str) -> Check:
    """One URL setting, in words; the URL is shown without user name or password."""
    parts, shown = urlsplit(value), _without_credentials(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return failed(name, "is not a web address", f"set {name} to a full URL, https://…")
    if " " in value:
        return failed(name, f"{shown} contains a space", f"remove the space from {name}")
    if name == "TELEGRAM_API_BASE_URL" and "/bot" in parts.path:
        fix = f"set {name} to the server's root only: {_origin(value)}"
        return failed(name, "includes the /bot… part of a method's address (and the token)", fix)
    if name == "WEBHOOK_URL":
        return _judge_webhook(parts, shown)
    return passed(name, f"{shown} is a well-formed address")


def _judge_webhook(parts: SplitResult, shown: str) -> Check:
    name = "WEBHOOK_URL"
    if parts.scheme != "https":
        return failed(name, f"{shown} is not HTTPS: Telegram calls HTTPS addresses only", _PROXY)
    if parts.port is not None and parts.port not in WEBHOOK_PORTS:
        detail = f"{shown} uses port {parts.port}: Telegram calls only ports 443, 80, 88 and 8443"
        return failed(name, detail, _PROXY)
    return passed(name, f"{shown} is an HTTPS address Telegram can call")


_PROXY = "put an HTTPS proxy in front (README: Webhook mode) and use its public https:// URL"


# --- files ----------------------------------------------------------------------------------------


def check_data_dir(data_dir: Path) -> Check:
    """DATA_DIR is a folder this user can write in (or can be created)."""
    name, fix = "data folder", f"make {data_dir} a folder this user can write, or set DATA_DIR"
    existing = _nearest_existing(data_dir.absolute())
    if not existing.is_dir():
        return failed(name, f"{existing} is a file, not a folder", fix)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        return failed(name, f"{existing} is not writable", fix)
    if existing != data_dir.absolute():
        return passed(name, f"{data_dir} will be created at the first start")
    return passed(name, f"{data_dir} is writable")


def check_disk(data_dir: Path, min_free_bytes: int) -> Check:
    """Enough free space where the data lives."""
    free = shutil.disk_usage(_nearest_existing(data_dir.absolute())).free
    detail = f"{free / 1024**3:.1f} GB free"
    if free < min_free_bytes:
        fix = f"free some space: under {min_free_bytes // 1024**2} MB the database can fill up"
        return failed("disk space", detail, fix)
    return passed("disk space", detail)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# --- database -------------------------------------------------------------------------------------


def check_database(url: str) -> Check:
    """The database opens, its schema is this version's, and SQLite finds no damage."""
    name = "database"
    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database and not Path(parsed.database).exists():
            return passed(name, "not created yet: the first start creates it")
        engine = create_engine(url, **_timeout_args(sqlite))
    except (SQLAlchemyError, ImportError) as exc:
        detail = f"DATABASE_URL cannot be used ({type(exc).__name__})"
        return failed(name, detail, _DRIVER)
    try:
        return _inspect_database(engine, sqlite)
    except SQLAlchemyError as exc:
        return _database_error(exc, sqlite)
    finally:
        engine.dispose()


def _timeout_args(sqlite: bool) -> dict[str, Any]:
    return {"connect_args": {"timeout": TIMEOUT} if sqlite else {"connect_timeout": int(TIMEOUT)}}


def _inspect_database(engine: Engine, sqlite: bool) -> Check:
    from alembic.migration import MigrationContext  # not at import: every start checks DATA_DIR

    with engine.connect() as conn:
        if sqlite:
            verdict = str(conn.execute(text("PRAGMA integrity_check")).scalar())
            if verdict != "ok":
                return failed("database", f"damaged: {verdict[:120]}", _RESTORE)
        current = set(MigrationContext.configure(conn).get_current_heads())
    return _revision_check(current)


def _revision_check(current: set[str]) -> Check:
    """The database's revisions (one per branch of the migrations) against this version's."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    shown = ", ".join(sorted(current))
    if current == set(script.get_heads()):
        return passed("database", f"opens, schema up to date (revision {shown}), no damage")
    if not current:
        return failed("database", "opens, but has no microdesk tables", _START)
    known = {rev.revision for rev in script.walk_revisions()}
    if not current <= known:
        detail = f"its schema (revision {shown}) is newer than this version of microdesk"
        return failed("database", detail, "upgrade microdesk (git pull, then ./scripts/start)")
    return failed("database", f"schema at revision {shown}, this version needs more", _START)


def _database_error(exc: SQLAlchemyError, sqlite: bool) -> Check:
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0][:120]
    if sqlite:
        return failed("database", f"cannot be read: {reason}", _RESTORE)
    fix = "check DATABASE_URL, and that the database server is running and reachable"
    return failed("database", f"cannot connect: {type(exc).__name__}", fix)


_DRIVER = (
    "check DATABASE_URL (postgresql+psycopg://USER:PASSWORD@HOST/DB); for PostgreSQL install the "
    "driver: .venv/bin/pip install -e '.[postgres]'"
)
_START = "start microdesk once (./scripts/start or `microdesk run`): it applies migrations"
_RESTORE = "restore it from a backup, or move the file away to start with an empty database"


# --- index ----------------------------------------------------------------------------------------


def check_index(settings: Settings) -> Check:
    """The document index opens (when this version has one)."""
    if importlib.util.find_spec("bot.retrieval") is None:
        return skipped("document index", "not part of this version")
    if settings.CHROMA_HOST:
        return _chroma_server(settings.CHROMA_HOST, settings.CHROMA_PORT)
    data = settings.DATA_DIR
    stores = sorted([*data.glob("chroma.sqlite3"), *data.glob("*/chroma.sqlite3")])
    if not stores:
        return skipped("document index", "none yet: it is built when you add documents")
    return _chroma_local(stores[0].parent)


def _chroma_local(path: Path) -> Check:
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        count = len(client.list_collections())
    except Exception as exc:  # chromadb raises many kinds; any of them means "cannot open"
        fix = "rebuild it: move the folder away and run `microdesk ingest`"
        return failed("document index", f"{path} does not open ({type(exc).__name__})", fix)
    return passed("document index", f"{path} opens, {count} collection(s)")


def _chroma_server(host: str, port: int) -> Check:
    url = f"http://{host}:{port}/api/v2/heartbeat"
    try:
        response = httpx.get(url, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        fix = "start the Chroma server (chroma run), or check CHROMA_HOST / CHROMA_PORT"
        return failed("document index", f"no Chroma server at {host}:{port} ({_why(exc)})", fix)
    if response.status_code != 200:
        fix = "check that CHROMA_HOST / CHROMA_PORT point at a Chroma 1.x server"
        return failed("document index", f"{host}:{port} answered HTTP {response.status_code}", fix)
    return passed("document index", f"Chroma server at {host}:{port} answers")


# --- backup target --------------------------------------------------------------------------------

PROBE = "microdesk-doctor-probe.txt"


def check_backup_target(settings: Settings) -> Check:
    """BACKUP_TARGET answers, takes our credentials and a file (written, read, then removed)."""
    from bot.services.backup.target import target_of

    name = "backup target"
    target = target_of(settings)
    if settings.BACKUP_TARGET is None:
        return skipped(name, f"{target.describe()} on this machine (BACKUP_TARGET is not set)")
    fix = "correct BACKUP_TARGET (and BACKUP_USERNAME / BACKUP_PASSWORD), or mount the share"
    with tempfile.TemporaryDirectory(prefix="microdesk-doctor-") as tmp:
        probe = Path(tmp) / PROBE
        probe.write_bytes(b"microdesk doctor: safe to delete\n")
        try:
            target.names()
            target.put(probe, PROBE)
            target.get(PROBE, Path(tmp) / "back")
            target.delete(PROBE)
        except MicrodeskError as exc:
            return failed(name, str(exc), fix)
    return passed(name, f"{target.describe()}: reachable, signed in, writable")


def check_pg_dump(settings: Settings) -> Check:
    """A PostgreSQL database is backed up with pg_dump: installed, and not older than the
    server."""
    from bot.services.backup.postgres import Postgres, tools_ready

    try:
        detail = tools_ready(Postgres.of(settings.database_url))
    except MicrodeskError as exc:
        return failed("backups", str(exc), "install the PostgreSQL client tools, then run again")
    return passed("backups", f"{detail}: PostgreSQL backups can be made")


def check_knowledge_share(settings: Settings) -> Check:
    """KNOWLEDGE_URL answers and takes our credentials (only listed: nothing downloaded)."""
    from bot.services.knowledge.share import ShareSync

    share = ShareSync(settings, None)  # listing needs no index
    fix = "correct KNOWLEDGE_URL (and KNOWLEDGE_USERNAME / KNOWLEDGE_PASSWORD)"
    try:
        count = share.probe()
    except MicrodeskError as exc:
        return failed("document share", str(exc), fix)
    return passed("document share", f"{share.url}: reachable, signed in, {count} file(s)")


# --- network --------------------------------------------------------------------------------------


async def check_llm(settings: Settings) -> Check:
    """The AI endpoint lists its models (the bot's own client, LLMClient.list_models) and
    offers the configured one."""
    name = "AI endpoint"
    if not settings.llm_enabled:
        return skipped(name, "off (no OPENAI_API_KEY or OPENAI_BASE_URL): AI features are off")
    from bot.app import build_llm
    from bot.llm.client import OPENAI_BASE_URL, RetryPolicy, Timeouts

    shown = _without_credentials(settings.OPENAI_BASE_URL or OPENAI_BASE_URL)
    timeouts = Timeouts(connect=TIMEOUT, read=TIMEOUT, write=TIMEOUT, pool=TIMEOUT)
    client = build_llm(settings, ListingOnly(), timeouts, RetryPolicy(total=TIMEOUT))
    try:
        ids = await client.list_models()
    except LLMError as exc:
        return _llm_failure(exc, shown)
    finally:
        await client.aclose()
    return _models_check(set(ids), shown, settings.OPENAI_MODEL)


class ListingOnly:
    """The budget of a client that only lists models: doctor never asks for a completion."""

    async def check_async(self) -> None:
        raise LLMDisabled("doctor only lists the models")

    async def record_async(self, *, model: str, purpose: str, usage: Usage, ok: bool) -> None:
        return None

    def report(self, now: datetime | None = None) -> UsageReport:
        raise LLMDisabled("doctor only lists the models")


def _llm_failure(exc: LLMError, shown: str) -> Check:
    name = "AI endpoint"
    if exc.status in (401, 403):
        return failed(name, f"{shown} refused the key", "check OPENAI_API_KEY")
    if exc.status is not None:
        fix = "check OPENAI_BASE_URL: it usually ends in /v1"
        return failed(name, f"{shown}/models answered HTTP {exc.status}", fix)
    if isinstance(exc, LLMBadResponse):
        fix = "check OPENAI_BASE_URL: it should be an OpenAI-compatible API, usually …/v1"
        return failed(name, f"{shown} answered, but not like an OpenAI-compatible API", fix)
    why = {"APIConnectionError": "connection refused or host unknown"}.get(exc.detail, exc.detail)
    if isinstance(exc, LLMTimeout):
        why = f"no answer within {TIMEOUT:.0f} s"
    fix = "start the model server, or correct OPENAI_BASE_URL"
    return failed(name, f"cannot reach {shown} ({why})", fix)


def _models_check(ids: set[str], shown: str, model: str) -> Check:
    name = "AI endpoint"
    if model in ids or f"{model}:latest" in ids:
        return passed(name, f"{shown} answers and offers {model}")
    offered = ", ".join(sorted(ids)[:8]) or "none"
    fix = f"set OPENAI_MODEL to one it offers, or load {model} on the server (ollama pull …)"
    return failed(name, f"{shown} does not offer {model} (it offers: {offered})", fix)


async def check_telegram(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> Check:
    """The bot token works: getMe answers with the bot's name."""
    name = "Telegram token"
    token = settings.TELEGRAM_BOT_TOKEN
    if token is None:
        return skipped(name, "not set: only the terminal chat works (get one from @BotFather)")
    root = settings.TELEGRAM_API_BASE_URL
    try:
        response = await _bot_api(settings, "getMe", transport)
    except httpx.HTTPError as exc:
        fix = "check the internet connection, or TELEGRAM_API_BASE_URL"
        return failed(name, f"cannot reach {_origin(root)} ({_why(exc)})", fix)
    return _get_me_check(response)


async def _bot_api(
    settings: Settings, method: str, transport: httpx.AsyncBaseTransport | None
) -> httpx.Response:
    """GET one Bot API method with the configured token (the caller checked it is set)."""
    token = settings.TELEGRAM_BOT_TOKEN
    assert token is not None
    url = f"{settings.TELEGRAM_API_BASE_URL}/bot{token.get_secret_value()}/{method}"
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        return await client.get(url)


def _get_me_check(response: httpx.Response) -> Check:
    name = "Telegram token"
    if response.status_code in (401, 404):
        fix = "get a new one from @BotFather (/token) and set TELEGRAM_BOT_TOKEN"
        return failed(name, "the token is wrong: Telegram does not know it", fix)
    try:
        username = response.json()["result"]["username"]
    except (ValueError, KeyError, TypeError):
        username = None
    if response.status_code != 200 or not username:
        fix = "try again later; check TELEGRAM_API_BASE_URL if it persists"
        return failed(name, f"Telegram answered HTTP {response.status_code}", fix)
    return passed(name, f"works: the bot is @{username}")


async def check_webhook(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> Check:
    """Webhook mode: Telegram calls WEBHOOK_URL, and says whether its last call failed."""
    name, url = "webhook", settings.WEBHOOK_URL
    token = settings.TELEGRAM_BOT_TOKEN
    if token is None or url is None:
        return skipped(name, "needs TELEGRAM_BOT_TOKEN to ask Telegram")
    try:
        response = await _bot_api(settings, "getWebhookInfo", transport)
    except httpx.HTTPError as exc:
        fix = "check the internet connection, or TELEGRAM_API_BASE_URL"
        return failed(name, f"cannot ask Telegram ({_why(exc)})", fix)
    try:
        info = response.json()["result"]
        registered, error = str(info["url"]), info.get("last_error_message")
        waiting = int(info.get("pending_update_count", 0))
    except (ValueError, KeyError, TypeError):
        return failed(name, f"Telegram answered HTTP {response.status_code}", "try again later")
    shown = _without_credentials(url)
    if not registered:
        return skipped(name, f"not registered yet: `microdesk run` registers {shown}")
    if registered != url:
        fix = "restart the bot: it registers WEBHOOK_URL at start"
        return failed(name, f"Telegram calls {_without_credentials(registered)}, not {shown}", fix)
    if error:
        fix = f"check that the HTTPS proxy forwards {shown} to port {settings.WEBHOOK_PORT}"
        return failed(name, f"Telegram's last call failed: {error} ({waiting} waiting)", fix)
    return passed(name, f"Telegram calls {shown} ({waiting} update(s) waiting)")


def check_calendar(settings: Settings) -> Check:
    """CALDAV_URL answers, takes the login, and the calendar can be written (a probe event is
    written and deleted); a calendar not made yet is made by the bot's first sync."""
    from bot.services.calendar_sync.server import CalDAVServer, CalendarError

    name, calendar = "calendar", settings.CALDAV_CALENDAR
    fixes = {
        "auth": "set the right CALDAV_PASSWORD (and CALDAV_USERNAME) in .env",
        "unreachable": "check CALDAV_URL and that the calendar server is running",
        "refused": "set CALDAV_URL to the server's CalDAV address (see the README)",
        "read-only": "give the user write access, or change CALDAV_CALENDAR",
    }
    server = CalDAVServer(settings, timeout=int(TIMEOUT))
    try:
        if server.open(None, create=False) is None:
            return passed(name, f"logged in; the calendar “{calendar}” is made at the first sync")
        server.probe()
    except CalendarError as exc:
        return failed(name, str(exc), fixes.get(exc.kind, "check the CALDAV_ settings"))
    finally:
        server.close()
    return passed(name, f"“{calendar}” is reachable, logged in and writable")


def check_owner(settings: Settings) -> Check:
    """OWNER_TELEGRAM_ID is set (the bot serves only that user)."""
    name = "owner id"
    if settings.OWNER_TELEGRAM_ID is not None:
        return passed(name, f"the bot answers only user {settings.OWNER_TELEGRAM_ID}")
    if settings.TELEGRAM_BOT_TOKEN is None:
        return skipped(name, "not set: only needed for Telegram")
    fix = "run `microdesk setup`: it pairs your Telegram account and sets OWNER_TELEGRAM_ID"
    return failed(name, "OWNER_TELEGRAM_ID is not set: the bot refuses to start", fix)


def check_zone(settings: Settings) -> Check:
    """Which time zone is in force and where it comes from (/settings wins over TIMEZONE)."""
    name = "time zone"
    chosen = _stored_zone(settings.database_url)
    order = settings.DATE_ORDER or (f"from COUNTRY {settings.COUNTRY}" if settings.COUNTRY else "")
    tail = f"; dates in {settings.LANGUAGES}" + (f", order {order}" if order else "")
    if chosen and chosen != settings.TIMEZONE and "TIMEZONE" in settings.model_fields_set:
        detail = f"{chosen}, chosen in /settings (TIMEZONE={settings.TIMEZONE} is not used){tail}"
        return passed(name, detail)
    if chosen:
        return passed(name, f"{chosen}, chosen in /settings{tail}")
    if "TIMEZONE" in settings.model_fields_set:
        return passed(name, f"{settings.TIMEZONE}, from TIMEZONE{tail}")
    return passed(name, f"UTC by default: nobody chose a zone yet (the first /start asks){tail}")


def _stored_zone(url: str) -> str | None:
    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database and not Path(parsed.database).exists():
            return None
        engine = create_engine(url, **_timeout_args(sqlite))
    except (SQLAlchemyError, ImportError):
        return None
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT value FROM settings WHERE key = 'timezone'")).first()
            return None if row is None else str(row[0])
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _why(exc: httpx.HTTPError) -> str:
    """A reason without the URL (which can hold the token)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT:.0f} s"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unknown"
    return type(exc).__name__


def _origin(url: str) -> str:
    """Scheme, host and port only: a path pasted into TELEGRAM_API_BASE_URL can hold the token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
