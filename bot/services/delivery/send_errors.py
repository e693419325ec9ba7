"""How a message handed to Telegram can end, in the services' own words (no ``telegram`` here).

    SendRefused       refused: nothing was sent (403, a bad request); the text is one sentence
    SendRateLimited   429: nothing was sent; try again after ``retry_after`` seconds
    SendUnknown       the request may have reached Telegram (a time-out after it left)

The adapters map Telegram's errors onto these; :mod:`bot.services.delivery.outbox` and
:mod:`bot.services.clients.replies` decide what each means for a retry.
"""

from __future__ import annotations


class SendRefused(Exception):
    """Telegram refused the message (nothing was sent); the text is one sentence for the owner."""


class SendUnknown(Exception):
    """The request may have reached Telegram: whether the message arrived is unknown."""


class SendRateLimited(Exception):
    """Telegram said to wait `retry_after` seconds; nothing was sent."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
