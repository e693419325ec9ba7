"""Webhook mode over real HTTP: the real adapter serves on 127.0.0.1, Telegram is the fake.

What Telegram posts is checked (secret, size, shape) before anything is stored; a stored update
is answered 200 and handled once, however often it is delivered; switching back to polling
removes the webhook.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_services
from bot.clock import FrozenClock
from bot.tg.app import ALLOWED_UPDATES, REFUSAL, TelegramAdapter
from bot.tg.webhook import MAX_BODY
from tests.conftest import OWNER, STRANGER, make_settings
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.webhook import WebhookCaller, free_port

WEBHOOK_URL = "https://bot.example.invalid/tg/hook"
SECRET = "webhook-secret_for-tests-1"


class Hooked:
    """The running adapter in webhook mode and Telegram's side of its webhook."""

    def __init__(self, adapter: TelegramAdapter, caller: WebhookCaller, data: Path) -> None:
        self.adapter, self.caller, self.data = adapter, caller, data

    def stored(self) -> list[int]:
        with sqlite3.connect(self.data / "microdesk.db") as db:
            return [row[0] for row in db.execute("SELECT update_id FROM inbox ORDER BY 1")]

    @staticmethod
    def added(botapi: FakeBotAPI) -> list[str]:
        """The bot's "Added: …" replies in any chat (a briefing may arrive beside them)."""
        return [m["text"] for m in botapi.bot_messages() if m["text"].startswith("Added")]

    def titles(self) -> list[str]:
        return sorted(task.title for task in self.adapter.s.tasks.list("all"))


async def start_webhook_bot(tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock) -> Hooked:
    port = free_port()
    settings = make_settings(
        tmp_path,
        TELEGRAM_API_BASE_URL=botapi.base_url,
        WEBHOOK_URL=WEBHOOK_URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=str(port),
    )
    adapter = TelegramAdapter(build_services(settings, clock), webhook_host="127.0.0.1")
    await adapter.startup()
    # setWebhook is called once the server listens: from then on it can be posted to
    await botapi.wait_for(lambda: botapi.webhook, what="setWebhook")
    return Hooked(adapter, WebhookCaller(botapi, f"http://127.0.0.1:{port}"), tmp_path)


@pytest.fixture
async def hooked(tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock) -> AsyncIterator[Hooked]:
    running = await start_webhook_bot(tmp_path, botapi, clock)
    yield running
    await running.adapter.shutdown()
    running.adapter.s.close()


async def test_start_registers_the_url_and_the_secret_and_never_polls(
    hooked: Hooked, botapi: FakeBotAPI
) -> None:
    [call] = botapi.calls_to("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ALLOWED_UPDATES
    assert call.params["drop_pending_updates"] is False
    assert not botapi.calls_to("getUpdates") and not botapi.calls_to("deleteWebhook")


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x"])
async def test_a_missing_or_wrong_secret_is_refused_and_nothing_stored(
    hooked: Hooked, botapi: FakeBotAPI, caplog: pytest.LogCaptureFixture, secret: str | None
) -> None:
    caplog.set_level(logging.DEBUG)
    update = botapi.send_message("/add Should not exist tomorrow", user_id=OWNER)
    assert await hooked.caller.post(update, secret=secret) == 403
    assert hooked.stored() == []
    assert hooked.titles() == [] and not hooked.added(botapi)
    assert "refused a request" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00junk",
        b"[1, 2]",
        b'{"message": {"text": "no update id"}}',
        b'{"update_id": "7", "message": {}}',
        b'{"update_id": true}',
    ],
)
async def test_a_body_that_is_not_an_update_is_400_and_nothing_stored(
    hooked: Hooked, body: bytes
) -> None:
    assert await hooked.caller.post(body) == 400
    assert hooked.stored() == []


async def test_an_oversized_body_is_413_and_nothing_stored(hooked: Hooked) -> None:
    assert await hooked.caller.post(b'{"update_id": 5, "pad": "' + b"x" * MAX_BODY + b'"}') == 413
    assert hooked.stored() == []


async def test_only_post_on_the_registered_path_is_served(hooked: Hooked) -> None:
    update = {"update_id": 5}
    assert await hooked.caller.post(update, path="/other") == 404
    assert await hooked.caller.post(update, method="GET") == 405
    assert hooked.stored() == []


async def test_an_add_is_answered_200_stored_handled_and_replied(
    hooked: Hooked, botapi: FakeBotAPI
) -> None:
    update = botapi.send_message("/add Call the accountant tomorrow", user_id=OWNER)
    assert await hooked.caller.deliver(update) == 200
    assert update["update_id"] in hooked.stored()  # stored before the 200
    await botapi.wait_for_message(OWNER, "Added")
    assert hooked.titles() == ["Call the accountant"]


async def test_the_same_update_delivered_twice_is_handled_once(
    hooked: Hooked, botapi: FakeBotAPI
) -> None:
    update = botapi.send_message("/add Pay the rent tomorrow", user_id=OWNER)
    assert await hooked.caller.deliver(update) == 200
    await botapi.wait_for_message(OWNER, "Added")
    assert await hooked.caller.post(update) == 200  # Telegram lost our 200 and posts again
    later = botapi.send_message("/tasks", user_id=OWNER)
    assert await hooked.caller.deliver(later) == 200
    await botapi.wait_for_message(OWNER, "Pay the rent", after=1)  # handled after the repeat
    assert hooked.titles() == ["Pay the rent"]
    assert len(hooked.added(botapi)) == 1
    assert hooked.stored() == sorted([update["update_id"], later["update_id"]])


async def test_a_burst_is_handled_in_order_each_once(hooked: Hooked, botapi: FakeBotAPI) -> None:
    updates = [botapi.send_message(f"/add Burst {i} tomorrow", user_id=OWNER) for i in range(8)]
    for update in updates:
        assert await hooked.caller.deliver(update) == 200
    await botapi.wait_for(lambda: len(hooked.added(botapi)) == 8, what="8 replies")
    assert len(hooked.titles()) == 8
    added = [text.split("Burst ")[1][0] for text in hooked.added(botapi)]
    assert added == [str(i) for i in range(8)]


async def test_a_stranger_gets_the_refusal_as_when_polling(
    hooked: Hooked, botapi: FakeBotAPI
) -> None:
    update = botapi.send_message("/add Steal the data tomorrow", user_id=STRANGER)
    assert await hooked.caller.deliver(update) == 200
    refusal = await botapi.wait_for_message(STRANGER)
    assert refusal["text"] == REFUSAL
    assert hooked.titles() == [] and not hooked.added(botapi)


async def test_polling_after_webhook_mode_deletes_the_webhook_and_keeps_updates(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock
) -> None:
    hooked = await start_webhook_bot(tmp_path, botapi, clock)
    await hooked.adapter.shutdown()
    hooked.adapter.s.close()
    assert botapi.webhook is not None  # left set on stop: Telegram keeps queueing for us
    waiting = botapi.send_message("/add Sent while switching tomorrow", user_id=OWNER)
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=botapi.base_url)
    polling = TelegramAdapter(build_services(settings, clock))
    await polling.startup(poll_timeout=1)
    try:
        [deleted] = botapi.calls_to("deleteWebhook")
        assert deleted.params.get("drop_pending_updates") is False
        assert botapi.webhook is None
        await botapi.wait_for_message(OWNER, "Added")
        await botapi.wait_for(lambda: waiting in botapi.confirmed_updates, what="confirmed")
        assert [t.title for t in polling.s.tasks.list("all")] == ["Sent while switching"]
    finally:
        await polling.shutdown()
        polling.s.close()


async def test_polling_without_a_webhook_deletes_nothing(
    bot: TelegramAdapter, botapi: FakeBotAPI
) -> None:
    botapi.send_message("/help", user_id=OWNER)
    await botapi.wait_for_message(OWNER)
    assert botapi.calls_to("getWebhookInfo") and not botapi.calls_to("deleteWebhook")


async def test_a_url_telegram_refuses_stops_the_bot_with_one_clear_line(
    tmp_path: Path, botapi: FakeBotAPI, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path,
        TELEGRAM_API_BASE_URL=botapi.base_url,
        WEBHOOK_URL="http://desk.example.invalid/tg",  # Telegram calls HTTPS URLs only
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=str(free_port()),
    )
    adapter = TelegramAdapter(build_services(settings, clock), webhook_host="127.0.0.1")
    assert await adapter.serve() is False  # `microdesk run` exits 1
    [refused] = [r for r in caplog.records if "refused WEBHOOK_URL" in r.getMessage()]
    assert "https url must be provided" in refused.getMessage().lower()
    assert botapi.webhook is None and SECRET not in caplog.text


async def test_after_shutdown_the_port_is_closed(tmp_path: Path, hooked: Hooked) -> None:
    await hooked.adapter.shutdown()
    with pytest.raises(aiohttp.ClientConnectionError):
        await hooked.caller.post({"update_id": 1})
