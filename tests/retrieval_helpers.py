"""Shared by the knowledge tests: one embedder per session, sample and hostile files, checks."""

from __future__ import annotations

import functools
import io
import os
import shutil
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FrozenClock
from bot.db.engine import make_engine, migrate, session_factory
from bot.retrieval.embedding import OnnxEmbedder, minilm_int8
from bot.retrieval.index import VectorIndex
from bot.retrieval.parsing import Block, Limits, ParsedDoc
from bot.retrieval.sandbox import Parser
from bot.services.knowledge.service import KnowledgeService

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "knowledge"
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@functools.cache
def embedder() -> OnnxEmbedder:
    """The real embedder, loaded once per test session."""
    model = OnnxEmbedder(minilm_int8())
    model.load()
    return model


def make_service(
    tmp: Path, index: VectorIndex, parser: Parser | None = None, **kwargs: object
) -> KnowledgeService:
    engine = make_engine(f"sqlite:///{tmp / 'microdesk.db'}")
    migrate(engine)
    return KnowledgeService(
        session_factory(engine),
        index,
        embedder(),
        knowledge_dir=tmp / "knowledge",
        clock=FrozenClock(START),
        parser=parser,
        **kwargs,  # type: ignore[arg-type]
    )


def copy_samples(target: Path) -> Path:
    shutil.copytree(SAMPLES, target, dirs_exist_ok=True)
    return target


def check_sample_answers(service: KnowledgeService) -> None:
    """The retrieval checks run against every index backend."""
    expectations = {
        "Can a client get the deposit back after cancelling?": (
            "client-faq.md › Client FAQ › Refunds"
        ),
        "Is there a surcharge for urgent delivery?": "price-list.pdf p. 3",
        "How much does a logo cost?": "price-list.pdf p. 2",
        "What is the notice period to end the contractor agreement?": (
            "contractor-agreement.docx › Termination"
        ),
        "When does the liability insurance renew?": "tax-and-licence-calendar.txt › Insurance",
        "Which photographer do I work with?": "contractors.csv › rows 1–4",
    }
    for question, source in expectations.items():
        passages = service.search(question, k=3)
        assert passages, question
        assert passages[0].source == source, (question, [p.source for p in passages])


# -- hostile files, built here (none is committed) ------------------------------------------


def pdf_with_streams(streams: list[bytes], *, raw_lengths: bool = True) -> bytes:
    """A PDF with one page per (already compressed) Flate content stream."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for data in streams:
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data)
        objects[-1] += b"\nendstream"
        stream = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>" % stream)
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    return pack_pdf(objects)


def pack_pdf(objects: list[bytes]) -> bytes:
    """A PDF file from its numbered objects (1 is the catalog): header, objects, xref, trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@functools.cache
def inflating_pdf(megabytes: int) -> bytes:
    """One page whose content stream inflates to `megabytes` MB of spaces (built streaming)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    block = b" " * (1 << 20)
    data = b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()
    return pdf_with_streams([data])


def many_stream_pdf(pages: int, megabytes_each: int) -> bytes:
    """Pages each under the per-stream cap; together over the per-file budget."""
    page = zlib.compress(b"0 0 m " * ((megabytes_each << 20) // 6), 9)
    return pdf_with_streams([page] * pages)


def encrypted_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO((SAMPLES / "price-list.pdf").read_bytes()))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = (SAMPLES / "price-list.pdf").read_bytes()
    return data[: len(data) // 3]


def zip_bomb_docx(megabytes: int = 200) -> bytes:
    """A .docx whose document.xml declares `megabytes` MB, stored as a tiny deflate stream."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(megabytes):
                member.write(block)
    return out.getvalue()


def binary_junk() -> bytes:
    return os.urandom(4096)


# -- sandbox targets (run inside the worker process) ----------------------------------------


def slow_parse(name: str, data: bytes, limits: Limits) -> ParsedDoc:
    time.sleep(60)
    return ParsedDoc()


def hog_memory(name: str, data: bytes, limits: Limits) -> ParsedDoc:
    hog = [bytearray(64 << 20) for _ in range(64)]  # 4 GB, over the cap
    return ParsedDoc([Block(str(len(hog)))])


def crash(name: str, data: bytes, limits: Limits) -> ParsedDoc:
    os._exit(3)
