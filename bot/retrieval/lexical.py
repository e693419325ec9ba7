"""BM25 over the chunk texts (bm25s), rebuilt from SQLite: never from the vector index.

Tokens are lower-cased Unicode words, so it works in any language written with spaces. Each
text (a chunk, or a query) is taken as German or English by its function words, and its words
are stemmed by that language's Snowball stemmer (PyStemmer): "Pakete" and "Paket" meet, as do
"installing" and "installed". Function words of both languages are dropped.

``coverage`` is the decline signal: how much of a query's rarity-weighted vocabulary a passage
contains ("banana bread" in a Linux manual covers almost nothing: no passage contains "banana").
A word no passage contains weighs as the rarest, unless it is an everyday word the documents
merely don't use ("How much …"): that one weighs nothing (bot.retrieval.common_words).
``unknown_name`` is the other: an English question that names something ("KMail") the
documents never mention.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from bot.retrieval import common_words

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = """a an and are as at be but by do does for from had has have how i if in into is it its me
    my no not of on or our so than that the their them then there these they this to was we
    were what when where which who why will with you your can could should would may might
    about after all also any been before being both each more most other over same some such
    only own very just up out off again further once here s t am did doing during"""
_STOP_DE = """aber als am an auch auf aus bei bin bis bist da damit dann das dass dein deine dem
    den der des dich die dir doch dort du durch ein eine einem einen einer eines er es etwas
    euch euer für gegen hab habe haben hat hatte hier hin ich ihm ihn ihr ihre im in ist ja
    jede jeder jetzt kann kein keine können man mein meine mich mir mit muss nach nicht nichts
    noch nun nur ob oder ohne sehr sein seine sich sie sind so soll sollte um und uns unser
    unter viel vom von vor war waren warum was weil welche welcher wenn wer werden wie wieder
    wir wird wo wurde zu zum zur über gibt gut diese dieser dieses mehr einfach"""
ENGLISH = frozenset(_STOP.split())
GERMAN = frozenset(_STOP_DE.split())
STOPWORDS = ENGLISH | GERMAN
_ONLY_EN = ENGLISH - GERMAN
_ONLY_DE = GERMAN - ENGLISH


def language(words: Sequence[str]) -> str:
    """'german' when German function words outnumber English ones, else 'english'."""
    de = sum(w in _ONLY_DE for w in words)
    en = sum(w in _ONLY_EN for w in words)
    umlaut = de == en and any(c in "äöüß" for w in words for c in w)
    return "german" if de > en or umlaut else "english"


def text_language(text: str) -> str:
    return language(_WORD.findall(text.lower()))


def tokenize(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    stem = _stemmer(language(words))
    return [stem(w) for w in words if w not in STOPWORDS]


@functools.cache
def _stemmer(lang: str) -> Any:
    import Stemmer  # PyStemmer: the Snowball stemmers in C

    stemmer = Stemmer.Stemmer(lang)
    stemmer.maxCacheSize = 50_000
    return stemmer.stemWord


class LexicalIndex:
    """An immutable BM25 index over (chunk id, text) pairs; build a new one to change it."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self.ids = list(ids)
        self._bm25: Any = None
        self._df: Any = None
        if self.ids:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
            # Token ids, not token lists: 10k chunks as lists of str held ~80 MB after the build
            # (every occurrence its own string); ids share the vocabulary's int objects.
            vocab: dict[str, int] = {}
            corpus = [[vocab.setdefault(w, len(vocab)) for w in tokenize(t)] for t in texts]
            self._bm25 = bm25s.BM25()
            self._bm25.index((corpus, vocab), show_progress=False)
            self._df = _document_frequency(corpus, len(vocab))

    def __len__(self) -> int:
        return len(self.ids)

    def query(self, text: str, k: int) -> list[tuple[int, float]]:
        """Up to k (chunk id, BM25 score) pairs with a positive score, best first."""
        tokens = [t for t in self._query_tokens(text) if t in self._vocab()]
        if not tokens or not self.ids:
            return []
        scores = self._bm25.get_scores(tokens)  # bm25s.retrieve costs ~40x more per query
        k = min(k, len(self.ids))
        import numpy as np  # loaded by bm25s already; not at the bot's start

        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(i)], float(scores[i])) for i in top if scores[i] > 0]

    def coverage(self, query: str, text: str) -> float:
        """Share of the query's words, weighted by rarity (IDF), that `text` contains (0–1).

        A word the index has never seen weighs as the rarest (it is in no passage), unless it
        is an everyday word (then it weighs nothing: the owner's phrasing, not the subject).
        """
        weights = self._weights(query)
        total = sum(weights.values())
        if not total:
            return 0.0
        present = set(tokenize(text))
        return sum(v for w, v in weights.items() if w in present) / total

    def unknown_name(self, query: str) -> str | None:
        """A name in an English `query` that no passage mentions ("KMail", "Kalarm"), if any.

        A name: written with a capital past the question's first word, or with capitals inside
        ("KMail"); not an acronym in capitals ("GDPR", which owners spell many ways), and rare
        in everyday language ("Dolphin" is a word too). German capitalises every noun: German
        questions have no such names.
        """
        words: list[str] = _WORD.findall(query)
        if language([w.lower() for w in words]) != "english":
            return None
        for position, word in enumerate(words):
            if word.isupper() or not (
                (position > 0 and word[:1].isupper()) or any(c.isupper() for c in word[1:])
            ):
                continue
            if not self._seen(word.lower()) and common_words.is_rare(word):
                return word
        return None

    def _weights(self, query: str) -> dict[str, float]:
        """Each query stem's weight: its IDF, or 0 for an everyday word no passage holds."""
        weights: dict[str, float] = {}
        vocab = self._vocab()
        for word, stem in self._query_words(query):
            if stem not in vocab and common_words.is_common(word):
                weights.setdefault(stem, 0.0)
            else:
                weights[stem] = self._idf(stem)
        return weights

    def _seen(self, word: str) -> bool:
        return any(stem in self._vocab() for _, stem in self._query_words(word))

    def _query_tokens(self, text: str) -> list[str]:
        return [stem for _, stem in self._query_words(text)]

    def _query_words(self, text: str) -> list[tuple[str, str]]:
        """(word, stem) of each query word but the function words.

        A short query's language is a guess: a stem the index lacks is tried in the other.
        """
        lowered = _WORD.findall(text.lower())
        first = language(lowered)
        second = "german" if first == "english" else "english"
        vocab = self._vocab()
        pairs = []
        for word in (w for w in lowered if w not in STOPWORDS):
            stem = _stemmer(first)(word)
            if stem not in vocab:
                other = _stemmer(second)(word)
                stem = other if other in vocab else stem
            pairs.append((word, stem))
        return pairs

    def _idf(self, word: str) -> float:
        n = len(self.ids)
        index = self._vocab().get(word)
        df = int(self._df[index]) if index is not None and self._df is not None else 0
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _vocab(self) -> dict[str, int]:
        vocab: dict[str, int] = self._bm25.vocab_dict if self._bm25 is not None else {}
        return vocab


def _document_frequency(corpus: list[list[int]], size: int) -> Any:
    """How many texts hold each token id (for the IDF of ``coverage``)."""
    import numpy as np

    df = np.zeros(size, dtype=np.int32)
    for ids in corpus:
        df[list(set(ids))] += 1
    return df


def trim_heap() -> None:
    """Give the memory a build freed back to the OS (glibc keeps it: ~20 MB after 10k chunks)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        ctypes.CDLL(None).malloc_trim(0)
