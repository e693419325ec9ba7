"""Each format read with its structure; every hostile file refused with one clear sentence."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest

from bot.retrieval.parsing import Limits, ParseError, parse
from bot.retrieval.sandbox import SandboxParser
from tests.retrieval_helpers import (
    SAMPLES,
    binary_junk,
    encrypted_pdf,
    inflating_pdf,
    many_stream_pdf,
    truncated_pdf,
    zip_bomb_docx,
)

LIMITS = Limits()


def sections(name: str, data: bytes) -> list[tuple[tuple[str, ...], int | None, str]]:
    return [(b.section, b.page, b.text) for b in parse(name, data, LIMITS).blocks]


def test_markdown_keeps_the_heading_trail_and_ignores_code_fences() -> None:
    text = b"# Guide\n\nIntro.\n\n## Refunds\n\nWithin 14 days.\n\n```\n# not a heading\n```\n"
    text += b"\nSetext\n------\n\nBody of [the link](http://x)."
    assert sections("g.md", text) == [
        (("Guide",), None, "Intro."),
        (("Guide", "Refunds"), None, "Within 14 days.\n\n```\n# not a heading\n```"),
        (("Guide", "Setext"), None, "Body of the link."),
    ]


def test_pdf_text_comes_per_page() -> None:
    blocks = parse("price-list.pdf", (SAMPLES / "price-list.pdf").read_bytes(), LIMITS).blocks
    assert [b.page for b in blocks] == [1, 2, 3]
    assert "Logo design: 900 EUR" in blocks[1].text


def test_docx_headings_become_sections_and_tables_are_read() -> None:
    document = docx.Document()
    document.add_heading("Terms", level=1)
    document.add_paragraph("General terms.")
    document.add_heading("Payment", level=2)
    document.add_paragraph("Pay within 30 days.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Rate", "65 EUR"
    out = io.BytesIO()
    document.save(out)
    assert sections("t.docx", out.getvalue()) == [
        (("Terms",), None, "General terms."),
        (("Terms", "Payment"), None, "Pay within 30 days.\n\nRate | 65 EUR"),
    ]


def test_html_sections_without_scripts_or_broken_inline_text() -> None:
    page = b"""<html><head><title>T</title><script>var x = 'secret';</script></head><body>
    <nav>Home | About</nav><h1>Studio</h1><p>We build <b>fast</b> sites.</p>
    <h2>Prices</h2><ul><li>Logo: 900 EUR</li><li>Site: 1,200 EUR</li></ul></body></html>"""
    assert sections("s.html", page) == [
        (("Studio",), None, "We build fast sites."),
        (("Studio", "Prices"), None, "Logo: 900 EUR\n\nSite: 1,200 EUR"),
    ]


def test_deeply_nested_html_is_read_without_recursion() -> None:
    page = b"<div>" * 50_000 + b"deep text" + b"</div>" * 50_000
    assert sections("deep.html", page)[0][2] == "deep text"


def test_csv_rows_become_column_value_lines_cited_by_row() -> None:
    data = b"name;rate\nAylin;0.12 EUR per word\nTomasz;450 EUR per day\n"
    assert sections("c.csv", data) == [
        (
            ("rows 1–2",),
            None,
            "name: Aylin; rate: 0.12 EUR per word\nname: Tomasz; rate: 450 EUR per day",
        )
    ]


def test_eml_reads_headers_and_prefers_the_plain_body() -> None:
    mail = (
        b"From: Anna <anna@example.org>\r\nTo: studio@example.org\r\nSubject: Shop launch\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCan we launch on Friday?\r\n"
        b"--XX\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--XX--\r\n"
    )
    [(section, _, text)] = sections("m.eml", mail)
    assert section == ("Shop launch",)
    assert "From: Anna <anna@example.org>" in text and "Can we launch on Friday?" in text
    assert "HTML version" not in text


def test_plain_text_title_lines_become_sections() -> None:
    data = (SAMPLES / "tax-and-licence-calendar.txt").read_bytes()
    found = {s[0][0] for s in sections("cal.txt", data) if s[0]}
    assert {"Income tax", "Insurance", "Bookkeeping routine"} <= found


def test_latin1_text_is_read_and_utf16_too() -> None:
    assert sections("a.txt", "Café crème".encode("cp1252"))[0][2] == "Café crème"
    assert sections("b.txt", "Grüße".encode("utf-16"))[0][2] == "Grüße"


@pytest.mark.parametrize(
    ("name", "build", "reason"),
    [
        ("locked.pdf", encrypted_pdf, "password-protected"),
        ("cut.pdf", truncated_pdf, "damaged or incomplete"),
        ("junk.pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "damaged or incomplete"),
        ("bomb.pdf", lambda: inflating_pdf(1024), "unpacks to more data"),  # 1 GB
        ("many.pdf", lambda: many_stream_pdf(30, 5), "unpacks to more data"),
        ("bomb.docx", lambda: zip_bomb_docx(30), "unpacks to far more data"),
        ("fake.docx", lambda: b"PK\x03\x04 not really a zip", "damaged or not really a .docx"),
        ("junk.txt", binary_junk, "holds binary data"),
        ("huge.txt", lambda: b"a" * (20 * 1024 * 1024 + 1), "I index files up to 20 MB"),
    ],
)
def test_hostile_files_fail_with_one_clear_sentence(name: str, build: object, reason: str) -> None:
    assert callable(build)
    with pytest.raises(ParseError) as caught:
        parse(name, build(), LIMITS)
    message = str(caught.value)
    assert reason in message and not caught.value.skip
    assert message.count(".") <= 3 and "\n" not in message and "Traceback" not in message


def test_unknown_formats_and_empty_files_are_skipped_not_failed() -> None:
    for name, data in (("photo.jpg", b"\xff\xd8"), ("empty.md", b"   \n")):
        with pytest.raises(ParseError) as caught:
            parse(name, data, LIMITS)
        assert caught.value.skip


def test_too_much_text_is_refused() -> None:
    with pytest.raises(ParseError, match="more than 1,000 characters"):
        parse("long.txt", b"word " * 1000, Limits(max_text_chars=1_000))


def test_pdf_page_cap() -> None:
    data = many_stream_pdf(5, 0)
    with pytest.raises(ParseError, match="has 5 pages; I index up to 3"):
        parse("pages.pdf", data, Limits(max_pdf_pages=3))


def test_sandbox_kills_a_parse_that_runs_over_the_clock_and_recovers() -> None:
    slow = SandboxParser(Limits(seconds=0.5), target="tests.retrieval_helpers:slow_parse")
    try:
        with pytest.raises(ParseError, match="took over 0 s"):
            slow.parse("a.md", b"# x")
    finally:
        slow.close()


def test_sandbox_caps_memory_and_survives_a_crash(tmp_path: Path) -> None:
    hog = SandboxParser(Limits(memory_bytes=512 << 20), target="tests.retrieval_helpers:hog_memory")
    crash = SandboxParser(target="tests.retrieval_helpers:crash")
    try:
        with pytest.raises(ParseError, match="more memory than I allow"):
            hog.parse("a.md", b"# x")
        with pytest.raises(ParseError, match="crashed the reader"):
            crash.parse("a.md", b"# x")
    finally:
        hog.close()
        crash.close()


def test_sandbox_parses_real_files_and_reports_hostile_ones() -> None:
    parser = SandboxParser()
    try:
        doc = parser.parse("faq.md", (SAMPLES / "client-faq.md").read_bytes())
        assert any(b.section[-1:] == ("Refunds",) for b in doc.blocks)
        with pytest.raises(ParseError, match="password-protected"):
            parser.parse("locked.pdf", encrypted_pdf())
        assert parser.parse("again.md", b"# Still alive\n\ntext").blocks
    finally:
        parser.close()
