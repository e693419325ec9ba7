"""What the conversation answers with: text in Telegram's HTML subset, and buttons."""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.hidden import shown


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # encoded by bot.commands.callbacks, at most 64 bytes


@dataclass(frozen=True)
class Document:
    name: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    """One message. `edit` replaces the message whose button was pressed instead of sending."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False
    document: Document | None = None
    toast: str | None = None  # the short notice shown on a button press


def esc(text: str) -> str:
    """Escape user or model text for Telegram's HTML parse mode (hidden characters dropped)."""
    return html.escape(shown(text), quote=False)


def bold(text: str) -> str:
    return f"<b>{esc(text)}</b>"
