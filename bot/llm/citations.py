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


# --- grounded or marked ---------------------------------------------------------------------

_DONE = (
    r"(?:done|sent|scheduled|saved|created|added|marked|booked|completed|updated|set\s+up|"
    r"reminded|forwarded|paid|moved|cancell?ed|deleted|e-?mailed|backed\s+up|notified|noted)"
)
_WILL = (
    r"(?:refund|send|pay|transfer|forward|delete|mark|schedule|book|cancel|e-?mail|wire|"
    r"remove|change|move|approve|execute|share|upload)"
)
_FIRM_CLAIM = re.compile(
    r"^\W*(?:ok(?:ay)?\W+)?(?:all\s+)?(?:done|completed|scheduled|sent|saved)\b"
    rf"|\bi(?:'ll|\s+will|\s+am\s+going\s+to)\s+(?:now\s+|also\s+)?{_WILL}\b"  # "I", never "we"
    rf"|\b(?:i|we)(?:'ve|\s+have|'ll|\s+will)?\s+(?:now\s+|just\s+|already\s+)?{_DONE}\b"
    rf"|\b(?:has|have)\s+(?:now\s+|already\s+|successfully\s+)*been\s+(?:\w+ly\s+)?{_DONE}\b"
    r"|\b(?:wurde|wurden)\b[^.]{0,40}\b(?:geschickt|gesendet|erledigt|gespeichert|geplant)\b",
    re.IGNORECASE,
)
_PASSIVE_CLAIM = re.compile(
    rf"\b(?:is|are|was|were)\s+(?:now\s+|already\s+|successfully\s+)*{_DONE}\b", re.IGNORECASE
)
_WORD = re.compile(r"[^\W\d_]{4,}|\d+(?:[.,]\d+)?", re.UNICODE)
STOPWORDS = frozenset(
    [
        "this",
        "that",
        "these",
        "those",
        "with",
        "from",
        "have",
        "been",
        "will",
        "would",
        "could",
        "should",
        "there",
        "their",
        "they",
        "them",
        "what",
        "when",
        "where",
        "which",
        "while",
        "your",
        "yours",
        "about",
        "into",
        "over",
        "under",
        "also",
        "only",
        "just",
        "than",
        "then",
        "very",
        "more",
        "most",
        "some",
        "such",
        "each",
        "other",
        "every",
        "here",
        "were",
        "does",
        "done",
        "make",
        "made",
        "like",
        "want",
        "need",
        "please",
        "thanks",
        "thank",
        "hello",
        "sure",
        "okay",
        "answer",
        "question",
        "passage",
        "passages",
        "document",
        "documents",
        "according",
        "says",
        "said",
        "found",
        "information",
        "following",
        "based",
        "mentioned",
        "source",
        "sources",
        "dies",
        "diese",
        "dieser",
        "einen",
        "einem",
        "einer",
        "nicht",
        "auch",
        "noch",
        "wird",
        "werden",
        "sind",
        "haben",
        "oder",
        "aber",
        "nach",
        "mit",
        "fur",
        "für",
        "über",
        "unter",
    ]
)
STEM = 5
NEEDED_SHARE = 0.6


def claims_action(text: str, *, firm_only: bool = False) -> bool:
    """Whether `text` says something was done, sent, scheduled or saved (the AI never does).

    `firm_only`: only first-person and perfect-tense claims ("I've sent", "has been saved",
    "Done."), not passives such as "invoices are sent monthly", which documents often say.
    """
    if _FIRM_CLAIM.search(text) is not None:
        return True
    return not firm_only and _PASSIVE_CLAIM.search(text) is not None


def _terms(text: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    return [w for w in words if w not in STOPWORDS]


def _stem(word: str) -> str:
    return word if word[0].isdigit() else word[:STEM]


def grounded(answer: str, cited: list[str], question: str = "") -> bool:
    """Whether an answer is supported by the passages it cites.

    It must cite at least one passage; every number in it must appear in them; and most of its
    key words (``NEEDED_SHARE``, compared by their first letters) must come from them or from
    the question. An answer claiming an action, or following an attacker instead of the
    question, fails: its words are neither the question's nor the passages'.
    """
    if not cited or claims_action(answer, firm_only=True):
        return False
    terms = _terms(_MARKER.sub(" ", answer))
    if not terms:
        return True
    source = {_stem(w) for w in _terms(" ".join(cited))}
    asked = {_stem(w) for w in _terms(question)}
    numbers = [w for w in terms if w[0].isdigit()]
    if any(n not in source and n.replace(",", ".") not in source for n in numbers):
        return False
    known = sum(1 for w in terms if _stem(w) in source or _stem(w) in asked)
    return known >= NEEDED_SHARE * len(terms)
