"""Word (.docx): paragraphs and tables in order; Heading styles give the section trail.

A .docx is a zip: its declared sizes are checked before python-docx opens it (zipfile never
inflates a member past its declared size, so the declared total bounds what is read).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from bot.retrieval.parsing import MB, Block, Limits, ParsedDoc, ParseError, tidy

DAMAGED = "The Word file is damaged or not really a .docx, so I could not read it."
_HEADING = re.compile(r"^(?:Heading|Überschrift|Titre|Título|Titolo)\s*(\d)$", re.IGNORECASE)


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse zip bombs by the archive's own declarations, before anything is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ParseError(DAMAGED) from None
    if len(members) > limits.max_zip_members:
        raise ParseError(f"The Word file holds {len(members):,} parts, far more than a document.")
    total = sum(m.file_size for m in members)
    bomb = any(
        m.file_size > MB and m.file_size > limits.max_zip_ratio * max(m.compress_size, 1)
        for m in members
    )
    if total > limits.max_unpacked_bytes or bomb:
        raise ParseError(
            "The Word file unpacks to far more data than a normal document "
            f"({total / MB:,.0f} MB), so I did not open it."
        )


def read_docx(data: bytes, limits: Limits) -> ParsedDoc:
    check_zip(data, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        return ParsedDoc(_blocks(document))
    except ParseError:
        raise
    except (KeyError, ValueError, zipfile.BadZipFile, AttributeError, TypeError, OSError):
        raise ParseError(DAMAGED) from None
    except Exception as exc:  # lxml and python-docx raise their own families on bad XML
        if type(exc).__module__.startswith(("lxml", "docx")):
            raise ParseError(DAMAGED) from None
        raise


def _blocks(document: Any) -> list[Block]:
    from docx.table import Table

    blocks: list[Block] = []
    trail: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = tidy("\n\n".join(body))
        if text:
            blocks.append(Block(text, section=tuple(t for _, t in trail)))
        body.clear()

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            body.append(_table_text(item))
            continue
        level = _heading_level(item)
        text = item.text.strip()
        if level and text:
            flush()
            while trail and trail[-1][0] >= level:
                trail.pop()
            trail.append((level, text))
        elif text:
            body.append(text)
    flush()
    return blocks


def _heading_level(paragraph: Any) -> int:
    name = paragraph.style.name if paragraph.style is not None else ""
    if name == "Title":
        return 1
    match = _HEADING.match(name or "")
    return int(match.group(1)) if match else 0


def _table_text(table: Any) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)
