"""Dispatch of commands, button presses and plain text to feature modules.

Off the event loop: a handler written as a plain function (``def``, not ``async def``) does
only database work and rendering; the router runs it in a worker thread
(``asyncio.to_thread``), so a slow disk (a durable commit waits for a sync of the log) delays
that update alone, never a reminder, a draft or the poller. The thread inherits the context
(the inbox's current update, whose effects the commit records). An ``async def`` handler runs
on the loop: it awaits the network (the model, Telegram) and keeps its database calls short.
Updates are still handled one at a time, in order (:mod:`bot.tg.worker`).

Expected errors (:class:`bot.errors.MicrodeskError`) become their one-sentence message; anything
else is logged with its traceback and answered with a generic sentence.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar, cast

from bot.commands import callbacks
from bot.commands.reply import Reply, esc
from bot.errors import MicrodeskError

log = logging.getLogger(__name__)
T = TypeVar("T")

Replies = list[Reply]
CommandFn = Callable[[str], Awaitable[Replies]] | Callable[[str], Replies]
CallbackFn = (
    Callable[[callbacks.Callback], Awaitable[Replies]] | Callable[[callbacks.Callback], Replies]
)
TextFn = Callable[[str], Awaitable[Replies]]
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
        return await guarded(_call(command.run, args.strip()), f"/{command.name}")

    async def press(self, data: str | None) -> list[Reply]:
        try:
            cb = callbacks.decode(data)
            run = self._callbacks.get(cb.action)
            if run is None:
                raise callbacks.BadCallback()
        except MicrodeskError as exc:
            return [Reply(esc(str(exc)), toast=str(exc))]
        return await guarded(_call(run, cb), f"button {cb.action}")

    async def text(self, text: str) -> list[Reply]:
        if self._text is None:
            return [Reply("Send /help to see what I can do.")]
        return await guarded(self._text(text), "text")

    async def forwarded(self, sender: str, text: str) -> list[Reply]:
        """A message the owner forwarded from someone else (a client)."""
        if self._forward is None:
            return await self.text(text)
        return await guarded(self._forward(sender, text), "forward")


async def guarded(work: Awaitable[list[Reply]], what: str) -> list[Reply]:
    """The replies of `work`; a refusal or a failure becomes one sentence (details to the log)."""
    try:
        return await work
    except MicrodeskError as exc:
        log.info("%s refused: %s", what, type(exc).__name__)
        return [Reply(esc(str(exc)), toast=str(exc)[:190])]
    except Exception:
        log.exception("%s failed", what)
        return [Reply(GENERIC_FAILURE, toast=GENERIC_FAILURE)]


async def _call(run: Callable[[T], Awaitable[Replies]] | Callable[[T], Replies], arg: T) -> Replies:
    """Await an async handler; run a plain one in a worker thread (see the module docstring)."""
    if inspect.iscoroutinefunction(run):
        return await cast(Callable[[T], Awaitable[Replies]], run)(arg)
    return await asyncio.to_thread(cast(Callable[[T], Replies], run), arg)
