"""/start, /help and /settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.reply import Reply, esc

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

INTRO = (
    "👋 <b>microdesk</b> keeps your tasks and deadlines, reminds you before they are due and "
    "sends a daily briefing. Anything the AI suggests waits for your Approve."
)


class GeneralCommands:
    def __init__(self, services: Services, router: Router) -> None:
        self.s = services
        self.router = router

    def register(self, router: Router) -> None:
        router.command("start", "what I do", self.help)
        router.command("help", "the commands", self.help)
        router.command("settings", "view or change: timezone ZONE, briefing HH:MM", self.settings)

    def help(self, args: str) -> list[Reply]:
        """What the bot does and its commands."""
        lines = [INTRO, ""]
        lines += [f"/{c.name} — {esc(c.description)}" for c in self.router.commands.values()]
        return [Reply("\n".join(lines))]

    def settings(self, args: str) -> list[Reply]:
        """Show or change the time zone and briefing time."""
        key, _, value = args.strip().partition(" ")
        key, value = key.lower(), value.strip()
        if key in ("timezone", "tz") and value:
            self.s.prefs.set_timezone(value)
        elif key == "briefing" and value:
            self.s.prefs.set_briefing_time(value)
        elif key:
            return [Reply("Use /settings timezone Europe/Berlin or /settings briefing 08:00.")]
        prefs = self.s.prefs
        return [
            Reply(
                f"Time zone: <b>{esc(prefs.timezone_name)}</b>\n"
                f"Daily briefing: <b>{prefs.briefing_time.strftime('%H:%M')}</b>\n"
                f"AI drafting: <b>{'on' if self.s.settings.llm_enabled else 'off'}</b>"
            )
        ]
