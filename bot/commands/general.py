"""/start, /help and /settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import callbacks
from bot.commands.callbacks import BadCallback, Callback
from bot.commands.reply import Button, Reply, esc
from bot.services.prefs import find_zone
from bot.services.team.service import days

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

INTRO = (
    "👋 <b>microdesk</b> keeps your tasks and deadlines, reminds you before they are due and "
    "sends a daily briefing. Anything the AI suggests waits for your Approve."
)


# the short list of zones offered at the first start, by the owner's first language
ZONES_BY_LANGUAGE = {
    "en": ("Europe/London", "America/New_York", "America/Chicago", "America/Los_Angeles"),
    "de": ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich"),
    "fr": ("Europe/Paris", "Europe/Brussels", "America/Toronto"),
    "es": (
        "Europe/Madrid",
        "America/Mexico_City",
        "America/Bogota",
        "America/Argentina/Buenos_Aires",
    ),
}


class GeneralCommands:
    def __init__(self, services: Services, router: Router) -> None:
        self.s = services
        self.router = router

    def register(self, router: Router) -> None:
        router.command("start", "what I do", self.help)
        router.command("help", "the commands", self.help)
        router.command(
            "settings",
            "view or change: timezone ZONE, briefing HH:MM, team instant|briefing|snooze DAYS",
            self.settings,
        )
        router.on_callback("zs", self.press_zone)

    async def help(self, args: str) -> list[Reply]:
        """What the bot does and its commands; the first time, also which zone to read dates in."""
        lines = [INTRO, ""]
        lines += [f"/{c.name} — {esc(c.description)}" for c in self.router.commands.values()]
        replies = [Reply("\n".join(lines))]
        if not self.s.prefs.zone_chosen:
            replies.append(self.zone_question())
        return replies

    def zone_question(self) -> Reply:
        """Telegram tells no zone: a short list from the owner's languages, or type a city."""
        zones: list[str] = []
        for language in self.s.settings.languages:
            zones += [z for z in ZONES_BY_LANGUAGE.get(language, ()) if z not in zones]
        buttons = [Button(z.rsplit("/", 1)[-1].replace("_", " "), callbacks.encode("zs", z))
                   for z in [*zones[:7], "UTC"]]  # fmt: skip
        rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
        text = (
            "🕘 Which time zone are your dates in? Until you choose, I read them in "
            f"<b>{esc(self.s.prefs.timezone_name)}</b>. Pick one, or type a city: "
            "<code>/settings timezone Lisbon</code>."
        )
        return Reply(text, buttons=rows)

    async def press_zone(self, cb: Callback) -> list[Reply]:
        zone = cb.args[0]
        if find_zone(zone) != zone:
            raise BadCallback()
        return [self._zone_changed(zone, edit=True)]

    def _zone_changed(self, value: str, *, edit: bool = False) -> Reply:
        old = self.s.prefs.tz
        zone = self.s.prefs.set_timezone(value)
        moved = self.s.tasks.rezone(old, self.s.prefs.tz) if str(old) != zone else 0
        line = f"🕘 Time zone: <b>{esc(zone)}</b>."
        if moved:
            line += (
                f" {moved} task{'s' if moved != 1 else ''} kept {'their' if moved != 1 else 'its'}"
                " local clock time (a 09:00 meeting is still 09:00)."
            )
        return Reply(line, edit=edit)

    async def settings(self, args: str) -> list[Reply]:
        """Show or change the time zone and briefing time."""
        key, _, value = args.strip().partition(" ")
        key, value = key.lower(), value.strip()
        if key in ("timezone", "tz") and value:
            changed = self._zone_changed(value)
            return [changed, self._summary()]
        if key == "briefing" and value:
            self.s.prefs.set_briefing_time(value)
        elif key == "team":
            self.s.team.configure(value)
        elif key:
            return [Reply("Use /settings timezone Europe/Berlin or /settings briefing 08:00.")]
        return [self._summary()]

    def _summary(self) -> Reply:
        prefs, settings = self.s.prefs, self.s.settings
        order, order_from = prefs.date_order
        country = settings.COUNTRY or "none (weekends only)"
        return Reply(
            f"Time zone: <b>{esc(prefs.timezone_name)}</b> ({esc(prefs.timezone_source)})\n"
            f"Dates: {esc(settings.LANGUAGES)}; numeric order <b>{order or 'ask'}</b> "
            f"({esc(order_from)}); holidays: {esc(country)}\n"
            f"Daily briefing: <b>{prefs.briefing_time.strftime('%H:%M')}</b>\n"
            f"AI: <b>{'on' if settings.llm_enabled else 'off'}</b>\n"
            f"Drafting replies to clients: <b>{self._drafting()}</b> (/autodraft on|off)\n"
            f"Team news: <b>{'instant' if self.s.team.instant() else 'in the briefing'}</b>; "
            f"contractors may snooze up to <b>{days(self.s.team.snooze_days())}</b>"
        )

    def _drafting(self) -> str:
        """The same switch /autodraft shows, and whether it can draft now."""
        if not self.s.clients.autodraft:
            return "off"
        return (
            "on" if self.s.settings.llm_enabled else "on, but AI is off: no drafts until it is on"
        )
