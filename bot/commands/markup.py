"""Telegram's HTML subset read as structure: runs of shown text under their tags.

Replies are written as HTML (:mod:`bot.commands.reply` escapes every user or model text), and
this module is the one place that reads it back:

- :func:`split_text` cuts a reply into messages Telegram accepts: at most `limit` characters
  of shown text each (what Telegram counts, after parsing), cut at the last line break (unless
  that leaves the piece less than half full: then at the last space), else the last space,
  else anywhere between two characters, never inside a tag or ``&amp;``.
  Tags open at a cut are closed at the end of the piece and opened again at the start of the
  next, so a long ``<blockquote>`` or link becomes two well-formed ones.
- :func:`runs` is the text with its tags, for the terminal to style.
- :func:`plain` is the text a reader sees, for a one-line summary.

A reply that fits is sent exactly as written.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

LIMIT = 4096  # Telegram's MessageLimit.MAX_TEXT_LENGTH, in characters after parsing

_TOKEN = re.compile(r"<(/?)([A-Za-z][\w-]*)[^<>]*>|&(?:#[xX][0-9a-fA-F]+|#\d+|\w+);")
_BREAKS = ("\n", " ")  # preferred cut points, best first


@dataclass(frozen=True)
class Tag:
    name: str
    start: str  # the start tag as written: '<a href="…">'
    attrs: str  # what follows the name inside the start tag

    @property
    def end(self) -> str:
        return f"</{self.name}>"

    def attr(self, name: str) -> str | None:
        match = re.search(rf'\b{name}\s*=\s*"([^"]*)"', self.attrs)
        return html.unescape(match.group(1)) if match else None


@dataclass(frozen=True)
class Run:
    """Shown text under the tags open around it (outermost first)."""

    text: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class _Atom:
    source: str  # as written
    shown: str  # one character of shown text; "" for a tag
    tags: tuple[Tag, ...]  # the tags open after this atom


def _atoms(text: str) -> list[_Atom]:
    """The HTML as tags and single shown characters (an entity is one character)."""
    atoms: list[_Atom] = []
    stack: list[Tag] = []

    def add_text(chunk: str) -> None:
        atoms.extend(_Atom(ch, ch, tuple(stack)) for ch in chunk)

    pos = 0
    for match in _TOKEN.finditer(text):
        add_text(text[pos : match.start()])
        pos = match.end()
        source = match.group(0)
        if not source.startswith("<"):
            atoms.append(_Atom(source, html.unescape(source), tuple(stack)))
            continue
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            attrs = source[len(name) + 1 : -1].rstrip("/")
            stack.append(Tag(name, source, attrs))
        elif stack and stack[-1].name == name:
            stack.pop()
        atoms.append(_Atom(source, "", tuple(stack)))
    add_text(text[pos:])
    return atoms


def runs(text: str) -> list[Run]:
    """The shown text in runs that share their tags."""
    out: list[Run] = []
    for atom in _atoms(text):
        if not atom.shown:
            continue
        if out and out[-1].tags == atom.tags:
            out[-1] = Run(out[-1].text + atom.shown, atom.tags)
        else:
            out.append(Run(atom.shown, atom.tags))
    return out


def plain(text: str) -> str:
    """What a reader sees: no tags, entities decoded."""
    return "".join(atom.shown for atom in _atoms(text))


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Well-formed pieces of at most `limit` shown characters (see the module docstring)."""
    atoms = _atoms(text)
    pieces: list[str] = []
    start, open_at_start = 0, tuple[Tag, ...]()
    while start < len(atoms):
        end, skip = _fit(atoms, start, limit)
        open_at_end = atoms[end - 1].tags if end > start else open_at_start
        body = "".join(atom.source for atom in atoms[start:end])
        reopen = "".join(tag.start for tag in open_at_start)
        close = "".join(tag.end for tag in reversed(open_at_end))
        pieces.append(reopen + body + close)
        start, open_at_start = end + skip, open_at_end
    return [p for p in pieces if plain(p).strip()] or ["…"]


def _fit(atoms: list[_Atom], start: int, limit: int) -> tuple[int, int]:
    """Where the piece starting at `start` ends (exclusive), and how many separator atoms the
    next piece skips (1 when cut at a line break or space, else 0)."""
    shown = 0
    best: dict[str, tuple[int, int]] = {}  # separator → (its atom, shown characters before it)
    for i in range(start, len(atoms)):
        char = atoms[i].shown
        if not char:
            continue
        if shown == limit:
            return _cut(best, limit) or (_before_tags(atoms, start, i), 0)
        if char in _BREAKS and i > start:
            best[char] = (i, shown)
        shown += 1
    return len(atoms), 0


def _cut(best: dict[str, tuple[int, int]], limit: int) -> tuple[int, int] | None:
    """The last line break unless it leaves the piece less than half full and a space comes
    later; else the last space; else the last line break."""
    line, space = best.get("\n"), best.get(" ")
    if line is not None and (line[1] >= limit // 2 or space is None or space[0] < line[0]):
        return line[0], 1
    if space is not None:
        return space[0], 1
    return None


def _before_tags(atoms: list[_Atom], start: int, i: int) -> int:
    """A hard cut before atom `i`, moved before start tags that open right there (so a piece
    does not end in an empty ``<b></b>``)."""
    while i > start + 1 and not atoms[i - 1].shown and not atoms[i - 1].source.startswith("</"):
        i -= 1
    return i
