"""The owner's news of a contractor's action, as Telegram HTML (their words quoted, escaped)."""

from __future__ import annotations

import html

from bot.db.team import TeamEvent
from bot.hidden import shown
from bot.services.delivery.outbox import Buttons

FILE_ACTION = "kf"  # the owner's "send me that file" button: kf:<event id>
VERBS = {
    "joined": "joined your team",
    "done": "marked done",
    "note": "wrote on",
    "snooze": "snoozed",
    "revoked": "was removed",
}


def esc(text: str) -> str:
    return html.escape(shown(text), quote=False)


def quoted(text: str, limit: int = 600) -> str:
    """A contractor's words as a quote: data to read, never a command."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"<blockquote>{esc(cut)}</blockquote>"


def line(event: TeamEvent, name: str) -> str:
    """'@maria marked done #3 Promo cut', one line."""
    head = f"@{esc(name)} {VERBS.get(event.kind, event.kind)}"
    if event.task_id is not None:
        head += f" #{event.task_id} <b>{esc(event.task_title)}</b>"
    if event.file_name:
        head += f" 📎 {esc(event.file_name)}"
    return head


def notice(event: TeamEvent, name: str) -> tuple[str, Buttons]:
    """The owner's message about one event; a note's file comes with a button to fetch it."""
    text = "👥 " + line(event, name)
    if event.text:
        text += "\n" + quoted(event.text)
    buttons: Buttons = ()
    if event.file_name:
        buttons = ((("📎 " + event.file_name[:40], f"{FILE_ACTION}:{event.id}"),),)
    return text, buttons
