"""Does the best passage really answer the question? The rule that decides "not in your documents".

Signals of the best few passages:
  coverage    the share of the question's words (weighted by rarity) that the passage holds,
              after stemming (bot.retrieval.lexical.LexicalIndex.coverage), 0–1
  margin      the best dense cosine minus the mean cosine of the 30 nearest chunks: how far
              one passage stands out from the rest (a raw cosine grows with the collection:
              among 2,500 chunks some passage sits at 0.6 for almost any question)

A question matches when ``coverage_weight * coverage + margin >= threshold``, unless it names
something the documents never mention (``unknown_name``: "Where does KMail keep my mail?").
A question in another language than the passages (German asked of English files) shares no
words with them, so there only the dense signals count: ``margin >= cross_threshold`` and a
cosine of at least ``cross_similarity`` (in a small collection the margin alone says little).

The numbers are calibrated per embedder (bench/eval_retrieval.py --calibrate) on the tuning half
of the held-out set and of the sample documents' paraphrased questions: at most 4 % of
answerable questions declined on each, as many unanswerable ones as that allows; the other
halves check it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    coverage: float
    similarity: float
    typical: float = 0.0  # mean cosine of the nearest chunks
    same_language: bool = True  # the question's language is the best passages'
    unknown_name: bool = False  # the question names something no passage mentions

    @property
    def margin(self) -> float:
        return self.similarity - self.typical


@dataclass(frozen=True)
class Relevance:
    coverage_weight: float
    threshold: float
    cross_threshold: float = 0.0
    cross_similarity: float = 0.0
    unknown_names: bool = False  # decline a question that names what no document mentions

    def score(self, evidence: Evidence) -> float:
        return self.coverage_weight * evidence.coverage + evidence.margin

    def matches(self, evidence: Evidence) -> bool:
        if self.unknown_names and evidence.unknown_name:
            return False
        if not evidence.same_language:
            return (
                evidence.margin >= self.cross_threshold
                and evidence.similarity >= self.cross_similarity
            )
        return self.score(evidence) >= self.threshold


def best_evidence(found: list[Evidence]) -> Evidence:
    """The strongest of the top passages' evidence (each signal at its best)."""
    if not found:
        return Evidence(0.0, 0.0)
    return Evidence(
        max(e.coverage for e in found),
        max(e.similarity for e in found),
        found[0].typical,
        any(e.same_language for e in found),
        any(e.unknown_name for e in found),
    )
