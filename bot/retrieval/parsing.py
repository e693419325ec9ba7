"""One file's bytes -> a ParsedDoc: blocks of text, each with its page or section trail.

Every format reader raises :class:`ParseError` with one owner-facing sentence; ``skip`` marks a
file that is fine but has nothing to index (an unknown format, no text), as opposed to a failure.
The limits in :class:`Limits` bound what one file may cost; bot.retrieval.sandbox adds a wall
clock and a memory ceiling around the whole call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from bot.errors import UserInputError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one file may cost. The sandbox adds ``seconds`` and ``memory_bytes``."""

    max_file_bytes: int = 20 * MB
    max_text_chars: int = 5_000_000
    max_pdf_pages: int = 2_000
    max_stream_bytes: int = 20 * MB  # one decoded PDF stream
    max_decoded_bytes: int = 100 * MB  # all decoded page content of one PDF
    max_unpacked_bytes: int = 100 * MB  # a DOCX's declared uncompressed size
    max_zip_ratio: int = 100  # per member over 1 MB
    max_zip_members: int = 5_000
    seconds: float = 60.0
    memory_bytes: int = 1024 * MB


@dataclass(frozen=True)
class Block:
    """A run of text from one page or one section of a document."""

    text: str
    page: int | None = None
    section: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedDoc:
    blocks: list[Block] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(b.text) for b in self.blocks)


class ParseError(UserInputError):
    """The file cannot be indexed; ``str(exc)`` says why in one sentence."""

    def __init__(self, reason: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.skip = skip


Reader = Callable[[bytes, Limits], ParsedDoc]
FORMATS_SENTENCE = "PDF, Word (.docx), Markdown, text, HTML, CSV and email (.eml)"


def _readers() -> dict[str, Reader]:
    from bot.retrieval import html, pdf, plain, word

    return {
        ".pdf": pdf.read_pdf,
        ".docx": word.read_docx,
        ".md": plain.read_markdown,
        ".markdown": plain.read_markdown,
        ".txt": plain.read_text,
        ".text": plain.read_text,
        ".csv": plain.read_csv,
        ".html": html.read_html,
        ".htm": html.read_html,
        ".eml": html.read_eml,
    }


SUPPORTED = frozenset(
    (".pdf", ".docx", ".md", ".markdown", ".txt", ".text", ".csv", ".html", ".htm", ".eml")
)


def supported(name: str) -> bool:
    return PurePath(name).suffix.lower() in SUPPORTED


def parse(name: str, data: bytes, limits: Limits) -> ParsedDoc:
    """Read one file by its extension; raises ParseError with the reason."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED:
        what = f"{suffix} files" if suffix else "files without an extension"
        raise ParseError(f"I can't read {what}; I read {FORMATS_SENTENCE}.", skip=True)
    check_size(len(data), limits)
    doc = _readers()[suffix](data, limits)
    if doc.chars > limits.max_text_chars:
        raise ParseError(too_much_text(limits))
    if not any(b.text.strip() for b in doc.blocks):
        raise ParseError(no_text(suffix), skip=True)
    return doc


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise ParseError(
            f"The file is {size / MB:.1f} MB; I index files up to {limits.max_file_bytes // MB} MB."
        )


def too_much_text(limits: Limits) -> str:
    return (
        f"The file holds more than {limits.max_text_chars:,} characters of text, "
        "more than I index from one file."
    )


def no_text(suffix: str) -> str:
    if suffix == ".pdf":
        return "I found no text in this PDF (a scanned page is a picture, and I don't read those)."
    return "I found no text in this file."


_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


_LIST_ITEM = re.compile(r"^\s*([-*•+–]|\d{1,3}[.)]|[a-z][.)])\s|^\s*\||^ {4}|^\t|^\s*(```|~~~)")
WRAPPED = 60  # a line this long that runs on into the next was wrapped by its writer …
WRAPPED_LOWER = 40  # … or one this long, when the next line goes on in lower case


def unwrap(text: str) -> str:
    """Join hard-wrapped lines of a paragraph into one; lists, tables and code keep theirs."""
    out: list[str] = []
    fenced = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
            continue
        previous = out[-1] if out else ""
        if not fenced and _runs_on(previous, line):
            out[-1] = previous.rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _runs_on(previous: str, line: str) -> bool:
    width = len(previous.strip())
    stripped = line.strip()
    return (
        bool(stripped)
        and (width >= WRAPPED or (width >= WRAPPED_LOWER and stripped[0].islower()))
        and not previous.rstrip().endswith((":", "|"))
        and not previous.startswith(("    ", "\t"))
        and not _LIST_ITEM.match(line)
    )


def tidy(text: str) -> str:
    """Collapse runs of spaces, drop control characters, keep at most one blank line."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def decode_text(data: bytes, what: str = "text") -> str:
    """Bytes of a text file -> str; binary junk raises ParseError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ParseError(f"The file is not readable {what} (broken UTF-16).") from None
    if b"\x00" in data[:65536]:
        raise ParseError(f"The file is named as {what} but holds binary data.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    odd = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t"))
    if odd > max(8, len(text) // 100):
        raise ParseError(f"The file is named as {what} but holds binary data.")
    return text
