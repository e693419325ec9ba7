"""Knowledge numbers for the table, measured with the knowledge bench's own code.

Reuses bench/bench_knowledge.py (prose corpus, raw-embedder vs ingest_dir, index fill, query
latency, the RSS child) and bench/eval_retrieval.py (the held-out evaluation: recall@1 / @3,
declines); this module only picks smaller sizes so the whole table fits in about ten minutes.
The corpus built here also fills the benchmarked bot's own store for the /ask round trips.

The held-out evaluation needs the Debian packages it is built from (``apt-get download``, into
~/.cache/microdesk-eval, indexed there once); where apt-get is missing, the committed subset
(tests/eval/subset) is measured instead, and the rows say so. ``microdesk ask`` is timed as an
owner runs it: a fresh process per question over that prepared index.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench import bench_knowledge as bk
from bench import eval_retrieval as ev
from bot.retrieval.embedding import Embedder, default_embedder
from bot.retrieval.index import ChromaIndex

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Knowledge:
    ingest_chunks: int = 0
    raw_per_s: float = 0.0
    ingest_per_s: float = 0.0
    query: dict[int, tuple[float, float]] = field(default_factory=dict)  # p50, p95 ms
    rss_mb: int = 0
    recall: list[tuple[str, float, str, bool | None]] = field(default_factory=list)
    eval_note: str = ""
    ask_s: list[float] = field(default_factory=list)  # `microdesk ask`, one process each
    skipped: list[str] = field(default_factory=list)


def corpus_vectors(embedder: Embedder, n: int, base: int) -> tuple[list[str], np.ndarray]:
    """n real texts; vectors are real embeddings of `base` of them, reused with small noise."""
    texts = bk.prose(n)
    real = embedder.embed(texts[:base])
    rng = np.random.default_rng(3)
    vectors = real[np.arange(n) % base] + rng.normal(0, 0.02, (n, real.shape[1]))
    return texts, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def held_out(embedder: Embedder) -> tuple[ev.Report, str]:
    """The held-out evaluation (full when apt-get can fetch its packages, else the subset)."""
    if shutil.which("apt-get") and shutil.which("dpkg"):
        try:
            docs, questions = ev.full_set(ev.CACHE)
            work = ev.CACHE / f"work-{embedder.name}"
            return ev.evaluate(docs, questions, embedder, work), "held-out"
        except subprocess.CalledProcessError:
            pass
    docs, questions = ev.subset()
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-") as tmp:
        return ev.evaluate(docs, questions, embedder, Path(tmp)), "committed subset"


def recall(embedder: Embedder) -> tuple[list[tuple[str, float, str, bool | None]], str, Path]:
    """recall@1 / @3 per language, declines, false declines: the rows of the evaluation."""
    report, which = held_out(embedder)
    en, none = "en", "none"
    rows: list[tuple[str, float, str, bool | None]] = [
        ("English, right file first (recall@1)", report.recall(en, 1), "", None),
        ("English, right file among the 3 shown (recall@3)", report.recall(en, 3), "≥ 0.92",
         report.recall(en, 3) >= 0.92),
        ("German, right file first (recall@1)", report.german_recall(1), "", None),
        ("German, right file among the 3 shown (recall@3)", report.german_recall(3), "≥ 0.80",
         report.german_recall(3) >= 0.80),
        ("  of which German questions on English files (recall@3)", report.recall("de-en", 3),
         "", None),
        ("unanswerable questions declined", report.declined(none), "≥ 0.90",
         report.declined(none) >= 0.90),
        ("answerable questions falsely declined", report.false_declines, "≤ 0.05",
         report.false_declines <= 0.05),
    ]  # fmt: skip
    note = (
        f"{which}: {len(report.outcomes)} questions over {report.files} files, "
        f"{report.chunks} chunks, {report.embedder}"
    )
    return rows, note, ev.CACHE / "docs"


def ask_seconds(docs: Path, questions: list[str]) -> list[float]:
    """Wall seconds of `microdesk ask QUESTION`, a fresh process each, over a prepared index."""
    import os
    import time

    with tempfile.TemporaryDirectory(prefix="microdesk-bench-ask-") as tmp:
        env = dict(os.environ, DATA_DIR=tmp, KNOWLEDGE_DIR=str(docs), OPENAI_API_KEY="")
        for name in ("TELEGRAM_BOT_TOKEN", "OWNER_TELEGRAM_ID"):  # `ask` needs neither; a fake
            env.pop(name, None)  # token ("1:x") is refused at start since the token check
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed microdesk has its .pyc files
        command = [sys.executable, "-m", "bot", "ingest"]
        subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
        times = []
        for question in questions:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "ask", question], env=env, cwd=ROOT,
                           check=True, capture_output=True)  # fmt: skip
            times.append(time.perf_counter() - started)
        return times


def corpus(n: int, base: int) -> tuple[Embedder, list[str], np.ndarray]:
    """The embedder, and n chunk texts with vectors (shared by /ask and the search rows)."""
    embedder = default_embedder()
    return embedder, *corpus_vectors(embedder, n, base)


def run(
    embedder: Embedder, texts: list[str], vectors: np.ndarray, *, ingest_chunks: int,
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
    out.recall, out.eval_note, _ = recall(embedder)
    out.ask_s = ask_seconds(ev.SUBSET / "docs", ASK_QUESTIONS)
    return out


ASK_QUESTIONS = [
    "What is Debian GNU/Linux?",
    "Wie installiere ich ein Paket?",
    "How do I create an AUTOINCREMENT field?",
    "What is the standard VAT rate in Germany?",
    "Is Python a good language for beginning programmers?",
]
