"""Knowledge benchmarks: ingest vs raw embedder throughput, query latency, RSS of a 10k index.

Run: .venv/bin/python bench/bench_knowledge.py   (about 3 minutes on 2 cores)

1. raw embedder: chunk-sized texts (~1,000 characters of real prose) through embedder.embed
2. ingest: the same texts as Markdown files through KnowledgeService.ingest_dir (sandboxed
   parsing, chunking, embedding, SQLite, chromadb, BM25 rebuild), in the same run
3. query p50/p95 through KnowledgeService.search (query embedding, chromadb, BM25, fusion,
   SQLite) with 1k and 10k chunks stored. The 10k corpus is real text; its vectors are real
   embeddings of 500 of those texts, each reused with small noise (embedding 10k chunks here
   would take 15 minutes and does not change what a query costs)
4. RSS of a fresh process that opens the 10k index and answers one query
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.db.engine import make_engine, migrate, session_factory  # noqa: E402
from bot.db.knowledge import INDEXED, Chunk, Document, KnowledgeRepo  # noqa: E402
from bot.retrieval.embedding import Embedder, default_embedder  # noqa: E402
from bot.retrieval.index import ChromaIndex  # noqa: E402
from bot.services.knowledge.index import EMBED_BATCH, indexed_text  # noqa: E402
from bot.services.knowledge.service import KnowledgeService  # noqa: E402

QUERIES = [json.loads(line)["question"] for line in (ROOT / "tests/eval/questions.jsonl").open()]


def prose(n: int, size: int = 1_000) -> list[str]:
    """n texts of about `size` characters cut from installed packages' descriptions."""
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    words: list[str] = []
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        words += meta.read_text(errors="replace").partition("\n\n")[2].split()
    rng = random.Random(7)
    texts = []
    for _ in range(n):
        start = rng.randrange(0, max(1, len(words) - 400))
        text = " ".join(words[start : start + 400])[:size]
        texts.append(text.rsplit(" ", 1)[0] + ".")
    return texts


def service_over(tmp: Path, embedder: Embedder, folder: Path) -> KnowledgeService:
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    migrate(engine)
    index = ChromaIndex.persistent(tmp / "index", embedder.name)
    return KnowledgeService(
        session_factory(engine), index, embedder, knowledge_dir=folder, clock=SystemClock()
    )


def bench_ingest(embedder: Embedder, n: int) -> tuple[float, float]:
    texts = prose(n)
    embedder.embed(texts[:8])  # warm up
    started = time.perf_counter()
    for first in range(0, n, EMBED_BATCH):  # as the service calls it
        embedder.embed(
            [indexed_text("doc.md", None, t) for t in texts[first : first + EMBED_BATCH]]
        )
    raw = n / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        per_file = 8
        for f in range(0, n, per_file):
            body = "\n\n".join(f"## Part {i}\n\n{t}" for i, t in enumerate(texts[f : f + per_file]))
            (folder / f"doc{f:05}.md").write_text(body)
        service = service_over(Path(tmp), embedder, folder)
        started = time.perf_counter()
        report = service.ingest_dir()
        chunks = service.stats().chunks
        ingest = chunks / (time.perf_counter() - started)
        assert len(report.named("indexed")) == len(list(folder.iterdir()))
    return raw, ingest


def fill(
    service: KnowledgeService, index: ChromaIndex, texts: list[str], vectors: np.ndarray
) -> None:
    """Store texts as chunks of 100-chunk documents and their vectors, without embedding."""
    now = SystemClock().now()
    with service._sessions.begin() as session:
        repo = KnowledgeRepo(session)
        for first in range(0, len(texts), 100):
            doc = repo.add(
                Document(source="folder", path=f"/bench/{first}", name=f"doc{first}.md",
                         content_hash=str(first), status=INDEXED, size_bytes=0, text_chars=0,
                         chunk_count=100, private=False, created_at=now, updated_at=now)
            )  # fmt: skip
            rows = [
                Chunk(document_id=doc.id, ordinal=i, text=t, page=None, section=f"Part {i}",
                      char_start=0, char_end=len(t))
                for i, t in enumerate(texts[first : first + 100])
            ]  # fmt: skip
            ids = repo.replace_chunks(doc.id, rows)
            index.upsert(ids, vectors[first : first + len(ids)])


def latency(service: KnowledgeService, rounds: int) -> tuple[float, float]:
    """p50 and p95 (ms) of a whole search: query embedding, both indexes, fusion, SQLite."""
    return percentiles(search_times(service, rounds))


def search_times(service: KnowledgeService, rounds: int) -> list[float]:
    service.search("warm up")
    return [timed(service.search, QUERIES[i % len(QUERIES)]) for i in range(rounds)]


def embedding_times(embedder: Embedder, rounds: int) -> list[float]:
    """The query embedding alone, the largest part of a search (ms)."""
    return [timed(embedder.embed_query, QUERIES[i % len(QUERIES)]) for i in range(rounds)]


def timed(call: Callable[[str], object], query: str) -> float:
    started = time.perf_counter()
    call(query)
    return (time.perf_counter() - started) * 1000


def spread(times: list[float]) -> str:
    p50, p95 = percentiles(times)
    return f"{p50:.1f} / {p95:.1f} / {min(times):.1f}"


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1]) // 1024


def rss_child(tmp: Path) -> None:
    """Run in a fresh process: open the stored 10k index, answer one query, print RSS by stage."""
    stages = [f"imports {rss_mb()}"]
    embedder = default_embedder()
    service = service_over(tmp, embedder, tmp)
    embedder.embed_query("load the model")
    stages.append(f"+model {rss_mb()}")
    service._index.count()
    stages.append(f"+chroma {rss_mb()}")
    service.warm_up()
    stages.append(f"+bm25 {rss_mb()}")
    assert service.search("How much does a website cost?")
    print(", ".join(stages), file=sys.stderr)
    print(rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingest-chunks", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--rss-child", type=Path)
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0]
    if args.rss_child:
        rss_child(args.rss_child)
        return
    embedder = default_embedder()
    raw, ingest = bench_ingest(embedder, args.ingest_chunks)
    rows = [
        ("raw embedder (chunks/s)", f"{raw:.1f}"),
        ("ingest_dir (chunks/s)", f"{ingest:.1f} ({ingest / raw:.0%} of raw)"),
    ]
    texts = prose(10_000)
    base = embedder.embed(texts[:500])
    rng = np.random.default_rng(3)
    vectors = base[np.arange(10_000) % 500] + rng.normal(0, 0.02, (10_000, base.shape[1]))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    for size in (1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            service = service_over(Path(tmp), embedder, Path(tmp))
            index = service._index
            assert isinstance(index, ChromaIndex)
            fill(service, index, texts[:size], vectors[:size])
            whole, embedding = search_times(service, args.rounds), embedding_times(embedder, 50)
            rows.append((f"search p50 / p95 / min at {size:,} chunks (ms)", spread(whole)))
            rows.append(("  query embedding alone p50 / p95 / min (ms)", spread(embedding)))
            if size == 10_000:
                started = time.perf_counter()
                out = subprocess.run(
                    [sys.executable, __file__, "--rss-child", tmp],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                cold = time.perf_counter() - started
                rss = out.stdout.strip().splitlines()[-1]
                rows.append(("RSS after loading the 10k index + 1 query (MB)", rss))
                rows.append(("  RSS by stage (MB)", out.stderr.strip().splitlines()[-1]))
                rows.append(("cold open + first query at 10k, fresh process (s)", f"{cold:.1f}"))
    rows.append(("load average at the start (2 cores)", load))
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:{width}} | {value} |")


if __name__ == "__main__":
    main()
