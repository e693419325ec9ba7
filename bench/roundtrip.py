"""Round trips and bursts through the fake Bot API (real HTTP on 127.0.0.1), in one event loop.

Two fakes run side by side: one serves the floor, a bare python-telegram-bot echo bot on PTB's
own Updater (long polling, sequential handling, as PTB's echobot example); the other serves the
real microdesk Application (durable inbox, fsync'd SQLite) over a database of 1,000 tasks.
Requests alternate between them, one at a time, so both see the same machine noise.

A round trip is timed on the server side, with monotonic clocks: from the moment the update is
enqueued at the fake to the moment the fake receives the bot's first answering call
(sendMessage, or answerCallbackQuery for a button). The next request waits until the bot is
idle again (its next long poll is waiting and nothing is in flight), so each trip starts cold.
Nothing polls while a trip is timed: the fake's call log wakes the waiting bench.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench.common import OWNER, TOKEN, Timings, bench_settings
from bench.seed import seed_tasks
from bot.app import Services, build_services
from bot.tg.app import TelegramAdapter
from tests.fakes.botapi import Call, FakeBotAPI

REPLIES = frozenset({"sendMessage", "answerCallbackQuery", "editMessageText", "sendDocument"})
POLL_TIMEOUT = 10  # seconds of long polling, for both bots
ADD_PHRASES = [
    "Call client {i} tomorrow 3pm",
    "Send invoice {i} to Acme GmbH friday",
    "Pay supplier {i} in 5 days",
    "Update the price list {i} @anna next week",
    "Book the accountant {i} next tuesday 10:30",
    "Renew insurance policy {i} in 2 weeks",
]
DONE_PREFIX = "td"
ASK_QUESTIONS = [  # the project's evaluation questions
    json.loads(line)["question"]
    for line in (Path(__file__).resolve().parent.parent / "tests/eval/questions.jsonl").open()
]
Corpus = tuple[list[str], Any]  # chunk texts and their vectors (numpy, one row each)


class CallLog(list[Call]):
    """Stands in for ``FakeBotAPI.calls``: counts answering calls and wakes whoever waits."""

    def __init__(self) -> None:
        super().__init__()
        self.replies = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def append(self, call: Call) -> None:
        super().append(call)
        if call.method not in REPLIES:
            return
        self.replies += 1
        for target, future in list(self._waiters):
            if self.replies >= target and not future.done():
                future.set_result(None)
        self._waiters = [(t, f) for t, f in self._waiters if not f.done()]

    def until_replies(self, target: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.replies >= target:
            future.set_result(None)
        else:
            self._waiters.append((target, future))
        return future


@dataclass
class Exchange:
    """One request and the calls it caused."""

    enqueued: float
    calls: list[Call]

    @property
    def replies(self) -> list[Call]:
        return [c for c in self.calls if c.method in REPLIES]

    @property
    def first(self) -> float:
        return self.replies[0].at - self.enqueued

    @property
    def last(self) -> float:
        return self.replies[-1].at - self.enqueued

    def text(self) -> str:
        return str(self.replies[0].params.get("text", ""))


class Driver:
    """Acts as the owner on one fake and times what comes back."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.log = CallLog()
        api.calls = self.log

    async def request(self, act: Callable[[], object]) -> Exchange:
        start = len(self.log)
        answered = self.log.until_replies(self.log.replies + 1)
        enqueued = time.monotonic()
        act()
        await asyncio.wait_for(answered, 60)
        await self.idle()
        return Exchange(enqueued, list(self.log[start:]))

    async def burst(self, texts: list[str]) -> float:
        """Enqueue all at once; updates per second until the last answer arrived."""
        await self.idle()
        start = len(self.log)
        answered = self.log.until_replies(self.log.replies + len(texts))
        enqueued = time.monotonic()
        for text in texts:
            self.api.send_message(text, user_id=OWNER)
        await asyncio.wait_for(answered, 300)
        replies = [c for c in self.log[start:] if c.method in REPLIES]
        elapsed = replies[len(texts) - 1].at - enqueued
        await self.idle()
        return len(texts) / elapsed

    async def idle(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Until a long poll waits and no other call is in flight, twice 2 ms apart."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            await asyncio.sleep(0.002)
            quiet = quiet + 1 if self._idle() else 0
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not go idle:\n" + self.api.describe())

    def _idle(self) -> bool:
        polling = False
        for call in reversed(self.log):
            if call.method == "getUpdates":
                polling = call.status is None
                break
        busy = any(c.status is None for c in self.log[-40:] if c.method != "getUpdates")
        return polling and not busy


# --- the two bots --------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo the user message (python-telegram-bot's echobot example)."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def start_floor(api: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.bot_base_url)
        .base_file_url(api.file_base_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(timeout=POLL_TIMEOUT, poll_interval=0)
    await app.start()
    return app


async def stop_floor(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def start_bot(
    api: FakeBotAPI, data: Path, tasks: int, corpus: Corpus | None
) -> tuple[Services, TelegramAdapter]:
    """The real Application, as `microdesk run` builds it, over `tasks` stored tasks and, with a
    corpus, its chunks in the bot's own document store (SQLite and the chroma index in DATA_DIR).

    The scheduler ticks once at start and then only hourly, so no reminder or briefing lands in
    the middle of a timed trip (the sweep is measured on its own). The index is warmed before
    the first request, as the bot does in the background after start.
    """
    services = build_services(bench_settings(data, api.base_url))
    seed_tasks(services, tasks)
    if corpus is not None:
        from bench.bench_knowledge import fill

        knowledge = services.knowledge
        fill(knowledge, knowledge._index, *corpus)  # type: ignore[arg-type]
        await knowledge.awarm_up()
    adapter = TelegramAdapter(services, tick_seconds=3600)
    await adapter.startup(poll_timeout=POLL_TIMEOUT)
    return services, adapter


# --- the runs ------------------------------------------------------------------------------


@dataclass
class RoundTrips:
    floor: list[float] = field(default_factory=list)
    add: list[float] = field(default_factory=list)
    button: list[float] = field(default_factory=list)
    tasks_first: list[float] = field(default_factory=list)
    tasks_all: list[float] = field(default_factory=list)
    tasks_pieces: int = 0
    ask: list[float] = field(default_factory=list)
    floor_burst: list[float] = field(default_factory=list)
    add_burst: list[float] = field(default_factory=list)

    def timings(self, name: str) -> Timings:
        return Timings.of(getattr(self, name))


def done_button(message: dict[str, Any]) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if str(button.get("callback_data", "")).startswith(DONE_PREFIX + ":"):
                return str(button["callback_data"])
    raise LookupError(f"no Done button on {message}")


def expect(exchange: Exchange, text: str | tuple[str, ...], what: str) -> None:
    """The answer holds `text` (or one of several: a found passage, or a decline)."""
    wanted = (text,) if isinstance(text, str) else text
    if not any(part in exchange.text() for part in wanted):
        raise AssertionError(f"{what}: expected {wanted!r}, got {exchange.text()!r}")


async def run(
    rounds: int, warmup: int, burst: int, bursts: int, tasks: int, corpus: Corpus | None = None
) -> RoundTrips:
    """Round trips, then bursts; /ask too when a corpus is given."""
    out = RoundTrips()
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
        async with FakeBotAPI(token=TOKEN) as floor_api, FakeBotAPI(token=TOKEN) as bot_api:
            floor_app = await start_floor(floor_api)
            services, adapter = await start_bot(bot_api, Path(tmp), tasks, corpus)
            floor, bot = Driver(floor_api), Driver(bot_api)
            try:
                await floor.idle()
                await bot.idle()
                await _round_trips(floor, bot, rounds, warmup, out, ask=corpus is not None)
                for _ in range(bursts):
                    echo_texts = [f"burst echo {i}" for i in range(burst)]
                    out.floor_burst.append(await floor.burst(echo_texts))
                    adds = [
                        "/add " + ADD_PHRASES[i % len(ADD_PHRASES)].format(i=f"b{i}")
                        for i in range(burst)
                    ]
                    out.add_burst.append(await bot.burst(adds))
            finally:
                await adapter.shutdown()
                services.close()
                await stop_floor(floor_app)
    return out


async def _round_trips(
    floor: Driver, bot: Driver, rounds: int, warmup: int, out: RoundTrips, *, ask: bool
) -> None:
    fa, ba = floor.api, bot.api
    for i in range(warmup + rounds):
        echoed = await floor.request(partial(fa.send_message, f"hello {i}", user_id=OWNER))
        phrase = ADD_PHRASES[i % len(ADD_PHRASES)].format(i=i)
        added = await bot.request(partial(ba.send_message, f"/add {phrase}", user_id=OWNER))
        expect(added, "Added", "/add")
        message = added.replies[0].result
        press = partial(ba.press_button, message, data=done_button(message), user_id=OWNER)
        pressed = await bot.request(press)
        if pressed.replies[0].method != "answerCallbackQuery":
            raise AssertionError(f"button: first answer was {pressed.replies[0].method}")
        listed = await bot.request(partial(ba.send_message, "/tasks", user_id=OWNER))
        expect(listed, "open tasks", "/tasks")
        asked = None
        if ask:
            question = ASK_QUESTIONS[i % len(ASK_QUESTIONS)]
            asked = await bot.request(partial(ba.send_message, f"/ask {question}", user_id=OWNER))
            expect(asked, ("From your documents", "Not in your documents"), "/ask")
        if i < warmup:
            continue
        if asked is not None:
            out.ask.append(asked.first)
        out.floor.append(echoed.first)
        out.add.append(added.first)
        out.button.append(pressed.first)
        out.tasks_first.append(listed.first)
        out.tasks_all.append(listed.last)
        out.tasks_pieces = len(listed.replies)


def median(values: list[float]) -> float:
    return statistics.median(values)
