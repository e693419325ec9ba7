"""What to show of a passage: the sentences that match the question, with their neighbours.

A chunk is ~1,000 characters; a reply shows ~450 of each. Rather than the first 450 and "…",
the excerpt is the window of whole sentences around the sentence that shares the most
(rarity-weighted) words with the question, grown to both sides while it fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)|\n+")
EXCERPT_CHARS = 450


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences (and lines) of `text`."""
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _SENTENCE_END.finditer(text):
        if text[position : match.start()].strip():
            spans.append((position, match.start()))
        position = match.end()
    if text[position:].strip():
        spans.append((position, len(text)))
    return spans


def excerpt(text: str, score: Callable[[str], float], limit: int = EXCERPT_CHARS) -> str:
    """The best-scoring sentence of `text` and its neighbours, at most `limit` characters."""
    if len(text) <= limit:
        return text
    spans = sentences(text)
    if not spans:
        return text[:limit]
    best = max(range(len(spans)), key=lambda i: (score(text[spans[i][0] : spans[i][1]]), -i))
    first = last = best
    while True:
        grown = False
        for candidate in (last + 1, first - 1):  # the next sentence first: answers follow
            lo, hi = min(first, candidate), max(last, candidate)
            if 0 <= candidate < len(spans) and spans[hi][1] - spans[lo][0] <= limit:
                first, last, grown = lo, hi, True
        if not grown:
            break
    start, end = spans[first][0], spans[last][1]
    if end - start > limit:  # one sentence longer than the limit: cut it at a word
        cut = text.rfind(" ", start, start + limit)
        return text[start : cut if cut > start else start + limit] + " …"
    return text[start:end]
