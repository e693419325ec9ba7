"""The three people of the contractor tests (owner, Maria, Tom) and a stranger, over the fake
Bot API; joining through the real invite link; the database read back for before/after checks."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.conftest import OWNER, STRANGER
from tests.fakes.botapi import FakeBotAPI

MARIA = 3003
TOM = 4004
__all__ = ["MARIA", "OWNER", "STRANGER", "TOM"]
REFUSAL = "Sorry, this is a private assistant: it only works for its owner."
LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")
NAMES = {MARIA: "Maria", TOM: "Tom", STRANGER: "Mallory", OWNER: "Owner"}
# rows a contractor's own reading may touch: their "last active" time, and the inbox
VOLATILE = {"contractors": ("last_active_at",), "inbox": None, "update_effects": None}


async def say(api: FakeBotAPI, user: int, text: str, contains: str | None = None) -> dict:
    """`user` sends `text` in their private chat; the bot's first answer after it."""
    before = len(api.bot_messages(user))
    api.send_message(text, user_id=user, first_name=NAMES.get(user, "User"))
    return await api.wait_for_message(user, contains=contains, after=before)


async def invite(api: FakeBotAPI, name: str) -> str:
    """The owner's /invite; the token from the link the bot answered with."""
    reply = await say(api, OWNER, f"/invite @{name}", "t.me/")
    found = LINK.search(reply["text"])
    assert found is not None, reply["text"]
    assert found.group(1) == "microdesk_bot"  # the bot's username from getMe
    return found.group(2)


async def join(api: FakeBotAPI, user: int, name: str, zone: str = "Europe/Berlin") -> None:
    """Invited, opens the link, answers the time-zone question."""
    token = await invite(api, name)
    await say(api, user, f"/start {token}", "time zone")
    await say(api, user, zone, "Time zone set")


def snapshot(data: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, but the columns a harmless read changes."""
    with sqlite3.connect(data / "microdesk.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found: dict[str, list[tuple[object, ...]]] = {}
        for table in tables:
            if table in VOLATILE and VOLATILE[table] is None:
                continue
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
            keep = [c for c in columns if c not in (VOLATILE.get(table) or ())]
            found[table] = list(db.execute(f"SELECT {', '.join(keep)} FROM {table}"))
    return found


def buttons(message: dict) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def forge(api: FakeBotAPI, user: int, message: dict, data: str) -> dict:
    """A button press with any callback data, on a message of `user`'s chat (as a modified
    client could send it)."""
    query = {
        "id": f"forged-{len(api.calls)}-{data}",
        "from": api.make_user(user, NAMES.get(user, "User")),
        "message": message,
        "chat_instance": "1",
        "data": data,
    }
    return api.enqueue({"callback_query": query})
