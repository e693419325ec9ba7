"""Blocks -> chunks of about a thousand characters that never cross a page or a section.

A chunk is an exact slice of its block's text, cut at paragraph, then sentence, then word
boundaries, with a small overlap; it knows its page, its section trail and its character span
in the document's text (the blocks joined by blank lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.retrieval.parsing import ParsedDoc

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class ChunkParams:
    target: int = 1_000  # close a chunk once it reaches this many characters
    limit: int = 1_200  # never exceed this many (a longer sentence is cut at a space)
    overlap: int = 150  # the next chunk starts up to this far back


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    page: int | None
    section: tuple[str, ...]
    start: int
    end: int

    @property
    def section_label(self) -> str | None:
        return SECTION_SEPARATOR.join(self.section) if self.section else None


_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?…:;])\s+|\n")


def chunk_document(doc: ParsedDoc, params: ChunkParams | None = None) -> list[Chunk]:
    params = params or ChunkParams()
    chunks: list[Chunk] = []
    offset = 0
    for block in doc.blocks:
        for start, end in split_spans(block.text, params):
            chunks.append(
                Chunk(
                    ordinal=len(chunks),
                    text=block.text[start:end],
                    page=block.page,
                    section=block.section,
                    start=offset + start,
                    end=offset + end,
                )
            )
        offset += len(block.text) + 2
    return chunks


def split_spans(text: str, params: ChunkParams) -> list[tuple[int, int]]:
    """(start, end) spans of `text`, each at most `limit` long, overlapping a little."""
    units = _units(text, params.limit)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        start, end = units[i]
        j = i + 1
        while (
            j < len(units) and end - start < params.target and units[j][1] - start <= params.limit
        ):
            end = units[j][1]
            j += 1
        spans.append((start, end))
        if j >= len(units):
            break
        i = _overlap_from(units, i, j, end, params.overlap)
    return spans


def _overlap_from(
    units: list[tuple[int, int]], first: int, nxt: int, end: int, overlap: int
) -> int:
    """Index of the unit to start the next chunk from: a unit that began within `overlap`."""
    for k in range(first + 1, nxt):
        if units[k][0] >= end - overlap:
            return k
    return nxt


def _units(text: str, limit: int) -> list[tuple[int, int]]:
    """Paragraphs; a paragraph over `limit` as sentences; a sentence over `limit` cut at spaces."""
    units: list[tuple[int, int]] = []
    for start, end in _pieces(text, 0, len(text), _PARAGRAPH):
        if end - start <= limit:
            units.append((start, end))
            continue
        for s_start, s_end in _pieces(text, start, end, _SENTENCE):
            units.extend(_hard_cut(text, s_start, s_end, limit))
    return units


def _pieces(text: str, start: int, end: int, separator: re.Pattern[str]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    position = start
    for match in separator.finditer(text, start, end):
        if match.start() > position:
            found.append((position, match.start()))
        position = match.end()
    if end > position:
        found.append((position, end))
    return [(s, e) for s, e in found if text[s:e].strip()]


def _hard_cut(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    cuts: list[tuple[int, int]] = []
    while end - start > limit:
        space = text.rfind(" ", start + limit // 2, start + limit)
        stop = space if space > start else start + limit
        cuts.append((start, stop))
        start = stop + 1 if space > start else stop
    cuts.append((start, end))
    return cuts
