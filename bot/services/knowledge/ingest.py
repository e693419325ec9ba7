"""Ingest: the owner's files into documents, chunks and their vectors.

    scan    the files under a folder, hidden ones and Office lock files left out, capped
    folder  every scanned file, incrementally (content hash): new and changed files indexed,
            unchanged ones skipped, deleted ones dropped from SQLite and the vector index
    upload  one file uploaded in Telegram; a file of the same name replaces the earlier upload

A file becomes a document row whatever happens to it (indexed, skipped or failed, with the
reason). Its vectors are written before the document commits; a crash in between leaves orphan
vectors that ``VectorUpkeep.ensure`` drops. The caller holds the knowledge service's write lock.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.crashpoints import crash_point
from bot.db.knowledge import (
    FAILED,
    FOLDER,
    INDEXED,
    SKIPPED,
    UPLOAD,
    Chunk,
    Document,
    KnowledgeRepo,
)
from bot.retrieval.chunking import ChunkParams, chunk_document
from bot.retrieval.embedding import Embedder
from bot.retrieval.index import VectorIndex
from bot.retrieval.parsing import FORMATS_SENTENCE, Limits, ParsedDoc, ParseError, check_size
from bot.retrieval.sandbox import Parser
from bot.services.knowledge.index import Progress, chunk_vectors, vector_ids

if TYPE_CHECKING:  # numpy loads with the first embedding, after the bot is serving
    import numpy as np
    import numpy.typing as npt

UNCHANGED = "unchanged"
REMOVED = "removed"


@dataclass(frozen=True)
class DocResult:
    name: str
    status: str  # indexed | unchanged | skipped | failed | removed
    reason: str | None = None
    chunks: int = 0


@dataclass
class IngestReport:
    results: list[DocResult] = field(default_factory=list)

    def named(self, status: str) -> list[DocResult]:
        return [r for r in self.results if r.status == status]

    @property
    def summary(self) -> str:
        counts = {s: len(self.named(s)) for s in (INDEXED, UNCHANGED, SKIPPED, FAILED, REMOVED)}
        return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no documents"


def clean_name(name: str) -> str:
    """An upload's file name, safe to store and show: no folders, no control characters."""
    base = PurePath(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    return base[-120:] or "upload"


class Ingester:
    """Reads, parses, chunks and embeds files, and records each as a document with its chunks."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: VectorIndex,
        embedder: Embedder,
        *,
        clock: Clock,
        parser: Parser,
        limits: Limits,
        chunking: ChunkParams,
        max_files: int,
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._embedder = embedder
        self._clock = clock
        self._parser = parser
        self._limits = limits
        self._chunking = chunking
        self._max_files = max_files
        self.stopping = threading.Event()  # set at close: a folder run ends after its file

    def scan(self, root: Path) -> tuple[list[Path], bool]:
        """Files under root, hidden ones and Office lock files left out; False if capped."""
        found: list[Path] = []
        for folder, dirs, names in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                path = Path(folder, name)
                if name.startswith((".", "~$")) or not path.is_file():
                    continue
                if len(found) >= self._max_files:
                    return found, False
                found.append(path)
        return found, True

    def folder(
        self, root: Path, files: list[Path], complete: bool, progress: Progress | None
    ) -> IngestReport:
        """Ingest the scanned `files` of `root`; drop the documents of files gone from it."""
        report = IngestReport()
        for done, file in enumerate(files, start=1):
            if self.stopping.is_set():  # closing: the rest waits for the next start
                return report
            report.results.append(self._ingest_path(root, file))
            if progress:
                progress(done, len(files), file.relative_to(root).as_posix())
        if complete:
            report.results.extend(self._remove_missing(root, {str(f) for f in files}))
        else:
            reason = f"The folder holds more than {self._max_files:,} files; I read the first."
            report.results.append(DocResult(root.name, FAILED, reason))
        return report

    def upload(self, name: str, data: bytes, progress: Progress | None) -> DocResult:
        """Ingest one uploaded file under its (cleaned) name."""
        return self._store(UPLOAD, name, name, data, progress)

    def _ingest_path(self, root: Path, file: Path) -> DocResult:
        name = file.relative_to(root).as_posix()
        try:
            size = file.stat().st_size
            check_size(size, self._limits)
            data = file.read_bytes()
        except ParseError as exc:
            return self._record(FOLDER, str(file), name, b"", FAILED, str(exc), size=size)
        except OSError:
            reason = "I could not open the file (permissions, or it moved while I read it)."
            return self._record(FOLDER, str(file), name, b"", FAILED, reason)
        return self._store(FOLDER, str(file), name, data, None)

    def _store(
        self, source: str, path: str, name: str, data: bytes, progress: Progress | None
    ) -> DocResult:
        digest = hashlib.sha256(data).hexdigest()
        with self._sessions() as session:
            known = KnowledgeRepo(session).find(source, path)
            if known is not None and known.content_hash == digest:  # a skip stays a skip
                status = UNCHANGED if known.status == INDEXED else known.status
                return DocResult(name, status, known.reason, known.chunk_count)
        try:
            check_size(len(data), self._limits)
            parsed = self._parse(name, data)
        except ParseError as exc:
            status = SKIPPED if exc.skip else FAILED
            return self._record(source, path, name, data, status, str(exc), digest=digest)
        chunks = chunk_document(parsed, self._chunking)
        rows_in = [(name, c.section_label, c.text) for c in chunks]
        vectors = chunk_vectors(self._embedder, rows_in, progress)
        rows = [
            Chunk(
                ordinal=c.ordinal,
                text=c.text,
                page=c.page,
                section=c.section_label,
                char_start=c.start,
                char_end=c.end,
            )
            for c in chunks
        ]
        return self._record(
            source, path, name, data, INDEXED, None, digest=digest, rows=rows, vectors=vectors,
            chars=parsed.chars,
        )  # fmt: skip

    def _parse(self, name: str, data: bytes) -> ParsedDoc:
        suffix = PurePath(name).suffix.lower()
        from bot.retrieval.parsing import supported

        if not supported(name):
            what = f"{suffix} files" if suffix else "files without an extension"
            raise ParseError(f"I can't read {what}; I read {FORMATS_SENTENCE}.", skip=True)
        return self._parser.parse(name, data)

    def _record(
        self,
        source: str,
        path: str,
        name: str,
        data: bytes,
        status: str,
        reason: str | None,
        *,
        digest: str = "",
        size: int | None = None,
        rows: Sequence[Chunk] = (),
        vectors: npt.NDArray[np.float32] | None = None,
        chars: int = 0,
    ) -> DocResult:
        """Write the document row and its chunks, and their vectors before the commit."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            repo = KnowledgeRepo(session)
            doc = repo.find(source, path)
            if doc is None:
                doc = repo.add(
                    Document(source=source, path=path, name=name, content_hash=digest,
                             status=status, size_bytes=0, created_at=now, updated_at=now)
                )  # fmt: skip
            old_ids = repo.chunk_ids(doc.id)
            for row in rows:
                row.document_id = doc.id
            new_ids = repo.replace_chunks(doc.id, rows)
            doc.name, doc.content_hash, doc.status, doc.reason = name, digest, status, reason
            doc.size_bytes = len(data) if size is None else size
            doc.text_chars, doc.chunk_count, doc.updated_at = chars, len(rows), now
            if vectors is not None and new_ids:
                self._index.upsert(vector_ids(new_ids), vectors)
                crash_point("mid_ingest")  # vectors written, the document not committed yet
        self._index.delete(vector_ids(old_ids))  # a crash before: orphans for VectorUpkeep
        return DocResult(name, status, reason, len(rows))

    def _remove_missing(self, root: Path, present: set[str]) -> list[DocResult]:
        prefix = str(root) + os.sep
        removed: list[DocResult] = []
        with self._sessions.begin() as session:
            repo = KnowledgeRepo(session)
            for doc in repo.documents(FOLDER):
                if doc.path.startswith(prefix) and doc.path not in present:
                    ids = repo.chunk_ids(doc.id)
                    repo.delete(doc)
                    removed.append(DocResult(doc.name, REMOVED, None, len(ids)))
                    self._index.delete(vector_ids(ids))
        return removed
