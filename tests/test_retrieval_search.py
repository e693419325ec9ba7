"""Chunking, BM25 and fusion: small pure functions, checked without the model."""

from __future__ import annotations

import itertools

from bot.retrieval.chunking import ChunkParams, chunk_document, split_spans
from bot.retrieval.lexical import LexicalIndex, tokenize
from bot.retrieval.parsing import Block, ParsedDoc
from bot.retrieval.search import Fusion, fuse


def test_chunks_are_exact_slices_within_the_limit_and_keep_their_place() -> None:
    paragraph = " ".join(f"Sentence number {i} says something useful." for i in range(40))
    text = "\n\n".join([paragraph, "Short one.", "x" * 3_000])
    doc = ParsedDoc(
        [Block(text, page=4), Block("Refunds within 14 days.", section=("FAQ", "Refunds"))]
    )
    chunks = chunk_document(doc)
    joined = text + "\n\n" + "Refunds within 14 days."
    assert all(len(c.text) <= 1_200 for c in chunks)
    assert all(joined[c.start : c.end] == c.text for c in chunks)
    assert {c.page for c in chunks[:-1]} == {4} and chunks[-1].section_label == "FAQ › Refunds"
    covered = {i for c in chunks for i in range(c.start, c.end)}
    assert all(i in covered for i, ch in enumerate(joined) if not ch.isspace())
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_long_paragraphs_overlap_a_little() -> None:
    text = " ".join(f"Fact {i} is stated in this sentence." for i in range(100))
    spans = split_spans(text, ChunkParams(target=400, limit=500, overlap=100))
    assert len(spans) > 5
    assert all(
        0 < prev_end - start <= 100 for (_, prev_end), (start, _) in itertools.pairwise(spans)
    )


def test_tokens_are_unicode_words_without_stopwords_stemmed() -> None:
    assert tokenize("The Refunds for Müller’s invoices, 14 days!") == [
        "refund", "müller", "invoic", "14", "day",
    ]  # fmt: skip


def test_bm25_ranks_by_words_and_ignores_unknown_ones() -> None:
    index = LexicalIndex([7, 8, 9], ["refund of the deposit", "logo price list", "vat return"])
    assert [i for i, _ in index.query("deposit refund", 5)] == [7]
    assert index.query("zzz qqq", 5) == []
    assert LexicalIndex([], []).query("anything", 5) == []


def test_coverage_weighs_rare_words_and_not_everyday_words_the_documents_lack() -> None:
    index = LexicalIndex([1, 2, 3], ["Logo design 450 EUR", "Tomasz copywriting", "VAT return"])
    # "much" and "cost" are in no passage, but they are everyday words: the logo is the subject
    assert index.coverage("How much does a logo cost?", "Logo design 450 EUR") == 1.0
    # "banana" is in no passage and not an everyday word: it weighs as the rarest
    assert index.coverage("banana logo", "Logo design 450 EUR") < 0.5
    assert index.coverage("banana bread", "Logo design 450 EUR") == 0.0


def test_a_name_no_document_mentions_is_an_unknown_name() -> None:
    index = LexicalIndex([1, 2], ["Tomasz writes copy for 60 EUR an hour", "Logo design"])
    assert index.unknown_name("Where does KMail keep my mail?") == "KMail"
    assert index.unknown_name("How do I use Kalarm on another desktop?") == "Kalarm"
    assert index.unknown_name("What does Tomasz charge?") is None  # the documents name him
    assert index.unknown_name("Kalarm crashes") is None  # a first word: capitalised anyway
    assert index.unknown_name("Do you sign a GDPR agreement?") is None  # an acronym
    assert index.unknown_name("Has the Dolphin logo changed?") is None  # an everyday word too
    assert index.unknown_name("Wie benutze ich Kalarm mit KMail?") is None  # German: nouns


def test_fusion_modes() -> None:
    dense = [(1, 0.80), (2, 0.75), (4, 0.50), (3, 0.40)]
    lexical = [(3, 12.0), (2, 6.0)]
    assert [h.chunk_id for h in fuse(dense, lexical, Fusion("dense"), 3)] == [1, 2, 4]
    assert [h.chunk_id for h in fuse(dense, lexical, Fusion("bm25"), 3)] == [3, 2]
    rrf = fuse(dense, lexical, Fusion("rrf", dense_weight=0.5, rrf_k=60), 3)
    assert [h.chunk_id for h in rrf] == [2, 3, 1]  # in both lists beats first in one
    weighted = fuse(dense, lexical, Fusion("weighted", dense_weight=0.7), 3)
    assert [h.chunk_id for h in weighted] == [2, 3, 1]
    assert abs(weighted[0].score - (0.7 * 0.75 + 0.3 * 0.5)) < 1e-9
    assert weighted[0].similarity == 0.75
    only_lexical = fuse([], [(5, 3.0)], Fusion(), 3)
    assert only_lexical[0].similarity is None
