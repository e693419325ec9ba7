"""`microdesk chat`: the same conversation in the terminal, as the owner.

Commands and plain text go to the same router as in Telegram; the buttons of the latest message
are shown numbered and pressed by typing their number; reminders and the briefing are printed
as they come due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from html.parser import HTMLParser

from rich.console import Console
from rich.text import Text

from bot.app import Services
from bot.commands.build import build_conversation
from bot.commands.reply import Button, Reply
from bot.services.delivery.loop import Loops
from bot.services.knowledge.watch import watch_folder

STYLES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "code": "cyan",
    "pre": "cyan",
}
PROMPT = "you › "
log = logging.getLogger(__name__)


class _ToRich(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = Text()
        self._styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._styles.append(STYLES.get(tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if self._styles:
            self._styles.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data, style=" ".join(s for s in self._styles if s) or None)


def to_rich(html_text: str) -> Text:
    """Telegram's HTML subset as styled terminal text."""
    parser = _ToRich()
    parser.feed(html_text)
    parser.close()
    return parser.text


class ConsoleChat:
    def __init__(
        self,
        services: Services,
        *,
        console: Console | None = None,
        read: Callable[[str], str] = input,
        tick_seconds: float = 20.0,
    ) -> None:
        self.s = services
        self.conversation = build_conversation(services)
        self.console = console or Console()
        self._read = read
        self.tick_seconds = tick_seconds
        self.buttons: list[Button] = []
        # the same supervised tick as in Telegram; client chats (drafting) are Telegram's only
        self.loops = Loops(self.tick, None, tick_seconds)
        self._indexing: asyncio.Task[None] | None = None

    def show(self, reply: Reply) -> None:
        self.console.print(to_rich(reply.text))
        buttons = [b for row in reply.buttons for b in row]
        if buttons:  # numbers always press the buttons of the latest message that had some
            self.buttons = buttons
            labels = [f"[{i}] {b.text}" for i, b in enumerate(buttons, start=1)]
            self.console.print(Text("   ".join(labels), style="dim"))

    async def handle(self, line: str) -> list[Reply]:
        """One line typed by the owner: a command, a button number, or plain text."""
        line = line.strip()
        router = self.conversation.router
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return await router.press(self.buttons[int(line) - 1].data)
        if line.startswith("/"):
            head, _, args = line.partition(" ")
            return await router.run_command(head[1:], args)
        return await router.text(line)

    async def run(self) -> None:
        self.console.print(
            to_rich("<b>microdesk</b> — terminal chat. /help for commands, Ctrl-D to leave.")
        )
        if not self.s.prefs.zone_chosen:  # the first chat asks which zone dates are in
            self.show((await self.conversation.router.run_command("start", ""))[-1])
        self.loops.start()
        if self.s.settings.KNOWLEDGE_DIR.is_dir():  # new or changed documents, in the background
            self._indexing = asyncio.create_task(self._index_quietly())
        try:
            while True:
                try:
                    line = await asyncio.to_thread(self._read, PROMPT)
                except EOFError:
                    break
                if line.strip() in ("/quit", "/exit"):
                    break
                if line.strip():
                    for reply in await self.handle(line):
                        self.show(reply)
        finally:
            await self.loops.stop()
            if self._indexing is not None:  # the folder watch runs until the chat ends
                self._indexing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._indexing

    async def _index_quietly(self) -> None:
        """Read KNOWLEDGE_DIR, then keep it indexed as it changes (as the bot does)."""
        try:
            await self.s.knowledge.aingest_dir()
        except Exception:
            log.exception("reading the knowledge folder failed")
        await watch_folder(self.s.knowledge, self.s.settings.KNOWLEDGE_DIR)

    async def tick(self) -> int:
        """One scheduler tick: what is due is printed."""

        async def show(reply: Reply) -> None:
            self.show(reply)

        return await self.conversation.run_tick(show)
