"""Hybrid search: dense (the vector index) and lexical (BM25), fused into one ranking.

Fusion methods, chosen on the evaluation set (bench/eval_retrieval.py):
  dense     the vector index alone
  bm25      BM25 alone
  rrf       reciprocal-rank fusion: sum of weight / (rrf_k + rank)
  weighted  weighted scores: dense cosine and BM25 divided by the best BM25 score of the query
            (each list scaled to [0, 1] by min–max when ``minmax`` is set)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.retrieval.embedding import Embedder
from bot.retrieval.index import NearestVectors, VectorIndex
from bot.retrieval.lexical import LexicalIndex

Method = Literal["dense", "bm25", "rrf", "weighted"]
Ranked = Sequence[tuple[int, float]]


@dataclass(frozen=True)
class Fusion:
    method: Method = "weighted"
    dense_weight: float = 0.7
    rrf_k: int = 60
    minmax: bool = False
    candidates: int = 30


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float
    similarity: float | None  # the dense cosine, when the vector index returned this chunk


def fuse(dense: Ranked, lexical: Ranked, fusion: Fusion, k: int) -> list[Hit]:
    cosine = dict(dense)
    if fusion.method == "dense":
        scores = dict(dense)
    elif fusion.method == "bm25":
        scores = dict(lexical)
    elif fusion.method == "rrf":
        scores = _rrf(dense, lexical, fusion)
    else:
        scores = _weighted(dense, lexical, fusion)
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [Hit(chunk_id, score, cosine.get(chunk_id)) for chunk_id, score in best]


def _rrf(dense: Ranked, lexical: Ranked, fusion: Fusion) -> dict[int, float]:
    scores: dict[int, float] = {}
    for weight, ranked in ((fusion.dense_weight, dense), (1 - fusion.dense_weight, lexical)):
        for rank, (chunk_id, _) in enumerate(ranked, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (fusion.rrf_k + rank)
    return scores


def _weighted(dense: Ranked, lexical: Ranked, fusion: Fusion) -> dict[int, float]:
    scores: dict[int, float] = {}
    parts = [
        (fusion.dense_weight, _scale(dense, fusion.minmax, lexical=False)),
        (1 - fusion.dense_weight, _scale(lexical, fusion.minmax, lexical=True)),
    ]
    for weight, scaled in parts:
        for chunk_id, value in scaled.items():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * value
    return scores


def _scale(ranked: Ranked, minmax: bool, *, lexical: bool) -> dict[int, float]:
    if not ranked:
        return {}
    values = [score for _, score in ranked]
    high, low = max(values), min(values)
    if minmax:
        span = high - low
        return {i: (s - low) / span if span > 0 else 1.0 for i, s in ranked}
    if lexical:
        return {i: s / high if high > 0 else 0.0 for i, s in ranked}
    return dict(ranked)


def best_of_pairs(ranked: Ranked) -> list[tuple[int, float]]:
    """A chunk's text vector (id) and heading vector (-id) as one hit with the better score."""
    best: dict[int, float] = {}
    for vector_id, score in ranked:
        chunk = abs(vector_id)
        best[chunk] = max(score, best.get(chunk, score))
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))


class HybridSearch:
    """Embeds the query, asks both indexes for candidates, fuses them."""

    def __init__(self, index: VectorIndex, embedder: Embedder, fusion: Fusion | None = None):
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or Fusion()

    def search(self, query: str, lexical: LexicalIndex, k: int) -> list[Hit]:
        return self.ranked(query, lexical, k)[0]

    def ranked(
        self, query: str, lexical: LexicalIndex, k: int, vectors: NearestVectors | None = None
    ) -> tuple[list[Hit], float, float]:
        """The k best hits; the best dense cosine, and the mean of the dense candidates'.

        `vectors` searches instead of the index (a prepared copy of it, same ids).

        The mean is how near this query comes to any text of the collection: a large
        collection has some passage at 0.6 for almost any question, so the best cosine alone
        says little; its margin over the mean says whether one passage really stands out.
        """
        n = max(k, self.fusion.candidates)
        dense: Ranked = []
        if self.fusion.method != "bm25":
            index = vectors if vectors is not None else self.index
            dense = best_of_pairs(index.query(self.embedder.embed_query(query), 2 * n))[:n]
        sparse: Ranked = lexical.query(query, n) if self.fusion.method != "dense" else []
        scores = [score for _, score in dense]
        best = max(scores, default=0.0)
        typical = sum(scores) / len(scores) if scores else 0.0
        return fuse(dense, sparse, self.fusion, k), best, typical
