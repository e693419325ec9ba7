"""How common a word is in everyday English or German, from wordfreq's small word lists.

The decline rule (bot.retrieval.relevance) needs to tell two kinds of word the documents never
use apart: an everyday word the owner phrased differently ("How much …", "What does it cost")
says nothing about whether the documents can answer, while a rare one, above all a name
("KMail", "Kalarm"), says they are about something else. The lists ship inside the wordfreq
package (no download); they are read on the first question with such a word (~0.2 s).

Frequencies are on the Zipf scale: log10 of occurrences per billion words ("the" 7.7, "much"
6.0, "ledger" 3.5, "kmail" 0: not among the lists' ~30,000 most common words).
"""

from __future__ import annotations

import functools

COMMON = 4.5  # at least this often: an everyday word ("cost" 5.2, "charge" 5.0, "trash" 4.4)
RARE = 3.0  # below this: a rare word, or a name ("Konqueror" 1.3, "GnuCash" 0)


@functools.lru_cache(maxsize=4096)
def zipf(word: str) -> float:
    """The word's Zipf frequency in English or German, whichever is higher (0: not listed)."""
    from wordfreq import zipf_frequency

    lowered = word.lower()
    return max(
        float(zipf_frequency(lowered, "en", wordlist="small")),
        float(zipf_frequency(lowered, "de", wordlist="small")),
    )


def is_common(word: str) -> bool:
    return zipf(word) >= COMMON


def is_rare(word: str) -> bool:
    return zipf(word) < RARE
