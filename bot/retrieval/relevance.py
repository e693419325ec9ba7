"""Does the best passage really answer the question? The rule that decides "not in your documents".

Two signals, both in [0, 1], of the best few passages:
  coverage    the share of the question's words (weighted by rarity) that the passage holds,
              after stemming (bot.retrieval.lexical.LexicalIndex.coverage)
  similarity  the dense cosine between question and passage (the embedder's vector space)

A question matches when ``coverage_weight * coverage + similarity >= threshold``. The two
numbers are calibrated on the held-out evaluation (bench/eval_retrieval.py --calibrate): the
lowest threshold that declines at least 90 % of the unanswerable questions while declining at
most 5 % of the answerable ones, per embedder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    coverage: float
    similarity: float


@dataclass(frozen=True)
class Relevance:
    coverage_weight: float
    threshold: float

    def score(self, evidence: Evidence) -> float:
        return self.coverage_weight * evidence.coverage + evidence.similarity

    def matches(self, evidence: Evidence) -> bool:
        return self.score(evidence) >= self.threshold


def best_evidence(found: list[Evidence]) -> Evidence:
    """The strongest of the top passages' evidence (each signal at its best)."""
    if not found:
        return Evidence(0.0, 0.0)
    return Evidence(max(e.coverage for e in found), max(e.similarity for e in found))
