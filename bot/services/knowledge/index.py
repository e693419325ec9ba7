"""The derived indexes of the knowledge base, kept in step with the chunks stored in SQLite.

    indexed_text   what is embedded and BM25-indexed for a chunk (file title, section, text)
    chunk_vectors  two vectors per chunk: its indexed text, and its own heading alone (stored
                   under the negated chunk id); the search takes the better of the two, so a
                   question meets an FAQ heading that asks it, in any language, undiluted by
                   the answer's thousand characters (held-out eval: German questions on English
                   files 0.39 -> ~0.6 recall@3)
    embed_batches  texts to vectors, a batch at a time, with progress
    build_lexical  the BM25 index, built again from every stored chunk
    PreparedLexical  that BM25 index kept on disk for the next process (a one-shot `ask`
                   reads it in milliseconds instead of tokenizing every chunk again)
    PreparedVectors  a copy of the vector index on disk, for the same one-shot `ask`: read in
                   milliseconds where starting chromadb takes ~0.7 s (up to 20,000 vectors)
    VectorUpkeep   rebuild the vector index, measure its drift from SQLite, repair it once per
                   process (a crash mid-ingest leaves orphan vectors or chunks without one)

SQLite is the source of truth: nothing here writes a document or a chunk. The caller holds the
knowledge service's write lock around every method that changes the vector index.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.db.knowledge import KnowledgeRepo
from bot.retrieval.chunking import SECTION_SEPARATOR
from bot.retrieval.embedding import Embedder
from bot.retrieval.index import Snapshot, VectorIndex, collection_name
from bot.retrieval.lexical import LexicalIndex

if TYPE_CHECKING:  # numpy loads with the first embedding, after the bot is serving
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
EMBED_BATCH = 64
ChunkText = tuple[int, str, str, str | None]  # chunk id, text, document name, section


def indexed_text(name: str, section: str | None, text: str) -> str:
    """What is embedded and BM25-indexed: the file's title and section trail, then the text."""
    title = re.sub(r"[_\-.]+", " ", PurePath(name).stem).strip()
    head = f"{title}{SECTION_SEPARATOR}{section}" if section else title
    return f"{head}\n{text}"


def indexed_texts(rows: Sequence[ChunkText]) -> list[str]:
    return [indexed_text(name, section, text) for _, text, name, section in rows]


def heading(name: str, section: str | None) -> str:
    """The nearest heading of a chunk (its section's last part), else the file's title."""
    if section:
        return section.split(SECTION_SEPARATOR)[-1]
    return re.sub(r"[_\-.]+", " ", PurePath(name).stem).strip()


def vector_ids(ids: Sequence[int]) -> list[int]:
    """The ids of a chunk's two vectors: the chunk id (its text), minus it (its heading)."""
    return [*ids, *(-i for i in ids)]


def chunk_vectors(
    embedder: Embedder, rows: Sequence[tuple[str, str | None, str]], progress: Progress | None
) -> npt.NDArray[np.float32]:
    """(2n, dim): the n (name, section, text) rows' text vectors, then their heading vectors."""
    import numpy as np

    texts = embed_batches(embedder, [indexed_text(*row) for row in rows], progress)
    headings = [heading(name, section) for name, section, _ in rows]
    unique = sorted(set(headings))
    found = dict(zip(unique, embed_batches(embedder, unique, None), strict=True))
    heads = np.array([found[h] for h in headings], dtype=np.float32).reshape(-1, embedder.dim)
    return np.concatenate([texts, heads])


def embed_batches(
    embedder: Embedder, texts: list[str], progress: Progress | None
) -> npt.NDArray[np.float32]:
    import numpy as np

    parts = []
    for first in range(0, len(texts), EMBED_BATCH):
        parts.append(embedder.embed(texts[first : first + EMBED_BATCH]))
        if progress:
            progress(min(first + EMBED_BATCH, len(texts)), len(texts), "indexing")
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.concatenate(parts)


def build_lexical(sessions: sessionmaker[Session]) -> LexicalIndex:
    with sessions() as session:
        rows = KnowledgeRepo(session).all_chunk_texts()
    return LexicalIndex([r[0] for r in rows], indexed_texts(rows))


class PreparedLexical:
    """The BM25 index as a pickle in the bot's own folder (DATA_DIR/models), per generation."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self, generation: str) -> LexicalIndex | None:
        path = self.folder / f"bm25-{generation}.pickle"
        if not path.is_file():
            return None
        try:
            with path.open("rb") as handle:
                index = pickle.load(handle)  # written by write() below, into DATA_DIR
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            log.warning("the prepared BM25 index could not be read; building it again")
            return None
        return index if isinstance(index, LexicalIndex) else None

    def write(self, generation: str, index: LexicalIndex) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for old in self.folder.glob("bm25-*.pickle"):
                old.unlink(missing_ok=True)
            partial = self.folder / f"bm25-{generation}.partial"
            with partial.open("wb") as handle:
                pickle.dump(index, handle, protocol=5)
            os.replace(partial, self.folder / f"bm25-{generation}.pickle")
        except OSError as exc:
            log.warning("could not keep the BM25 index for the next start: %s", exc)


class PreparedVectors:
    """The vector index's snapshot as an .npz in DATA_DIR/models, per embedder and generation.

    Written only from an index this process has checked against SQLite (VectorUpkeep.ensure),
    so a reader of the same generation finds what the index holds, without opening it.
    """

    MAX_VECTORS = 20_000  # 10,000 chunks: 40 MB; a larger index is searched in chromadb

    def __init__(self, folder: Path, embedder_name: str) -> None:
        self.folder = folder
        self.prefix = f"vectors-{collection_name(embedder_name)}-"

    def _path(self, generation: str) -> Path:
        return self.folder / f"{self.prefix}{generation}.npz"

    def has(self, generation: str) -> bool:
        return self._path(generation).is_file()

    def read(self, generation: str) -> Snapshot | None:
        import numpy as np

        path = self._path(generation)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return Snapshot(data["ids"], data["vectors"])
        except (OSError, ValueError, KeyError):
            log.warning("the prepared vectors could not be read; searching the index instead")
            return None

    def write(self, generation: str, index: VectorIndex) -> None:
        import numpy as np

        snapshot = index.snapshot(self.MAX_VECTORS)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for old in self.folder.glob(f"{self.prefix}*.npz"):
                old.unlink(missing_ok=True)
            if snapshot is None:
                return
            partial = self.folder / f"{self.prefix}{generation}.partial.npz"
            np.savez(partial, ids=snapshot.ids, vectors=snapshot.vectors)
            os.replace(partial, self._path(generation))
        except OSError as exc:
            log.warning("could not keep the vectors for the next start: %s", exc)


class VectorUpkeep:
    """The vector index against the stored chunks: rebuild, drift, and the once-a-process repair."""

    def __init__(
        self, sessions: sessionmaker[Session], index: VectorIndex, embedder: Embedder
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._embedder = embedder
        self.checked = False  # ensure() ran in this process

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-embed every stored chunk into an empty vector index; returns the chunk count."""
        with self._sessions() as session:
            rows = KnowledgeRepo(session).all_chunk_texts()
        self._index.reset()
        for first in range(0, len(rows), EMBED_BATCH * 4):
            batch = rows[first : first + EMBED_BATCH * 4]
            vectors = chunk_vectors(self._embedder, [(r[2], r[3], r[1]) for r in batch], None)
            self._index.upsert(vector_ids([r[0] for r in batch]), vectors)
            if progress:
                progress(first + len(batch), len(rows), "rebuilding")
        self.checked = True
        log.info("rebuilt the vector index: %d chunks", len(rows))
        return len(rows)

    def drift(self) -> tuple[set[int], set[int]]:
        """(vector ids with no stored chunk, vector ids of stored chunks that are missing)."""
        with self._sessions() as session:
            stored = {row[0] for row in KnowledgeRepo(session).all_chunk_texts()}
        expected = set(vector_ids(sorted(stored)))
        indexed = set(self._index.ids())
        return indexed - expected, expected - indexed

    def ensure(self) -> bool:
        """Once per process, make the index agree with the stored chunks; True if it rebuilt.

        An empty index over stored chunks (new server, deleted folder) is rebuilt. A crash
        mid-ingest can leave vectors of chunks that never committed, or of replaced ones: those
        are deleted; chunks without a vector get one.
        """
        if self.checked:
            return False
        with self._sessions() as session:
            stored = KnowledgeRepo(session).count_chunks()
        rebuilt = bool(stored) and not self._index.count()
        if rebuilt:
            log.warning("the vector index is empty but %d chunks are stored: rebuilding", stored)
            self.rebuild()
        else:
            self._repair(*self.drift())
        self.checked = True
        return rebuilt

    def _repair(self, orphans: set[int], missing: set[int]) -> None:
        if orphans:
            log.warning("dropping %d vectors whose chunks are gone", len(orphans))
            self._index.delete(sorted(orphans))
        if missing:
            log.warning("embedding %d stored chunks that have no vector", len(missing))
            chunks = {abs(i) for i in missing}
            with self._sessions() as session:
                rows = [r for r in KnowledgeRepo(session).all_chunk_texts() if r[0] in chunks]
            vectors = chunk_vectors(self._embedder, [(r[2], r[3], r[1]) for r in rows], None)
            self._index.upsert(vector_ids([r[0] for r in rows]), vectors)
