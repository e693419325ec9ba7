"""Passages people can read: no navigation, no hard line breaks, the sentences that answer."""

from __future__ import annotations

from bot.retrieval.excerpt import EXCERPT_CHARS, excerpt
from bot.retrieval.lexical import LexicalIndex, language, tokenize
from bot.retrieval.parsing import Limits, parse, unwrap
from bot.services.knowledge.service import citation

LIMITS = Limits()

DOCBOOK_PAGE = b"""<html><body>
<div class="navheader"><table><tr><th colspan="3">Chapter 12. Trading accounts</th></tr>
<tr><td><a accesskey="p" href="ch11.html">&lt;&lt;&lt; Prev</a></td><td>Up</td>
<td><a accesskey="n" href="ch13.html">Next &gt;&gt;&gt;</a></td></tr></table></div>
<div class="chapter"><h1 class="title">Chapter 12. Trading accounts</h1>
<div class="sect1"><h2 class="title">12.1. Why use trading accounts?</h2>
<p>Trading accounts record the value of a currency exchange
so that the books balance in every currency, even when
the rate changes between the purchase and the sale.</p></div></div>
<div class="navfooter"><a href="ch11.html">Prev</a> | <a href="index.html">Home</a> |
<a href="ch13.html">Next</a></div></body></html>"""

SPHINX_PAGE = b"""<html><body><div class="related" role="navigation"><h3>Navigation</h3>
<ul><li><a href="genindex.html">index</a></li><li><a href="x.html">next</a> |</li></ul></div>
<div class="body"><h1>General FAQ<a class="headerlink" href="#g">\xc2\xb6</a></h1>
<h2>What is Python?<a class="headerlink" href="#w">\xc2\xb6</a></h2>
<p>Python is an interpreted language.</p></div>
<div class="sphinxsidebar" role="navigation"><h3>Previous topic</h3><p>Installing</p>
<h3>This Page</h3><ul><li>Report a Bug</li><li>Show Source</li></ul></div>
<div class="footer">Copyright 2001-2023, Python Software Foundation.</div></body></html>"""


def blocks(name: str, data: bytes) -> list[tuple[tuple[str, ...], str]]:
    return [(b.section, b.text) for b in parse(name, data, LIMITS).blocks]


def test_html_navigation_is_dropped_and_wrapped_lines_read_as_one() -> None:
    found = blocks("ch12.html", DOCBOOK_PAGE)
    assert found == [
        (
            ("Chapter 12. Trading accounts", "12.1. Why use trading accounts?"),
            "Trading accounts record the value of a currency exchange so that the books balance"
            " in every currency, even when the rate changes between the purchase and the sale.",
        )
    ]
    text = " ".join(t for _, t in found)
    assert "Prev" not in text and "Next" not in text and "Home" not in text


def test_sphinx_sidebars_footers_and_permalinks_are_dropped() -> None:
    assert blocks("general.html", SPHINX_PAGE) == [
        (("General FAQ", "What is Python?"), "Python is an interpreted language.")
    ]


def test_preformatted_text_keeps_its_lines() -> None:
    page = b"<h1>Setup</h1><p>Run:</p><pre>apt-get update\napt-get install tea</pre>"
    assert blocks("s.html", page)[0][1] == "Run:\n\napt-get update\napt-get install tea"


def test_hard_wrapped_text_and_markdown_are_joined_but_lists_and_code_are_not() -> None:
    text = (
        b"Refunds\n\nA client who cancels more than fourteen days before the shoot gets the\n"
        b"deposit back in full, by bank transfer within a week.\n\nWhat to send:\n"
        b"- the invoice number\n- the date of the shoot\n"
    )
    found = blocks("policy.txt", text)
    assert (
        "A client who cancels more than fourteen days before the shoot gets the deposit back in"
        " full, by bank transfer within a week." in found[0][1]
    )
    assert "What to send:\n- the invoice number\n- the date of the shoot" in found[0][1]
    markdown = (
        b"# Rates\n\nThe day rate covers eight hours on location and the travel within\n"
        b"the city.\n\n    code stays\n    as it is\n"
    )
    assert blocks("rates.md", markdown)[0][1] == (
        "The day rate covers eight hours on location and the travel within the city.\n\n"
        "code stays\nas it is"
    )
    assert unwrap("short line\nnext line") == "short line\nnext line"


def test_the_excerpt_is_the_sentence_window_around_the_best_match() -> None:
    filler = " ".join(f"Sentence {i} talks about opening hours and parking." for i in range(12))
    text = f"{filler} The deposit is refunded within fourteen days of a cancellation. Thanks."
    index = LexicalIndex([1, 2], [text, "something else entirely"])

    def score(sentence: str) -> float:
        return index.coverage("When is the deposit refunded?", sentence)

    shown = excerpt(text, score)
    assert "The deposit is refunded within fourteen days of a cancellation." in shown
    assert len(shown) <= EXCERPT_CHARS
    assert shown.startswith("Sentence ") and not shown.startswith(text[:40])  # not the prefix
    assert "…" not in shown
    assert excerpt("Short passage.", score) == "Short passage."


def test_the_citation_names_the_heading_path() -> None:
    section = "Chapter 12. Trading accounts › 12.1. Why use trading accounts?"
    assert citation("guide/ch12.html", None, section) == f"guide/ch12.html › {section}"


def test_german_and_english_words_are_stemmed_in_their_language() -> None:
    assert language(["wie", "installiere", "ich", "die", "pakete"]) == "german"
    assert language(["how", "do", "i", "install", "the", "packages"]) == "english"
    assert tokenize("Wie lösche ich ein Paket?") == tokenize("Pakets löschen")[::-1]
    assert tokenize("installing packages") == tokenize("installed package")
    index = LexicalIndex([1, 2], ["Debian installs packages with apt", "Bananas are yellow"])
    assert index.coverage("How do I install a package?", "Debian installs packages") == 1.0
    assert index.coverage("banana bread recipe", "Debian installs packages") == 0.0
