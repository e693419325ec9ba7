"""kill -9 the bot after a scheduled send, mid-ingest and mid-backup; restart; check the state.

after_send    the reminder went out, its outbox row still says sending: after the restart
              it is sent once more with the "sent again" marker, never twice unmarked,
              and every row ends sent with Telegram's message id; the same for a drafted
              reply's card (the model, a fake OpenAI server in this process, is asked once),
              and Approve on either copy sends the reply into the client chat once
mid_ingest    vectors written, the document not committed: the restart finishes the ingest,
              the stored chunks and the vector ids agree, answers cite the document
mid_backup    the archive half written: no partial file counts as a backup, the database is
              intact, the next backups succeed and rotation sees only complete archives
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services.backup.archive import unpack
from tests.conftest import OWNER
from tests.crash_helpers import (
    AGAIN,
    DOCS,
    Bot,
    copy_docs,
    indexed_docs,
    integrity,
    offline_services,
    outbox,
    reminder_counts,
    seed_client_burst,
    seed_reminders,
)
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_api import Reply as LLMReply

pytestmark = pytest.mark.asyncio


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    return copy_docs(tmp_path)


@pytest.fixture
def procs() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        if bot.proc is not None and bot.proc.returncode is None:
            bot.proc.send_signal(signal.SIGKILL)


async def test_kill_after_a_send_resends_it_once_marked_and_settles_the_outbox(
    tmp_path: Path, botapi: FakeBotAPI, procs: list[Bot]
) -> None:
    titles = seed_reminders(tmp_path, 3)
    bot = Bot(tmp_path, botapi, BRIEFING_TIME="00:00")
    procs.append(bot)
    await bot.start("after_send", after=2)  # the first reminder settles, the second does not
    assert await bot.wait_killed(60) == -signal.SIGKILL
    assert [status for _, status, _ in outbox(tmp_path)][:2] == ["sent", "sending"]
    await bot.start()

    def settled() -> bool:
        rows = outbox(tmp_path)
        return len(rows) == 4 and all(status == "sent" for _, status, _ in rows)

    await botapi.wait_for(settled, timeout=60)
    await botapi.wait_idle(quiet=1.0)
    await bot.kill()
    counts = reminder_counts(botapi, titles)
    assert counts == {titles[0]: (1, 0), titles[1]: (1, 1), titles[2]: (1, 0)}
    briefings = [m for m in botapi.bot_messages(OWNER) if "Briefing" in m["text"]]
    assert len(briefings) == 1
    sent_ids = {m["message_id"] for m in botapi.bot_messages(OWNER)}
    assert all(message_id in sent_ids for _, _, message_id in outbox(tmp_path))
    assert integrity(tmp_path) == "ok"


async def test_kill_after_a_cards_send_resends_it_once_marked_and_approve_sends_once(
    tmp_path: Path, botapi: FakeBotAPI, procs: list[Bot]
) -> None:
    connection, anna, draft = "biz-crash", 5551, "Hi Anna, it is 40 € per hour. Mia"
    botapi.business_connections[connection] = {
        "id": connection,
        "user": botapi.make_user(OWNER),
        "user_chat_id": OWNER,
        "date": 0,
        "rights": {"can_reply": True},
        "is_enabled": True,
    }
    seed_client_burst(tmp_path, connection, anna, "How much is the workshop?")
    async with FakeOpenAI() as llm:
        llm.script(LLMReply.text(draft))
        bot = Bot(tmp_path, botapi, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="test-only")
        procs.append(bot)
        await bot.start("after_send", after=1)  # the card went out; its row says sending
        assert await bot.wait_killed(120) == -signal.SIGKILL
        assert outbox(tmp_path) == [("card", "sending", None)]
        await bot.start()
        await botapi.wait_for(lambda: outbox(tmp_path)[0][1] == "sent", timeout=60)
        cards = [m for m in botapi.bot_messages(OWNER) if "Proposal #1" in m["text"]]
        assert [m["text"].startswith(AGAIN) for m in cards] == [False, True]
        assert outbox(tmp_path)[0][2] == cards[1]["message_id"]

        def to_anna() -> list[str]:
            return [m["text"] for m in botapi.bot_messages(anna)]

        botapi.press_button(cards[1], text="✅ Approve", user_id=OWNER)
        await botapi.wait_for(lambda: to_anna() == [draft], timeout=60)
        botapi.press_button(cards[0], text="✅ Approve", user_id=OWNER)  # the first copy
        await botapi.wait_for(lambda: len(botapi.answered_callbacks) == 2, timeout=60)
        await botapi.wait_idle(quiet=0.5)
        await bot.kill()
        assert to_anna() == [draft] and len(llm.requests) == 1
    assert integrity(tmp_path) == "ok"


async def test_kill_mid_ingest_finishes_on_restart_without_orphans(
    tmp_path: Path, botapi: FakeBotAPI, knowledge: Path, procs: list[Bot]
) -> None:
    bot = Bot(tmp_path, botapi)
    procs.append(bot)
    await bot.start("mid_ingest", after=2)  # the first document commits, the second does not
    assert await bot.wait_killed(120) == -signal.SIGKILL
    with sqlite3.connect(tmp_path / "microdesk.db") as db:
        assert [r[0] for r in db.execute("SELECT name FROM documents")] == [DOCS[0]]
    services = offline_services(tmp_path)
    try:
        orphans, missing = services.knowledge.index_drift()
        assert orphans and not missing  # vectors of the chunks that never committed
    finally:
        services.close()
    await bot.start()

    await botapi.wait_for(lambda: indexed_docs(tmp_path) == len(DOCS), timeout=120)
    botapi.send_message("/ask When does the liability insurance renew?", user_id=OWNER)
    answer = await botapi.wait_for_message(OWNER, contains="From your documents", timeout=60)
    assert "tax-and-licence-calendar.txt › Insurance" in answer["text"]
    await bot.kill()
    services = offline_services(tmp_path)
    try:
        assert services.knowledge.index_drift() == (set(), set())
        docs = services.knowledge.list_documents()
        assert sorted(d.name for d in docs) == sorted(DOCS)
        with sqlite3.connect(tmp_path / "microdesk.db") as db:
            per_doc = dict(db.execute("SELECT document_id, count(*) FROM chunks GROUP BY 1"))
        assert sorted(per_doc.values()) == sorted(d.chunks for d in docs)
    finally:
        services.close()
    assert integrity(tmp_path) == "ok"


async def test_kill_mid_backup_leaves_no_partial_backup_and_the_next_one_works(
    tmp_path: Path, botapi: FakeBotAPI, procs: list[Bot]
) -> None:
    bot = Bot(tmp_path, botapi)
    procs.append(bot)
    botapi.send_message("/backup", user_id=OWNER)
    await bot.start("mid_backup", after=1)
    assert await bot.wait_killed(60) == -signal.SIGKILL
    folder = tmp_path / "backups"
    assert [p.name for p in folder.glob("*.zip")] == []
    assert [p.name.endswith(".zip.partial") for p in folder.iterdir() if p.is_file()] == [True]
    await bot.start()  # the /backup update runs again: nothing of it had committed
    await botapi.wait_for(lambda: len(botapi.calls_to("sendDocument")) == 1, timeout=60)
    botapi.send_message("/backup", user_id=OWNER)
    await botapi.wait_for(lambda: len(botapi.calls_to("sendDocument")) == 2, timeout=60)
    await bot.kill()
    assert integrity(tmp_path) == "ok"
    services = offline_services(tmp_path)
    try:
        archives = services.backups.backups()
        assert len(archives) == 2 and all(p.suffix == ".zip" for p in archives)
        for i, archive in enumerate(archives):
            assert unpack(archive, tmp_path / f"check-{i}").schema_revision
        services.backups.keep = 1
        assert services.backups.rotate() == archives[:1]
        assert services.backups.backups() == archives[1:]
    finally:
        services.close()
