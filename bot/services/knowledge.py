"""Knowledge: the owner's documents, indexed offline, searched with their sources named.

    ingest_dir    the knowledge folder, incrementally (content hash): new and changed files are
                  indexed, unchanged ones skipped, deleted ones dropped from SQLite and the index
    ingest_file   one upload from Telegram
    search        hybrid (dense + BM25) passages, each with its citation ("price-list.pdf p. 2")
    rebuild_index the vectors again from the chunk text in SQLite

SQLite is the source of truth; the vector index and the BM25 index are derived from it. The
blocking methods run on the caller's thread; the ``a``-prefixed ones run them in a worker thread
(``asyncio.to_thread``) and call ``progress`` back on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, TypeVar

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
from bot.errors import UserInputError
from bot.retrieval.chunking import SECTION_SEPARATOR, ChunkParams, chunk_document
from bot.retrieval.embedding import Embedder
from bot.retrieval.index import VectorIndex
from bot.retrieval.lexical import LexicalIndex, trim_heap
from bot.retrieval.parsing import FORMATS_SENTENCE, Limits, ParsedDoc, ParseError, check_size
from bot.retrieval.sandbox import Parser, SandboxParser
from bot.retrieval.search import Fusion, HybridSearch

if TYPE_CHECKING:  # numpy loads with the first embedding, after the bot is serving
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
T = TypeVar("T")
UNCHANGED = "unchanged"
REMOVED = "removed"
MAX_QUERY_CHARS = 1_000
EMBED_BATCH = 64


@dataclass(frozen=True)
class Passage:
    """A piece of a document that answers a query, with what to cite."""

    text: str
    source: str  # "price-list.pdf p. 2", "faq.md › Refunds"
    score: float
    document: str
    page: int | None
    section: str | None
    similarity: float | None  # dense cosine; None when only BM25 found it


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


@dataclass(frozen=True)
class DocStatus:
    name: str
    source: str
    status: str
    reason: str | None
    size_bytes: int
    chunks: int
    updated_at: datetime


@dataclass(frozen=True)
class KnowledgeStats:
    documents: int
    chunks: int
    vectors: int


def citation(name: str, page: int | None, section: str | None) -> str:
    if page is not None:
        return f"{name} p. {page}"
    return f"{name}{SECTION_SEPARATOR}{section}" if section else name


def indexed_text(name: str, section: str | None, text: str) -> str:
    """What is embedded and BM25-indexed: the file's title and section trail, then the text."""
    title = re.sub(r"[_\-.]+", " ", PurePath(name).stem).strip()
    head = f"{title}{SECTION_SEPARATOR}{section}" if section else title
    return f"{head}\n{text}"


class KnowledgeService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: VectorIndex,
        embedder: Embedder,
        *,
        knowledge_dir: Path,
        clock: Clock,
        parser: Parser | None = None,
        limits: Limits | None = None,
        chunking: ChunkParams | None = None,
        fusion: Fusion | None = None,
        max_files: int = 10_000,
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._embedder = embedder
        self._knowledge_dir = knowledge_dir
        self._clock = clock
        self._limits = limits or Limits()
        self._owns_parser = parser is None
        self._parser = parser or SandboxParser(self._limits)
        self._chunking = chunking or ChunkParams()
        self._search = HybridSearch(index, embedder, fusion)
        self._max_files = max_files
        self._write = threading.RLock()
        self._lexical: LexicalIndex | None = None
        self._vectors_checked = False

    # -- ingestion -------------------------------------------------------------------------

    def ingest_dir(
        self, path: Path | None = None, progress: Progress | None = None
    ) -> IngestReport:
        """Index every supported file under `path` (default KNOWLEDGE_DIR), incrementally."""
        root = (path or self._knowledge_dir).expanduser().resolve()
        if not root.is_dir():
            raise UserInputError(f"There is no folder {root.name or str(root)!r} to index.")
        files, complete = self._scan(root)
        report = IngestReport()
        with self._write:
            self._ensure_vectors()
            for done, file in enumerate(files, start=1):
                report.results.append(self._ingest_path(root, file))
                if progress:
                    progress(done, len(files), file.relative_to(root).as_posix())
            if complete:
                report.results.extend(self._remove_missing(root, {str(f) for f in files}))
            else:
                reason = f"The folder holds more than {self._max_files:,} files; I read the first."
                report.results.append(DocResult(root.name, FAILED, reason))
            self._refresh_lexical()
        log.info("ingested %s: %s", root.name, report.summary)
        return report

    def ingest_file(self, name: str, data: bytes, progress: Progress | None = None) -> DocResult:
        """Index one uploaded file; a file of the same name replaces the earlier upload."""
        name = clean_name(name)
        with self._write:
            self._ensure_vectors()
            result = self._store(UPLOAD, name, name, data, progress)
            self._refresh_lexical()
        log.info("upload %s: %s", result.status, result.chunks)
        return result

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Re-embed every stored chunk into an empty vector index; returns the chunk count."""
        with self._write:
            with self._sessions() as session:
                rows = KnowledgeRepo(session).all_chunk_texts()
            self._index.reset()
            for first in range(0, len(rows), EMBED_BATCH * 4):
                batch = rows[first : first + EMBED_BATCH * 4]
                texts = [indexed_text(name, section, text) for _, text, name, section in batch]
                self._index.upsert([r[0] for r in batch], self._embedder.embed(texts))
                if progress:
                    progress(first + len(batch), len(rows), "rebuilding")
            self._vectors_checked = True
            self._refresh_lexical()
        log.info("rebuilt the vector index: %d chunks", len(rows))
        return len(rows)

    # -- reading -----------------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The k best passages for `query`, each with its citation; [] when nothing is indexed."""
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        if not query:
            raise UserInputError("Ask me something to look up in your documents.")
        lexical = self._lexical_index()
        if not len(lexical):
            return []
        if not self._vectors_checked:
            with self._write:
                self._ensure_vectors()
        hits = self._search.search(query, lexical, k)
        with self._sessions() as session:
            found = KnowledgeRepo(session).chunks_by_id([h.chunk_id for h in hits])
        return [
            _passage(found[h.chunk_id][0], found[h.chunk_id][1], h.score, h.similarity)
            for h in hits
            if h.chunk_id in found  # a vector whose chunk is gone: ignored until a rebuild
        ]

    def list_documents(self) -> list[DocStatus]:
        with self._sessions() as session:
            return [_status(d) for d in KnowledgeRepo(session).documents()]

    def stats(self) -> KnowledgeStats:
        with self._sessions() as session:
            repo = KnowledgeRepo(session)
            documents, chunks = len(repo.documents()), repo.count_chunks()
        return KnowledgeStats(documents, chunks, self._index.count())

    def warm_up(self) -> None:
        """Load the model, open the index and build BM25 now rather than on the first question.

        The bot starts without it (nothing heavy loads at start); call ``awarm_up`` as a
        background task after start so the owner's first /ask is as fast as the rest.
        """
        self._lexical_index()
        with self._write:
            self._ensure_vectors()
        self._embedder.embed_query("warm up")

    def close(self) -> None:
        """Stop the parsing worker this service started (if it started one)."""
        if self._owns_parser and isinstance(self._parser, SandboxParser):
            self._parser.close()

    # -- async wrappers (the Telegram adapter calls these) -----------------------------------

    async def asearch(self, query: str, k: int = 5) -> list[Passage]:
        return await asyncio.to_thread(self.search, query, k)

    async def aingest_file(
        self, name: str, data: bytes, progress: Progress | None = None
    ) -> DocResult:
        return await asyncio.to_thread(self.ingest_file, name, data, _on_loop(progress))

    async def aingest_dir(
        self, path: Path | None = None, progress: Progress | None = None
    ) -> IngestReport:
        return await asyncio.to_thread(self.ingest_dir, path, _on_loop(progress))

    async def arebuild_index(self, progress: Progress | None = None) -> int:
        return await asyncio.to_thread(self.rebuild_index, _on_loop(progress))

    async def alist_documents(self) -> list[DocStatus]:
        return await asyncio.to_thread(self.list_documents)

    async def awarm_up(self) -> None:
        await asyncio.to_thread(self.warm_up)

    # -- internals -----------------------------------------------------------------------------

    def _scan(self, root: Path) -> tuple[list[Path], bool]:
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
            if known is not None and known.content_hash == digest:
                return DocResult(name, UNCHANGED, known.reason, known.chunk_count)
        try:
            check_size(len(data), self._limits)
            parsed = self._parse(name, data)
        except ParseError as exc:
            status = SKIPPED if exc.skip else FAILED
            return self._record(source, path, name, data, status, str(exc), digest=digest)
        chunks = chunk_document(parsed, self._chunking)
        texts = [indexed_text(name, c.section_label, c.text) for c in chunks]
        vectors = self._embed(texts, progress)
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

    def _embed(self, texts: list[str], progress: Progress | None) -> npt.NDArray[np.float32]:
        import numpy as np

        parts = []
        for first in range(0, len(texts), EMBED_BATCH):
            parts.append(self._embedder.embed(texts[first : first + EMBED_BATCH]))
            if progress:
                progress(min(first + EMBED_BATCH, len(texts)), len(texts), "indexing")
        if not parts:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        return np.concatenate(parts)

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
                self._index.upsert(new_ids, vectors)
                crash_point("mid_ingest")  # vectors written, the document not committed yet
        self._index.delete(old_ids)  # a crash before this leaves orphans: _ensure_vectors
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
                    self._index.delete(ids)
        return removed

    def index_drift(self) -> tuple[set[int], set[int]]:
        """(vector ids with no stored chunk, stored chunk ids with no vector)."""
        with self._sessions() as session:
            stored = {row[0] for row in KnowledgeRepo(session).all_chunk_texts()}
        indexed = set(self._index.ids())
        return indexed - stored, stored - indexed

    def _ensure_vectors(self) -> None:
        """Once per process, make the index agree with the stored chunks.

        An empty index over stored chunks (new server, deleted folder) is rebuilt. A crash
        mid-ingest can leave vectors of chunks that never committed, or of replaced ones: those
        are deleted; chunks without a vector get one.
        """
        if self._vectors_checked:
            return
        with self._sessions() as session:
            stored = KnowledgeRepo(session).count_chunks()
        if stored and not self._index.count():
            log.warning("the vector index is empty but %d chunks are stored: rebuilding", stored)
            self.rebuild_index()
        else:
            self._repair(*self.index_drift())
        self._vectors_checked = True

    def _repair(self, orphans: set[int], missing: set[int]) -> None:
        if orphans:
            log.warning("dropping %d vectors whose chunks are gone", len(orphans))
            self._index.delete(sorted(orphans))
        if missing:
            log.warning("embedding %d stored chunks that have no vector", len(missing))
            with self._sessions() as session:
                rows = [r for r in KnowledgeRepo(session).all_chunk_texts() if r[0] in missing]
            texts = [indexed_text(name, section, text) for _, text, name, section in rows]
            self._index.upsert([r[0] for r in rows], self._embed(texts, None))

    def _lexical_index(self) -> LexicalIndex:
        if self._lexical is None:
            with self._write:
                if self._lexical is None:
                    self._refresh_lexical()
        assert self._lexical is not None
        return self._lexical

    def _refresh_lexical(self) -> None:
        self._lexical = self._build_lexical()
        trim_heap()  # the chunk texts and token lists of the build are garbage by now

    def _build_lexical(self) -> LexicalIndex:
        with self._sessions() as session:
            rows = KnowledgeRepo(session).all_chunk_texts()
        texts = [indexed_text(name, section, text) for _, text, name, section in rows]
        return LexicalIndex([r[0] for r in rows], texts)


def clean_name(name: str) -> str:
    """An upload's file name, safe to store and show: no folders, no control characters."""
    base = PurePath(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    return base[-120:] or "upload"


def _passage(chunk: Chunk, doc: Document, score: float, similarity: float | None) -> Passage:
    return Passage(
        text=chunk.text,
        source=citation(doc.name, chunk.page, chunk.section),
        score=score,
        document=doc.name,
        page=chunk.page,
        section=chunk.section,
        similarity=similarity,
    )


def _status(doc: Document) -> DocStatus:
    return DocStatus(
        name=doc.name,
        source=doc.source,
        status=doc.status,
        reason=doc.reason,
        size_bytes=doc.size_bytes,
        chunks=doc.chunk_count,
        updated_at=doc.updated_at,
    )


def _on_loop(progress: Progress | None) -> Progress | None:
    """Wrap `progress` so the worker thread hands each call to the running event loop."""
    if progress is None:
        return None
    loop = asyncio.get_running_loop()

    def relay(done: int, total: int, label: str) -> None:
        loop.call_soon_threadsafe(progress, done, total, label)

    return relay
