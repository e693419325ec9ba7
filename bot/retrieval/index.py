"""The vector index: chromadb, embedded under DATA_DIR/index or a Chroma server.

We compute every vector ourselves and hand it over; the collection has no embedding function
(chromadb's default one downloads a model on first use). Ids are the chunk ids from SQLite, so
SQLite stays the source of truth and the index can always be rebuilt from it. Each embedder gets
its own collection: vectors of two models never mix. chromadb is imported on first use (it
takes about a second), so the bot's start stays fast.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import ServiceUnavailableError

if TYPE_CHECKING:  # numpy loads with the index, on first use, not at the bot's start
    import numpy as np
    import numpy.typing as npt

UNREACHABLE = "The document index is not reachable right now; try again in a minute."


class NearestVectors(Protocol):
    def query(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The k nearest chunk ids with their cosine similarity, best first."""
        ...


class VectorIndex(NearestVectors, Protocol):
    def upsert(self, ids: Sequence[int], vectors: npt.NDArray[np.float32]) -> None: ...

    def delete(self, ids: Sequence[int]) -> None: ...

    def count(self) -> int: ...

    def ids(self) -> list[int]:
        """Every chunk id that has a vector."""
        ...

    def reset(self) -> None:
        """Drop every vector (before a rebuild)."""
        ...

    def snapshot(self, limit: int) -> Snapshot | None:
        """Every vector with its id, when there are some and at most `limit` of them."""
        ...


class Snapshot:
    """A read-only copy of the index's vectors, searched exactly (one matrix product).

    A one-shot ``microdesk ask`` reads it from DATA_DIR/models instead of starting chromadb
    (~0.7 s); see bot.services.knowledge.index.PreparedVectors.
    """

    def __init__(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        import numpy as np

        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors.astype(np.float32, copy=False)
        vectors /= np.where(norms > 0, norms, 1.0)  # in place: the caller's own array
        self.ids = ids
        self.vectors = vectors

    def __len__(self) -> int:
        return len(self.ids)

    def query(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        import numpy as np

        if not len(self.ids) or k <= 0:
            return []
        norm = float(np.linalg.norm(vector)) or 1.0
        scores = self.vectors @ (vector.astype(np.float32) / norm)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


def collection_name(embedder_name: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", embedder_name).strip("-._")
    return f"chunks-{slug}"[:60]


class ChromaIndex:
    """A chromadb collection with cosine distance, opened lazily and thread-safely."""

    def __init__(self, connect: Callable[[], Any], name: str) -> None:
        self._connect = connect
        self._name = name
        self._lock = threading.Lock()
        self._client: Any = None
        self._collection: Any = None
        self._batch_size = 1_000

    @classmethod
    def persistent(cls, path: Path, embedder_name: str) -> ChromaIndex:
        def connect() -> Any:
            import chromadb

            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=_settings())

        return cls(connect, collection_name(embedder_name))

    @classmethod
    def server(cls, host: str, port: int, embedder_name: str) -> ChromaIndex:
        def connect() -> Any:
            import chromadb

            return chromadb.HttpClient(host=host, port=port, settings=_settings())

        return cls(connect, collection_name(embedder_name))

    def upsert(self, ids: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        if not ids:
            return
        collection = self._open()
        step = self._batch_size
        for first in range(0, len(ids), step):
            part = [str(i) for i in ids[first : first + step]]
            rows = vectors[first : first + step]
            self._call(functools.partial(collection.upsert, ids=part, embeddings=rows))

    def delete(self, ids: Sequence[int]) -> None:
        if ids:
            collection = self._open()
            self._call(lambda: collection.delete(ids=[str(i) for i in ids]))

    def query(self, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        collection = self._open()
        found = self._call(
            lambda: collection.query(
                query_embeddings=vector.reshape(1, -1), n_results=k, include=["distances"]
            )
        )
        ids, distances = found["ids"][0], (found["distances"] or [[]])[0]
        return [(int(i), 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def count(self) -> int:
        collection = self._open()
        return int(self._call(collection.count))

    def ids(self) -> list[int]:
        collection = self._open()
        found: list[int] = []
        while True:
            get = functools.partial(
                collection.get, include=[], limit=self._batch_size, offset=len(found)
            )
            page = self._call(get)
            found.extend(int(i) for i in page["ids"])
            if len(page["ids"]) < self._batch_size:
                return found

    def snapshot(self, limit: int) -> Snapshot | None:
        import numpy as np

        collection = self._open()
        count = self.count()
        if not 0 < count <= limit:
            return None
        ids = np.zeros(count, dtype=np.int64)
        vectors: npt.NDArray[np.float32] | None = None  # filled page by page: no second copy
        done = 0
        while done < count:
            get = functools.partial(
                collection.get, include=["embeddings"], limit=self._batch_size, offset=done
            )
            page = self._call(get)
            rows = np.asarray(page["embeddings"], dtype=np.float32)
            if not len(page["ids"]):
                break
            if vectors is None:
                vectors = np.zeros((count, rows.shape[1]), dtype=np.float32)
            n = min(len(page["ids"]), count - done)
            ids[done : done + n] = [int(i) for i in page["ids"][:n]]
            vectors[done : done + n] = rows[:n]
            done += n
        if vectors is None:
            return None
        return Snapshot(ids[:done], vectors[:done])

    def reset(self) -> None:
        self._open()
        with self._lock:
            self._call(lambda: self._client.delete_collection(self._name))
            self._collection = None
        self._open()

    def _open(self) -> Any:
        if self._collection is not None:
            return self._collection
        with self._lock:
            if self._collection is None:
                if self._client is None:
                    self._client = self._call(self._connect)
                    limit = self._call(self._client.get_max_batch_size)
                    self._batch_size = max(1, min(1_000, int(limit)))
                self._collection = self._call(
                    lambda: self._client.get_or_create_collection(
                        self._name,
                        embedding_function=None,
                        configuration={"hnsw": {"space": "cosine"}},
                    )
                )
            return self._collection

    @staticmethod
    def _call(operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except ServiceUnavailableError:
            raise
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ServiceUnavailableError(UNREACHABLE) from exc
        except Exception as exc:
            if _is_transport_error(exc):
                raise ServiceUnavailableError(UNREACHABLE) from exc
            raise


def _is_transport_error(exc: Exception) -> bool:
    kind = type(exc)
    if isinstance(exc, ValueError) and "could not connect" in str(exc).lower():
        return True  # chromadb's HttpClient turns a refused connection into a ValueError
    return kind.__module__.startswith(("httpx", "httpcore")) or "Connect" in kind.__name__


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def open_index(
    data_dir: Path, embedder_name: str, host: str | None = None, port: int = 8000
) -> ChromaIndex:
    """The Chroma server at host:port when a host is set, else the embedded one under data_dir."""
    if host:
        return ChromaIndex.server(host, port, embedder_name)
    return ChromaIndex.persistent(data_dir / "index", embedder_name)
