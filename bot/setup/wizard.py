"""The questions of `microdesk setup`, one step at a time.

A first run (no token or no owner yet) walks every step; a later run offers a menu and changes
the one thing chosen. Nothing is written before the end; `.env` keeps every other line.

    token ─> owner (pairing code) ─> zone and country ─> briefing time ─> AI ─> write ─> doctor
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, SystemClock
from bot.config import (
    BAD_TOKEN,
    BOT_TOKEN,
    COUNTRY_CODE,
    environment_values,
    parse_hhmm,
    unknown_zone,
)
from bot.setup.envfile import EnvFile
from bot.setup.models import USUAL_SERVERS, Server, probe, try_model
from bot.setup.pairing import PairingCode
from bot.setup.system import country_of, system_zone
from bot.setup.telegram import POLL_SECONDS, BotApi, BotIdentity, SetupError

TELEGRAM = "https://api.telegram.org"
OPENAI = "https://api.openai.com/v1"
STEPS = 5


class Terminal(Protocol):
    """Where setup talks to the owner."""

    def say(self, text: str) -> None: ...

    def ask(self, prompt: str) -> str:
        """One line typed by the owner; EOFError when input ends (Ctrl-D)."""
        ...


class StdTerminal:
    """The real terminal: stdout and stdin."""

    def say(self, text: str) -> None:
        print(text, flush=True)

    def ask(self, prompt: str) -> str:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")


@dataclass
class SetupOptions:
    env_path: Path = Path(".env")
    template: Path = Path(".env.example")
    servers: Sequence[Server] = USUAL_SERVERS
    clock: Clock = field(default_factory=SystemClock)
    poll_seconds: int = POLL_SECONDS


class Wizard:
    """Asks, checks each answer live, and writes `.env` at the end."""

    def __init__(
        self, term: Terminal, options: SetupOptions, doctor: Callable[[], int] | None = None
    ) -> None:
        self.term = term
        self.o = options
        self.doctor = doctor
        self.env = EnvFile.read(options.env_path, options.template)
        self.api: BotApi | None = None
        self.bot: BotIdentity | None = None

    def current(self, name: str) -> str:
        """A setting as microdesk will read it: the environment wins over `.env`."""
        return environment_values().get(name, self.env.get(name)).strip()

    def run(self) -> int:
        try:
            changed = self._first_run() if self._is_first_run() else self._one_change()
        except EOFError:
            self.term.say("\nSetup stopped; nothing was written.")
            return 1
        finally:
            if self.api is not None:
                self.api.close()
        if not changed:
            self.term.say("Nothing changed.")
            return 0
        return self._save()

    def _is_first_run(self) -> bool:
        return not (self.current("TELEGRAM_BOT_TOKEN") and self.current("OWNER_TELEGRAM_ID"))

    def _first_run(self) -> bool:
        self.term.say("microdesk setup: five short steps; Ctrl-D stops without writing anything.")
        for step in (self.token, self.owner, self.zone, self.briefing, self.ai):
            step()
        return True

    def _one_change(self) -> bool:
        steps = [
            ("bot token", self.token, "set"),
            ("owner", self.owner, f"user id {self.current('OWNER_TELEGRAM_ID')}"),
            ("time zone and country", self.zone, self._zone_now()),
            ("briefing time", self.briefing, self.current("BRIEFING_TIME") or "08:00"),
            ("AI", self.ai, self._ai_now()),
        ]
        self.term.say(f"microdesk is set up ({self.o.env_path}). Change one thing:")
        for number, (name, _, now) in enumerate(steps, start=1):
            self.term.say(f"  [{number}] {name} — now: {now}")
        while True:
            answer = self.term.ask("Number [Enter: nothing]: ").strip()
            if not answer:
                return False
            if answer.isdigit() and 1 <= int(answer) <= len(steps):
                steps[int(answer) - 1][1]()
                return True
            self.term.say(f"Type a number from 1 to {len(steps)}, or press Enter.")

    def _save(self) -> int:
        try:
            self.env.write()
        except OSError as exc:
            self.term.say(f"✗ Cannot write {self.o.env_path}: {exc.strerror or exc}.")
            return 1
        self.term.say(f"✓ Saved {self.o.env_path} (readable by you only). Checking everything…")
        if self.doctor is not None:
            self.doctor()
        self.term.say("Next: ./scripts/start runs the bot; send it /add in Telegram to try it.")
        return 0

    # --- 1. the token --------------------------------------------------------------------------

    def token(self) -> None:
        self.term.say(
            f"\nStep 1 of {STEPS} · your bot's token. In Telegram, open @BotFather, send /newbot "
            "and choose a name; it answers with a token like 7123456789:AAH…"
        )
        kept = self.current("TELEGRAM_BOT_TOKEN")
        hint = " [Enter keeps the current one]" if kept else ""
        while True:
            token = self.term.ask(f"Bot token{hint}: ").strip() or kept
            if not token:
                self.term.say("The bot needs a token: paste the one @BotFather sent you.")
            elif not BOT_TOKEN.match(token):
                self.term.say(f"✗ That is {BAD_TOKEN.removeprefix('this is ')}.")
            elif self._connect(token):
                self.env.set("TELEGRAM_BOT_TOKEN", token)
                return

    def _connect(self, token: str) -> bool:
        """getMe with this token: True (and the bot remembered) when Telegram knows it."""
        api = BotApi(self.current("TELEGRAM_API_BASE_URL") or TELEGRAM, token)
        try:
            self.bot = api.get_me()
        except SetupError as exc:
            api.close()
            self.term.say(f"✗ {exc}.")
            return False
        if self.api is not None:
            self.api.close()
        self.api = api
        self.term.say(f"✓ The token works: your bot is @{self.bot.username}.")
        return True

    # --- 2. the owner --------------------------------------------------------------------------

    def owner(self) -> None:
        self.term.say(f"\nStep 2 of {STEPS} · you, the owner: the bot will serve only you.")
        while self.api is None or self.bot is None:
            self.token()
        while True:
            code = PairingCode(self.o.clock)
            self.term.say(
                f"Open https://t.me/{self.bot.username} in Telegram, tap Start, and send the bot "
                f"this code:\n\n    {code.shown}\n\nIt works once, for 10 minutes. Waiting…"
            )
            try:
                owner = self.api.pair(code, self.o.poll_seconds)
            except SetupError as exc:
                self.term.say(f"✗ {exc}.")
                owner = None
            if owner is not None:
                self.term.say(f"✓ Paired with {owner.described}. The bot will serve only you.")
                self.env.set("OWNER_TELEGRAM_ID", str(owner.id))
                return
            self.term.ask("No code arrived in time. Press Enter for a new code: ")

    # --- 3. zone and country -------------------------------------------------------------------

    def zone(self) -> None:
        self.term.say(f"\nStep 3 of {STEPS} · where you work: dates are shown and read in it.")
        now = self.current("TIMEZONE")
        suggested = now if now and now != "UTC" else system_zone()
        while True:
            zone = self.term.ask(f"Time zone [{suggested}]: ").strip() or suggested
            try:
                ZoneInfo(zone)
                break
            except (ZoneInfoNotFoundError, ValueError):
                problem = unknown_zone(zone)
                self.term.say(f"✗ {problem[0].upper()}{problem[1:]}")
        self.env.set("TIMEZONE", zone)
        self._country(self.current("COUNTRY") or country_of(zone) or "")

    def _country(self, suggested: str) -> None:
        shown = suggested or "none"
        while True:
            answer = self.term.ask(
                f"Country, for public holidays and how 05/06 is read (DE, US, DE-BY; '-' for "
                f"none) [{shown}]: "
            ).strip()
            country = suggested if not answer else "" if answer == "-" else answer.upper()
            if not country or COUNTRY_CODE.match(country):
                self.env.set("COUNTRY", country)
                return
            self.term.say("✗ Use a two-letter country code, optionally with a region: DE, DE-BY.")

    def _zone_now(self) -> str:
        zone, country = self.current("TIMEZONE") or "UTC", self.current("COUNTRY")
        return f"{zone}, {country}" if country else zone

    # --- 4. the briefing -----------------------------------------------------------------------

    def briefing(self) -> None:
        self.term.say(f"\nStep 4 of {STEPS} · the daily briefing: what is due, every morning.")
        suggested = self.current("BRIEFING_TIME") or "08:00"
        while True:
            answer = self.term.ask(f"Briefing time, HH:MM [{suggested}]: ").strip() or suggested
            try:
                at = parse_hhmm(answer)
            except ValueError:
                self.term.say("✗ Type the time as HH:MM on the 24-hour clock, e.g. 07:30.")
                continue
            self.env.set("BRIEFING_TIME", at.strftime("%H:%M"))
            return

    # --- 5. AI ---------------------------------------------------------------------------------

    def ai(self) -> None:
        self.term.say(
            f"\nStep 5 of {STEPS} · AI (optional: everything else works without it). Looking "
            f"for a model server on this machine ({', '.join(s.name for s in self.o.servers)})…"
        )
        choices = [(f.server, m) for f in probe(self.o.servers) for m in f.models]
        self._offer(choices)
        while True:
            answer = self.term.ask("AI model [Enter: keep as it is, 0: off]: ").strip()
            if not answer:
                return
            if answer == "0":
                self.env.set("OPENAI_BASE_URL", "")
                self.env.set("OPENAI_API_KEY", "")
                self.term.say("AI is off.")
                return
            if self._choose(answer, choices):
                return

    def _offer(self, choices: list[tuple[Server, str]]) -> None:
        if not choices:
            self.term.say(
                "No model server answered. Start one (e.g. `ollama serve`) and run setup again, "
                "or type its URL (…/v1), or an OpenAI API key (sk-…)."
            )
            return
        for number, (server, model) in enumerate(choices, start=1):
            self.term.say(f"  [{number}] {model} · {server.name} ({server.base_url})")
        self.term.say("Type a number, another server's URL (…/v1), or an OpenAI API key (sk-…).")

    def _choose(self, answer: str, choices: list[tuple[Server, str]]) -> bool:
        if answer.isdigit() and 1 <= int(answer) <= len(choices):
            server, model = choices[int(answer) - 1]
            return self._use(server.base_url, model, None)
        if answer.startswith(("http://", "https://")):
            found = probe([Server("your server", answer.rstrip("/"))])
            if not found or not found[0].models:
                self.term.say("✗ No OpenAI-compatible server answered there (is the URL …/v1?).")
                return False
            choices[:] = [(found[0].server, m) for m in found[0].models]
            self._offer(choices)
            return False
        if answer.startswith("sk-"):
            model = self.current("OPENAI_MODEL") or "gpt-4o-mini"
            return self._use(OPENAI, model, answer)
        self.term.say("✗ Type one of the numbers, a URL starting with http, or a key (sk-…).")
        return False

    def _use(self, base_url: str, model: str, key: str | None) -> bool:
        self.term.say(f"Asking {model} a test question…")
        try:
            seconds = try_model(base_url, model, key)
        except SetupError as exc:
            self.term.say(f"✗ {exc}.")
            return False
        self.term.say(f"✓ {model} answered in {seconds:.1f} s.")
        self.env.set("OPENAI_BASE_URL", "" if base_url == OPENAI else base_url)
        self.env.set("OPENAI_MODEL", model)
        if key is not None:
            self.env.set("OPENAI_API_KEY", key)
        return True

    def _ai_now(self) -> str:
        base, key = self.current("OPENAI_BASE_URL"), self.current("OPENAI_API_KEY")
        if not base and not key:
            return "off"
        return f"{self.current('OPENAI_MODEL') or 'gpt-4o-mini'} at {base or OPENAI}"
