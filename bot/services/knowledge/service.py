"""Knowledge: the owner's documents, indexed offline, searched with their sources named.

    ingest_dir    the knowledge folder, incrementally (content hash): new and changed files are
                  indexed, unchanged ones skipped, deleted ones dropped from SQLite and the index
    ingest_file   one upload from Telegram
    search        hybrid (dense + BM25) passages, each with its citation ("price-list.pdf p. 2")
    lookup        search, and whether the best passages really answer (else: "not in your
                  documents", with what the documents are about)
    rebuild_index the vectors again from the chunk text in SQLite

SQLite is the source of truth; the vector index and the BM25 index are derived from it. The
blocking methods run on the caller's thread; the ``a``-prefixed ones run them in a worker thread
(``asyncio.to_thread``) and call ``progress`` back on the event loop.

This module is the service and its reading side (search, listing); the work lives beside it:
``knowledge_ingest`` (files → documents, chunks, vectors) and ``knowledge_index`` (what is
indexed, the BM25 build, the vector index's rebuild and repair). One write lock here serialises
every change to SQLite and the indexes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.knowledge import Chunk, Document, KnowledgeRepo
from bot.errors import UserInputError
from bot.retrieval.chunking import SECTION_SEPARATOR, ChunkParams
from bot.retrieval.embedding import Embedder
from bot.retrieval.excerpt import excerpt
from bot.retrieval.index import Snapshot, VectorIndex
from bot.retrieval.lexical import LexicalIndex, text_language, trim_heap
from bot.retrieval.parsing import Limits
from bot.retrieval.relevance import Evidence, Relevance, best_evidence
from bot.retrieval.sandbox import Parser, SandboxParser
from bot.retrieval.search import Fusion, HybridSearch
from bot.services.knowledge.index import (
    PreparedLexical,
    PreparedVectors,
    Progress,
    VectorUpkeep,
    build_lexical,
    indexed_text,
)
from bot.services.knowledge.ingest import DocResult, Ingester, IngestReport, clean_name

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 1_000
TOPICS = 6  # documents named when a question is declined
# Calibrated per embedder (bench/eval_retrieval.py --calibrate, on the tuning halves of the
# held-out set and of --samples): at most 4 % of answerable questions declined on each. Other
# embedders: never.
RELEVANCE = {
    "use-multilingual-v3": Relevance(
        coverage_weight=0.5,
        threshold=0.36,
        cross_threshold=0.12,
        cross_similarity=0.3,
        unknown_names=True,
    ),
}
NEVER_DECLINE = Relevance(coverage_weight=0.0, threshold=0.0)


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
    excerpt: str = ""  # what to show: the sentences around the best match (bot.retrieval.excerpt)


@dataclass(frozen=True)
class Findings:
    """The best passages for a question, and whether they really answer it."""

    passages: list[Passage]  # best first (the nearest ones, even when they don't match)
    matched: bool  # False: "not in your documents"
    topics: list[str]  # what the documents are about (their titles, largest first)
    evidence: Evidence


@dataclass(frozen=True)
class DocStatus:
    name: str
    source: str
    status: str
    reason: str | None
    size_bytes: int
    chunks: int
    updated_at: datetime  # when its content was last read
    path: str = ""  # the file it came from (a folder document), or its upload name


@dataclass(frozen=True)
class KnowledgeStats:
    documents: int
    chunks: int
    vectors: int


def citation(name: str, page: int | None, section: str | None) -> str:
    if page is not None:
        return f"{name} p. {page}"
    return f"{name}{SECTION_SEPARATOR}{section}" if section else name


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
        relevance: Relevance | None = None,
        prepared: Path | None = None,
        max_files: int = 10_000,
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._embedder = embedder
        self._knowledge_dir = knowledge_dir
        limits = limits or Limits()
        self._owns_parser = parser is None
        self._parser = parser or SandboxParser(limits)
        self._ingest = Ingester(
            sessions, index, embedder, clock=clock, parser=self._parser, limits=limits,
            chunking=chunking or ChunkParams(), max_files=max_files,
        )  # fmt: skip
        self._vectors = VectorUpkeep(sessions, index, embedder)
        self._search = HybridSearch(index, embedder, fusion)
        self.relevance = relevance or RELEVANCE.get(embedder.name, NEVER_DECLINE)
        self._write = threading.RLock()
        self._lexical: LexicalIndex | None = None
        self._snapshot: Snapshot | None = None  # the prepared vectors, while the index is unopened
        self._prepared = PreparedLexical(prepared) if prepared else None
        self._prepared_vectors = PreparedVectors(prepared, embedder.name) if prepared else None

    # -- ingestion -------------------------------------------------------------------------

    def ingest_dir(
        self, path: Path | None = None, progress: Progress | None = None
    ) -> IngestReport:
        """Index every supported file under `path` (default KNOWLEDGE_DIR), incrementally."""
        root = (path or self._knowledge_dir).expanduser().resolve()
        if not root.is_dir():
            raise UserInputError(f"There is no folder {root.name or str(root)!r} to index.")
        files, complete = self._ingest.scan(root)
        with self._write:
            before = self._generation()
            if not self._has_prepared_vectors(before):  # else checked when something changes
                self._ensure_vectors()
            report = self._ingest.folder(root, files, complete, progress)
            self._refresh_lexical_if_changed(before)
            log.info("ingested %s: %s", root.name, report.summary)  # before close() goes on
        return report

    def ingest_file(self, name: str, data: bytes, progress: Progress | None = None) -> DocResult:
        """Index one uploaded file; a file of the same name replaces the earlier upload."""
        name = clean_name(name)
        with self._write:
            self._ensure_vectors()
            before = self._generation()
            result = self._ingest.upload(name, data, progress)
            self._refresh_lexical_if_changed(before)
        log.info("upload %s: %s", result.status, result.chunks)
        return result

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Re-embed every stored chunk into an empty vector index; returns the chunk count."""
        with self._write:
            self._snapshot = None
            count = self._vectors.rebuild(progress)
            self._refresh_lexical()
            if self._prepared_vectors is not None:  # new vectors: the copy is written again
                self._prepared_vectors.write(self._generation(), self._index)
        return count

    def index_drift(self) -> tuple[set[int], set[int]]:
        """(vector ids with no stored chunk, missing vector ids of stored chunks)."""
        return self._vectors.drift()

    # -- reading -----------------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The k best passages for `query`, each with its citation; [] when nothing is indexed."""
        return self._find(query, k)[0]

    def lookup(self, query: str, k: int = 3) -> Findings:
        """The k best passages, and whether they answer `query` (the AI-off answer)."""
        passages, (similarity, typical), lexical = self._find(query, k)
        query = _clean_query(query)
        asked = text_language(query)
        unknown = passages and lexical.unknown_name(query) is not None
        evidence = best_evidence(
            [
                Evidence(
                    lexical.coverage(query, _indexed(p)),
                    similarity,
                    typical,
                    text_language(p.text) == asked,
                    bool(unknown),
                )
                for p in passages
            ]
        )
        matched = bool(passages) and self.relevance.matches(evidence)
        return Findings(passages, matched, [] if matched else self.topics(), evidence)

    def topics(self) -> list[str]:
        """What the documents are about: the largest one of each folder, then the next largest.

        A document is named by its first heading and its file ("Definitions and overview
        (basic-defs.en.html)"), or by its file when it has no heading.
        """
        with self._sessions() as session:
            docs = [d for d in KnowledgeRepo(session).documents() if d.chunk_count]
            chosen = _spread(sorted(docs, key=lambda d: (-d.chunk_count, d.name)), TOPICS)
            heads = session.execute(
                select(Chunk.document_id, Chunk.section).where(
                    Chunk.document_id.in_([d.id for d in chosen]), Chunk.ordinal == 0
                )
            ).all()
        first = {doc_id: (section or "").split(SECTION_SEPARATOR)[0] for doc_id, section in heads}
        return [_topic(d.name, first.get(d.id, "")) for d in chosen]

    def _find(self, query: str, k: int) -> tuple[list[Passage], tuple[float, float], LexicalIndex]:
        """Passages, (best dense cosine, mean of the dense candidates'), the BM25 index."""
        query = _clean_query(query)
        lexical = self._lexical_index()
        if not len(lexical):
            return [], (0.0, 0.0), lexical
        snapshot = None if self._vectors.checked else self._read_snapshot()
        if snapshot is None and not self._vectors.checked:
            with self._write:
                self._ensure_vectors()
        hits, similarity, typical = self._search.ranked(query, lexical, k, snapshot)
        with self._sessions() as session:
            found = KnowledgeRepo(session).chunks_by_id([h.chunk_id for h in hits])

        def score(sentence: str) -> float:
            return lexical.coverage(query, sentence)

        passages = [
            _passage(found[h.chunk_id][0], found[h.chunk_id][1], h.score, h.similarity, score)
            for h in hits
            if h.chunk_id in found  # a vector whose chunk is gone: ignored until a rebuild
        ]
        return passages, (similarity, typical), lexical

    def list_documents(self) -> list[DocStatus]:
        with self._sessions() as session:
            return [_status(d) for d in KnowledgeRepo(session).documents()]

    def stats(self) -> KnowledgeStats:
        with self._sessions() as session:
            repo = KnowledgeRepo(session)
            documents, chunks = len(repo.documents()), repo.count_chunks()
        return KnowledgeStats(documents, chunks, self._index.count() // 2)  # text + heading

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
        """Stop a folder run after its current file (and wait for it), then the parsing worker
        this service started (if it started one)."""
        self._ingest.stopping.set()
        with self._write:  # a run in a worker thread holds it until it has stopped
            pass
        if self._owns_parser and isinstance(self._parser, SandboxParser):
            self._parser.close()

    # -- async wrappers (the Telegram adapter calls these) -----------------------------------

    async def asearch(self, query: str, k: int = 5) -> list[Passage]:
        return await asyncio.to_thread(self.search, query, k)

    async def alookup(self, query: str, k: int = 3) -> Findings:
        return await asyncio.to_thread(self.lookup, query, k)

    async def aingest_file(
        self, name: str, data: bytes, progress: Progress | None = None
    ) -> DocResult:
        return await asyncio.to_thread(self.ingest_file, name, data, _on_loop(progress))

    async def aingest_dir(
        self, path: Path | None = None, progress: Progress | None = None
    ) -> IngestReport:
        return await asyncio.to_thread(self.ingest_dir, path, _on_loop(progress))

    async def alist_documents(self) -> list[DocStatus]:
        return await asyncio.to_thread(self.list_documents)

    async def awarm_up(self) -> None:
        await asyncio.to_thread(self.warm_up)

    # -- internals -----------------------------------------------------------------------------

    def _ensure_vectors(self) -> None:
        """Once per process, make the vector index agree with the stored chunks (lock held)."""
        if self._vectors.checked:
            return
        self._snapshot = None  # from here on the index itself is searched
        if self._vectors.ensure():  # rebuilt: BM25 is built again with it, as rebuild_index does
            self._refresh_lexical()
        else:
            self._keep_vectors()

    def _has_prepared_vectors(self, generation: str) -> bool:
        return self._prepared_vectors is not None and self._prepared_vectors.has(generation)

    def _read_snapshot(self) -> Snapshot | None:
        """The prepared vectors of the current chunks, until this process opens the index."""
        if self._snapshot is None and self._prepared_vectors is not None:
            with self._write:
                if not self._vectors.checked:
                    self._snapshot = self._prepared_vectors.read(self._generation())
        return self._snapshot

    def _keep_vectors(self) -> None:
        """A copy of the checked index for the next process, if the current one has none."""
        generation = self._generation()
        if self._prepared_vectors is not None and not self._has_prepared_vectors(generation):
            self._prepared_vectors.write(generation, self._index)

    def _lexical_index(self) -> LexicalIndex:
        if self._lexical is None:
            with self._write:
                if self._lexical is None and self._prepared is not None:
                    self._lexical = self._prepared.read(self._generation())
                if self._lexical is None:
                    self._refresh_lexical()
        assert self._lexical is not None
        return self._lexical

    def _refresh_lexical(self) -> None:
        self._lexical = build_lexical(self._sessions)
        trim_heap()  # the chunk texts and token lists of the build are garbage by now
        if self._prepared is not None:
            self._prepared.write(self._generation(), self._lexical)
        if self._vectors.checked:
            self._keep_vectors()

    def _refresh_lexical_if_changed(self, before: str) -> None:
        """Build BM25 again only when chunks came or went (an unchanged folder costs nothing)."""
        if self._generation() != before:
            self._ensure_vectors()  # the index was left unchecked when a copy of it was prepared
            self._refresh_lexical()

    def _generation(self) -> str:
        """Changes whenever a chunk is added or removed (chunk ids are never reused)."""
        with self._sessions() as session:
            count, last = session.execute(select(func.count(Chunk.id), func.max(Chunk.id))).one()
        return f"{count}-{last or 0}"


def _spread(docs: list[Document], n: int) -> list[Document]:
    """Up to n documents, the first of each folder before a second of any."""
    firsts: dict[str, Document] = {}
    for doc in docs:
        firsts.setdefault(PurePath(doc.name).parent.as_posix(), doc)
    chosen = list(firsts.values())[:n]
    chosen += [d for d in docs if d not in chosen][: n - len(chosen)]
    return chosen


def _topic(name: str, heading: str) -> str:
    file = PurePath(name).name
    heading = heading.strip()
    if not heading or heading == file or heading.startswith("row"):  # a CSV's "rows 1–40"
        return file
    return f"{heading} ({file})"


def _clean_query(query: str) -> str:
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    if not query:
        raise UserInputError("Ask me something to look up in your documents.")
    return query


def _indexed(passage: Passage) -> str:
    return indexed_text(passage.document, passage.section, passage.text)


def _passage(
    chunk: Chunk,
    doc: Document,
    score: float,
    similarity: float | None,
    match: Callable[[str], float],
) -> Passage:
    return Passage(
        text=chunk.text,
        source=citation(doc.name, chunk.page, chunk.section),
        score=score,
        document=doc.name,
        page=chunk.page,
        section=chunk.section,
        similarity=similarity,
        excerpt=excerpt(chunk.text, match),
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
        path=doc.path,
    )


def _on_loop(progress: Progress | None) -> Progress | None:
    """Wrap `progress` so the worker thread hands each call to the running event loop."""
    if progress is None:
        return None
    loop = asyncio.get_running_loop()

    def relay(done: int, total: int, label: str) -> None:
        loop.call_soon_threadsafe(progress, done, total, label)

    return relay
