"""`microdesk chat`: the same conversation in the terminal, as the owner.

Commands and plain text go to the same router as in Telegram; the buttons of the latest message
are shown numbered and pressed by typing their number; reminders and the briefing are printed
as they come due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from html.parser import HTMLParser

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from bot.app import Services
from bot.commands.build import build_conversation
from bot.commands.reply import Button, Reply
from bot.services.delivery.loop import Loops

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


def key_label(number: int, text: str) -> str:
    """A button as shown: its number to type, set apart from any #id in its label."""
    return f"‹{number}› {text}"


def button_lines(labels: list[str], width: int, gap: str = "   ") -> list[str]:
    """The labels on as few lines as fit in `width`, never broken inside a label."""
    lines: list[str] = []
    for label in labels:
        if lines and cell_len(lines[-1] + gap + label) <= width:
            lines[-1] += gap + label
        else:
            lines.append(label)
    return lines


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
        self._prompting = False  # the prompt is shown, waiting for the owner's line
        # the same supervised tick as in Telegram; client chats (drafting) are Telegram's only
        self.loops = Loops(self.tick, None, tick_seconds)
        self._indexing: asyncio.Task[None] | None = None

    def show(self, reply: Reply) -> None:
        self.console.print(to_rich(reply.text))
        buttons = [b for row in reply.buttons for b in row]
        if buttons:  # numbers always press the buttons of the latest message that had some
            self.buttons = buttons
            labels = [key_label(i, b.text) for i, b in enumerate(buttons, start=1)]
            for line in button_lines(labels, self.console.width):
                self.console.print(Text(line, style="dim"), no_wrap=True, overflow="ellipsis")

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
            to_rich(
                "<b>microdesk</b> — terminal chat. /help for commands, a button's number to "
                "press it, Ctrl-D to leave."
            )
        )
        if not self.s.prefs.zone_chosen:  # the first chat asks which zone dates are in
            self.show((await self.conversation.router.run_command("start", ""))[-1])
        try:
            await self.tick()  # the briefing due at start comes before the first prompt
        except Exception:
            log.exception("scheduled send failed; trying again on the next round")
        self.loops.start(delay=self.tick_seconds)
        if self.s.settings.KNOWLEDGE_DIR.is_dir():  # new or changed documents, in the background
            self._indexing = asyncio.create_task(self._index_quietly())
        try:
            while True:
                try:
                    self._prompting = True
                    line = await asyncio.to_thread(self._read, PROMPT)
                except EOFError:
                    self.console.print()  # Ctrl-D: the shell's prompt starts on a line of its own
                    break
                finally:
                    self._prompting = False
                if line.strip() in ("/quit", "/exit"):
                    break
                if line.strip():
                    for reply in await self.handle(line):
                        self.show(reply)
        finally:
            await self.loops.stop()

    async def _index_quietly(self) -> None:
        try:
            await self.s.knowledge.aingest_dir()
        except Exception:
            log.exception("reading the knowledge folder failed")

    async def tick(self) -> int:
        """One scheduler tick: what is due is printed (above a fresh prompt)."""
        return await self.conversation.run_tick(self._show_due)

    async def _show_due(self, reply: Reply) -> None:
        if self._prompting:
            self.console.print()  # off the line the owner is typing on
        self.show(reply)
        if self._prompting:
            self.console.print(PROMPT, end="")
