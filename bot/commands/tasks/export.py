"""/export: the deadlines as a calendar file (.ics) and every task as a spreadsheet (.csv)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.reply import Document, Reply
from bot.services.tasks import dates

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

TERMINAL_HINT = "(In the terminal, save them with: microdesk export --ics FILE --csv FILE)"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class ExportCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def register(self, router: Router) -> None:
        router.command("export", "deadlines as a calendar file (.ics), tasks as .csv", self.export)

    async def export(self, args: str) -> list[Reply]:
        """Send the calendar and the spreadsheet, one file each."""
        from bot.services.tasks.export import export_all, file_names  # icalendar: on first use

        now, tz = self.s.clock.now(), self.s.prefs.tz
        files = export_all(self.s.sessions, tz, now)
        ics_name, csv_name = file_names(dates.to_local(now, tz).date())
        ics_caption = (
            f"📅 {plural(files.deadlines, 'deadline')} as a calendar: open the file to import it "
            "into Google Calendar, Apple Calendar or Outlook. Importing a newer export updates "
            "the same events."
        )
        csv_caption = (
            f"📋 {plural(files.tasks, 'task')} as a spreadsheet (CSV), "
            f"times in {self.s.prefs.timezone_name}."
        )
        return [
            Reply(ics_caption, document=Document(ics_name, files.ics, ics_caption)),
            Reply(
                f"{csv_caption}\n{TERMINAL_HINT}",
                document=Document(csv_name, files.csv, csv_caption),
            ),
        ]
