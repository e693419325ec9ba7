"""Knowledge numbers for the table, measured with the knowledge bench's own code.

Reuses bench/bench_knowledge.py (prose corpus, raw-embedder vs ingest_dir, index fill, query
latency, the RSS child) and bench/eval_retrieval.py (recall on tests/eval/questions.jsonl); this
module only picks smaller sizes so the whole table fits in about ten minutes. The corpus built
here also fills the benchmarked bot's own store for the /ask round trips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench import bench_knowledge as bk
from bench import eval_retrieval as ev
from bot.clock import SystemClock
from bot.db.engine import make_engine, migrate, session_factory
from bot.retrieval.embedding import OnnxEmbedder, minilm_int8
from bot.retrieval.index import ChromaIndex
from bot.services.knowledge.service import KnowledgeService

ROOT = Path(__file__).resolve().parent.parent
RECALL_MODES = {"dense": "dense", "BM25": "bm25", "hybrid (default)": "default"}


@dataclass
class Knowledge:
    ingest_chunks: int = 0
    raw_per_s: float = 0.0
    ingest_per_s: float = 0.0
    query: dict[int, tuple[float, float]] = field(default_factory=dict)  # p50, p95 ms
    rss_mb: int = 0
    recall5: dict[str, float] = field(default_factory=dict)
    eval_note: str = ""
    skipped: list[str] = field(default_factory=list)


def corpus_vectors(embedder: OnnxEmbedder, n: int, base: int) -> tuple[list[str], np.ndarray]:
    """n real texts; vectors are real embeddings of `base` of them, reused with small noise."""
    texts = bk.prose(n)
    real = embedder.embed(texts[:base])
    rng = np.random.default_rng(3)
    vectors = real[np.arange(n) % base] + rng.normal(0, 0.02, (n, real.shape[1]))
    return texts, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def recall(embedder: OnnxEmbedder, distractors: int) -> tuple[dict[str, float], str]:
    """recall@5 per mode, as bench/eval_retrieval.py computes it (fewer distractors)."""
    questions = [
        json.loads(line)
        for line in (ROOT / "tests/eval/questions.jsonl").read_text().splitlines()
        if line
    ]
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(ROOT / "knowledge", docs)
        ev.add_distractors(docs / "zz-unrelated", distractors * 1000)
        engine = make_engine(f"sqlite:///{tmp}/eval.db")
        migrate(engine)
        sessions = session_factory(engine)
        index = ChromaIndex.persistent(Path(tmp) / "index", embedder.name)
        scores = {}
        chunks = 0
        for label, mode in RECALL_MODES.items():
            service = KnowledgeService(
                sessions, index, embedder, knowledge_dir=docs, clock=SystemClock(),
                fusion=ev.MODES[mode],
            )  # fmt: skip
            if not chunks:
                service.ingest_dir()
                chunks = service.stats().chunks
            scores[label] = ev.evaluate(service, questions).r5
            service.close()
        engine.dispose()
    return scores, f"{len(questions)} questions over {chunks} chunks"


def corpus(n: int, base: int) -> tuple[OnnxEmbedder, list[str], np.ndarray]:
    """The embedder, and n chunk texts with vectors (shared by /ask and the search rows)."""
    embedder = OnnxEmbedder(minilm_int8())
    return embedder, *corpus_vectors(embedder, n, base)


def run(
    embedder: OnnxEmbedder, texts: list[str], vectors: np.ndarray, *, ingest_chunks: int,
    sizes: tuple[int, ...], rounds: int, distractors: int,
) -> Knowledge:  # fmt: skip
    out = Knowledge(ingest_chunks=ingest_chunks)
    out.raw_per_s, out.ingest_per_s = bk.bench_ingest(embedder, ingest_chunks)
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
            service = bk.service_over(Path(tmp), embedder, Path(tmp))
            index = service._index
            assert isinstance(index, ChromaIndex)
            bk.fill(service, index, texts[:size], vectors[:size])
            p50, p95 = bk.latency(service, rounds)
            out.query[size] = (p50, p95)
            if size == 10_000:
                child = subprocess.run(
                    [sys.executable, str(ROOT / "bench/bench_knowledge.py"), "--rss-child", tmp],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                out.rss_mb = int(child.stdout.strip().splitlines()[-1])
            service.close()
    out.recall5, out.eval_note = recall(embedder, distractors)
    return out
