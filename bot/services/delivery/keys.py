"""The outbox keys: each message the bot sends on its own is named once, so it is queued once.

reminder:<task>:<due instant>:<rung>   a reminder rung (bot.services.delivery.reminders)
briefing:<local date>                  the day's briefing
card:<proposal>                        a drafted reply's card, queued with the proposal
question:<proposal>                    "did your approved reply go out?", queued with the note
backup:<ISO week>                      that week's scheduled backup failed
client:<client>:<message>              a client's burst that got no draft (AI off, or failed)
"""

from __future__ import annotations

from datetime import date, datetime

from bot.db.outbox import BRIEFING, CARD, NOTICE, QUESTION, REMINDER
from bot.services.delivery.outbox import Buttons, Claimed, Outgoing


def reminder(task_id: int, due_at: datetime, rung: str, text: str, buttons: Buttons) -> Outgoing:
    return Outgoing(f"{REMINDER}:{task_id}:{due_at.isoformat()}:{rung}", REMINDER, text, buttons)


def briefing(day: date, text: str, buttons: Buttons) -> Outgoing:
    return Outgoing(f"{BRIEFING}:{day.isoformat()}", BRIEFING, text, buttons)


def card(proposal_id: int, text: str, buttons: Buttons) -> Outgoing:
    return Outgoing(f"{CARD}:{proposal_id}", CARD, text, buttons)


def question(proposal_id: int, text: str) -> Outgoing:
    return Outgoing(f"{QUESTION}:{proposal_id}", QUESTION, text)


def backup_failed(week: str, text: str) -> Outgoing:
    return Outgoing(f"backup:{week}", NOTICE, text)


def no_draft(client_id: int, last_message_id: int, text: str) -> Outgoing:
    return Outgoing(f"client:{client_id}:{last_message_id}", NOTICE, text)


def card_proposal(item: Claimed) -> int | None:
    """The proposal a card shows; None for every other kind of message."""
    return int(item.key.split(":", 1)[1]) if item.kind == CARD else None
