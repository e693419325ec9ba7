"""Citations in grounded text: which numbered passages an answer or a draft relies on.

The prompts number the passages [1], [2], ...; answers cite them inline, drafts on a last
"Sources: [1], [3]" line that is removed before the owner sees the text. Numbers the prompt
never offered are reported apart, so the caller can show only real sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cited:
    """A grounded text: its body, the sources it cites (1-based), and what it made up."""

    text: str
    sources: tuple[int, ...]
    unknown_sources: tuple[int, ...]
    not_found: bool


_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SOURCES_LINE = re.compile(r"\n\s*sources?\s*:\s*((?:\[?\d{1,3}\]?[\s,]*)+)\s*$", re.IGNORECASE)
NOT_FOUND = "not in your documents"


def parse_cited(text: str, available: int) -> Cited:
    """Markers like [1] or [1, 3] in `text`; a final 'Sources: [1], [2]' line is removed.

    ``available`` is how many numbered passages the prompt held; other numbers are invented
    and listed in ``unknown_sources`` instead of ``sources``.
    """
    body = text.strip()
    cited = [int(n) for group in _MARKER.findall(body) for n in group.split(",")]
    tail = _SOURCES_LINE.search(body)
    if tail is not None:
        cited += [int(n) for n in re.findall(r"\d+", tail.group(1))]
        body = body[: tail.start()].rstrip()
    ordered = tuple(dict.fromkeys(cited))
    return Cited(
        text=body,
        sources=tuple(n for n in ordered if 1 <= n <= available),
        unknown_sources=tuple(n for n in ordered if not 1 <= n <= available),
        not_found=body.lower().startswith(NOT_FOUND),
    )
