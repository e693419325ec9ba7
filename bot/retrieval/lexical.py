"""BM25 over the chunk texts (bm25s), rebuilt from SQLite: never from the vector index.

Tokens are lower-cased Unicode words, so it works in any language written with spaces; words
of a few common languages that carry no meaning are dropped, and a plural "s" is folded.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = """a an and are as at be but by do does for from had has have how i if in into is it its me
    my no not of on or our so than that the their them then there these they this to was we
    were what when where which who why will with you your can could should would may might
    about after all also any been before being both each more most other over same some such
    only own very just up out off again further once here s t am did doing during"""
STOPWORDS = frozenset(_STOP.split())


def tokenize(text: str) -> list[str]:
    words = (w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


class LexicalIndex:
    """An immutable BM25 index over (chunk id, text) pairs; build a new one to change it."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self.ids = list(ids)
        self._bm25: Any = None
        if self.ids:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
            # Token ids, not token lists: 10k chunks as lists of str held ~80 MB after the build
            # (every occurrence its own string); ids share the vocabulary's int objects.
            vocab: dict[str, int] = {}
            corpus = [[vocab.setdefault(w, len(vocab)) for w in tokenize(t)] for t in texts]
            self._bm25 = bm25s.BM25()
            self._bm25.index((corpus, vocab), show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def query(self, text: str, k: int) -> list[tuple[int, float]]:
        """Up to k (chunk id, BM25 score) pairs with a positive score, best first."""
        tokens = [t for t in tokenize(text) if t in self._vocab()]
        if not tokens or not self.ids:
            return []
        scores = self._bm25.get_scores(tokens)  # bm25s.retrieve costs ~40x more per query
        k = min(k, len(self.ids))
        import numpy as np  # loaded by bm25s already; not at the bot's start

        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(i)], float(scores[i])) for i in top if scores[i] > 0]

    def _vocab(self) -> dict[str, int]:
        vocab: dict[str, int] = self._bm25.vocab_dict if self._bm25 is not None else {}
        return vocab


def trim_heap() -> None:
    """Give the memory a build freed back to the OS (glibc keeps it: ~20 MB after 10k chunks)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        ctypes.CDLL(None).malloc_trim(0)
