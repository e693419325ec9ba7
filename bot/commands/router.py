"""Dispatch of commands, button presses and plain text to feature modules.

Expected errors (:class:`bot.errors.MicrodeskError`) become their one-sentence message; anything
else is logged with its traceback and answered with a generic sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands import callbacks
from bot.commands.reply import Reply, esc
from bot.errors import MicrodeskError

log = logging.getLogger(__name__)

CommandFn = Callable[[str], Awaitable[list[Reply]]]
CallbackFn = Callable[[callbacks.Callback], Awaitable[list[Reply]]]
TextFn = Callable[[str], Awaitable[list[Reply]]]
ForwardFn = Callable[[str, str], Awaitable[list[Reply]]]
GENERIC_FAILURE = "Something went wrong on my side; nothing was changed. Please try again."


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    run: CommandFn


class Router:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self._callbacks: dict[str, CallbackFn] = {}
        self._text: TextFn | None = None
        self._forward: ForwardFn | None = None

    def command(self, name: str, description: str, run: CommandFn) -> None:
        self.commands[name] = Command(name, description, run)

    def on_callback(self, action: str, run: CallbackFn) -> None:
        if action not in callbacks.ACTIONS:
            raise ValueError(f"unregistered callback action {action!r}")
        self._callbacks[action] = run

    def on_text(self, run: TextFn) -> None:
        self._text = run

    def on_forward(self, run: ForwardFn) -> None:
        self._forward = run

    async def run_command(self, name: str, args: str) -> list[Reply]:
        command = self.commands.get(name.lower())
        if command is None:
            return [Reply(f"I don't know /{esc(name[:40])}. Send /help for the list.")]
        return await self._guard(command.run(args.strip()), f"/{command.name}")

    async def press(self, data: str | None) -> list[Reply]:
        try:
            cb = callbacks.decode(data)
            run = self._callbacks.get(cb.action)
            if run is None:
                raise callbacks.BadCallback()
        except MicrodeskError as exc:
            return [Reply(esc(str(exc)), toast=str(exc))]
        return await self._guard(run(cb), f"button {cb.action}")

    async def text(self, text: str) -> list[Reply]:
        if self._text is None:
            return [Reply("Send /help to see what I can do.")]
        return await self._guard(self._text(text), "text")

    async def forwarded(self, sender: str, text: str) -> list[Reply]:
        """A message the owner forwarded from someone else (a client)."""
        if self._forward is None:
            return await self.text(text)
        return await self._guard(self._forward(sender, text), "forward")

    @staticmethod
    async def _guard(work: Awaitable[list[Reply]], what: str) -> list[Reply]:
        try:
            return await work
        except MicrodeskError as exc:
            log.info("%s refused: %s", what, type(exc).__name__)
            return [Reply(esc(str(exc)), toast=str(exc)[:190])]
        except Exception:
            log.exception("%s failed", what)
            return [Reply(GENERIC_FAILURE, toast=GENERIC_FAILURE)]
