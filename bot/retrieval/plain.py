"""Plain text, Markdown (sections from headings) and CSV (rows as "column: value" lines)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from bot.retrieval.parsing import (
    Block,
    Limits,
    ParsedDoc,
    ParseError,
    decode_text,
    tidy,
    unwrap,
)

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
CSV_BLOCK_CHARS = 1_000


def read_text(data: bytes, limits: Limits) -> ParsedDoc:
    """One block, or blocks per section when the text has title lines (see _title_lines)."""
    lines = tidy(unwrap(decode_text(data))).split("\n")
    titles = _title_lines(lines)
    if len(titles) < 2:
        return ParsedDoc([Block("\n".join(lines))])
    blocks: list[Block] = []
    section: tuple[str, ...] = ()
    start = 0
    for index in [*titles, len(lines)]:
        text = "\n".join(lines[start:index]).strip()
        if text:
            blocks.append(Block(text, section=section))
        if index < len(lines):
            section, start = (lines[index],), index + 1
    return ParsedDoc(blocks)


def _title_lines(lines: list[str]) -> list[int]:
    """Short lines without end punctuation, after a blank line and before text: headings."""
    return [
        i
        for i, line in enumerate(lines)
        if 0 < len(line) <= 60
        and line[-1] not in ".,:;!?"
        and (i == 0 or not lines[i - 1])
        and i + 1 < len(lines)
        and lines[i + 1]
    ]


def read_markdown(data: bytes, limits: Limits) -> ParsedDoc:
    """Blocks per section; a section is the trail of headings above it."""
    lines = decode_text(data, "Markdown").replace("\r\n", "\n").split("\n")
    blocks: list[Block] = []
    trail: list[tuple[int, str]] = []
    body: list[str] = []
    fenced = False

    def flush() -> None:
        text = tidy(unwrap(_LINK.sub(r"\1", _IMAGE.sub(r"\1", "\n".join(body)))))
        if text:
            blocks.append(Block(text, section=tuple(t for _, t in trail)))
        body.clear()

    def heading(level: int, title: str) -> None:
        flush()
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, _LINK.sub(r"\1", title).strip("*_ `")))

    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := _ATX.match(line)) and m.group(2):
            heading(len(m.group(1)), m.group(2))
            continue
        elif not fenced and body and body[-1].strip() and _SETEXT.match(line):
            title = body.pop()
            heading(1 if line.strip().startswith("=") else 2, title.strip())
            continue
        body.append(line)
    flush()
    return ParsedDoc(blocks)


def read_csv(data: bytes, limits: Limits) -> ParsedDoc:
    """Rows as 'column: value' lines, grouped into blocks cited as 'rows 3–9'."""
    text = decode_text(data, "CSV")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = csv.reader(io.StringIO(text), dialect)
        header = [h.strip() for h in next(rows, [])]
        return ParsedDoc(_row_blocks(header, rows))
    except csv.Error:
        raise ParseError("The CSV file is malformed, so I could not read it.") from None


def _row_blocks(header: list[str], rows: Iterator[list[str]]) -> list[Block]:
    blocks: list[Block] = []
    lines: list[str] = []
    first = last = 1
    for number, row in enumerate(rows, start=1):
        last = number
        cells = [
            f"{header[i] if i < len(header) and header[i] else f'column {i + 1}'}: {v.strip()}"
            for i, v in enumerate(row)
            if v.strip()
        ]
        if cells:
            lines.append("; ".join(cells))
        if sum(len(line) + 1 for line in lines) >= CSV_BLOCK_CHARS:
            blocks.append(_rows_block(lines, first, number))
            lines, first = [], number + 1
    if lines:
        blocks.append(_rows_block(lines, first, last))
    return blocks


def _rows_block(lines: list[str], first: int, last: int) -> Block:
    span = f"row {first}" if first == last else f"rows {first}–{last}"
    return Block(tidy("\n".join(lines)), section=(span,))
