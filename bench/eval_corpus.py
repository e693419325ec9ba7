"""The held-out retrieval corpus: real documents and real questions from Debian packages.

Nothing here was written by us. `fetch` downloads the .deb files with ``apt-get download`` into
a cache folder and unpacks them; `build` lays out a knowledge folder of about 400 files and
writes the questions with the file that answers each:

    en      questions of the Debian FAQ (chapter headings), the Python FAQ and the SQLite FAQ,
            asked of their own file among ~370 distractor files (Python library reference,
            SQLite reference pages and C API, Debian Reference chapters in English and German)
    de      questions of the German Debian FAQ about the German chapters that are indexed
    de-en   questions of the German Debian FAQ whose German chapter is NOT indexed: the answer
            is only in the English chapter
    none    questions from the FAQs of KDE applications (KMyMoney, KMail, KAlarm, Dolphin …,
            English and German) that nothing in the corpus answers: they must be declined

The documents are too large for git (~25 MB of .deb files); a small subset with its questions
is committed as tests/eval/subset (see `subset`), so CI checks the same code offline.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

PACKAGES = (
    "debian-faq", "debian-faq-de", "python3.11-doc", "sqlite3-doc", "debian-reference-en",
    "debian-reference-de", "kmymoney-common", "kmail", "kalarm", "dolphin", "konqueror",
    "kmousetool", "kmouth", "cantor", "kcalc",
)  # fmt: skip
DEBIAN_FAQ = "usr/share/doc/debian/FAQ"
PYTHON = "usr/share/doc/python3.11/html"
SQLITE = "usr/share/doc/sqlite3"
REFERENCE = "usr/share/debian-reference"
KDE_DOCS = "usr/share/doc/HTML"
KDE_APPS = ("kmymoney", "kmail2", "kalarm", "dolphin", "konqueror", "kmousetool", "kmouth",
            "cantor", "kcalc")  # fmt: skip


@dataclass(frozen=True)
class Question:
    question: str
    kind: str  # en | de | de-en | none
    document: str | None  # the file that answers it (relative to the knowledge folder)
    origin: str  # where the question was taken from


def fetch(cache: Path) -> Path:
    """Download and unpack the packages into cache/root (skipped when already there)."""
    root = cache / "root"
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        if not any(debs.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    if not (root / DEBIAN_FAQ).is_dir():
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def build(root: Path, docs: Path) -> list[Question]:
    """Lay out the knowledge folder under `docs`; return every question with its answer file."""
    questions: list[Question] = []
    questions += _debian_faq(root, docs)
    questions += _python_faq(root, docs)
    questions += _sqlite_faq(root, docs)
    _distractors(root, docs)
    questions += _unanswerable(root)
    return questions


def write_questions(questions: list[Question], path: Path) -> None:
    path.write_text("".join(json.dumps(asdict(q), ensure_ascii=False) + "\n" for q in questions))


def read_questions(path: Path) -> list[Question]:
    return [Question(**json.loads(line)) for line in path.read_text().splitlines() if line]


# -- the answerable questions -------------------------------------------------------------------


def _debian_faq(root: Path, docs: Path) -> list[Question]:
    """English chapters all indexed; German chapters every other one (the rest: de-en)."""
    out: list[Question] = []
    english = sorted(p for p in (root / DEBIAN_FAQ).glob("*.en.html") if _content(p))
    for number, page in enumerate(english):
        en_name = f"debian-faq/{page.name}"
        _copy(page, docs / en_name)
        out += [Question(q, "en", en_name, "debian-faq") for q in _headings(page, "h2")]
        german = root / DEBIAN_FAQ / "de" / page.name.replace(".en.", ".de.")
        if not german.is_file():
            continue
        if number % 2 == 0:
            de_name = f"debian-faq-de/{german.name}"
            _copy(german, docs / de_name)
            out += [Question(q, "de", de_name, "debian-faq-de") for q in _headings(german, "h2")]
        else:
            out += [Question(q, "de-en", en_name, "debian-faq-de") for q in _headings(german, "h2")]
    return out


def _python_faq(root: Path, docs: Path) -> list[Question]:
    out: list[Question] = []
    for page in sorted((root / PYTHON / "faq").glob("*.html")):
        if page.name == "index.html":
            continue
        name = f"python-faq/{page.name}"
        _copy(page, docs / name)
        out += [Question(q, "en", name, "python-faq") for q in _headings(page, "h3")]
    return out


def _sqlite_faq(root: Path, docs: Path) -> list[Question]:
    page = root / SQLITE / "faq.html"
    _copy(page, docs / "sqlite/faq.html")
    found = re.findall(r"<p><b>\(\d+\)\s*(.*?)</b></p>", page.read_text(errors="replace"), re.S)
    return [Question(_clean(q), "en", "sqlite/faq.html", "sqlite-faq") for q in found]


def _headings(page: Path, tag: str) -> Iterator[str]:
    """The headings of `page` that are questions, without their numbers and pilcrows."""
    for raw in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", page.read_text(errors="replace"), re.S):
        text = re.sub(r"^\d+(\.\d+)*\.?\s*", "", _clean(raw)).rstrip("¶ ").strip()
        if text.endswith("?") and len(text) > 12:
            yield text


# -- distractors and unanswerable questions -----------------------------------------------------


def _distractors(root: Path, docs: Path) -> None:
    """Reference pages that answer none of the questions but share their vocabulary.

    The smallest pages of each reference, so ~400 files stay ~2,000 chunks (ingest time).
    """
    for page in [root / REFERENCE / "ch02.en.html", root / REFERENCE / "ch03.de.html"]:
        _copy(page, docs / "debian-reference" / page.name)
    for folder, count, target in [
        (root / PYTHON / "library", 170, "python-library"),
        (root / SQLITE, 100, "sqlite"),
        (root / SQLITE / "c3ref", 110, "sqlite-c-api"),
    ]:
        pages = sorted((p for p in folder.glob("*.html") if p.name != "faq.html"), key=_size)
        for page in pages[:count]:
            _copy(page, docs / target / page.name)


def _unanswerable(root: Path) -> list[Question]:
    out: list[Question] = []
    for lang in ("en", "de"):
        for app in KDE_APPS:
            for book in sorted((root / KDE_DOCS / lang / app).glob("*.docbook")):
                text = book.read_text(errors="replace")
                for raw in re.findall(r"<question>(.*?)</question>", text, re.S):
                    question = _clean(_entities(raw))
                    if 12 < len(question) < 200:
                        out.append(Question(question, "none", None, f"{app}-{lang}"))
    return out


def _entities(text: str) -> str:
    """DocBook entities such as &kmymoney; as the names they stand for."""
    names = {"kde": "KDE", "ubuntu": "Ubuntu", "kmail": "KMail", "kmymoney": "KMyMoney"}
    return re.sub(r"&([a-zA-Z][\w-]*);", lambda m: names.get(m[1], m[1].capitalize()), text)


def _size(page: Path) -> tuple[int, str]:
    return len(_text_of(page)), page.name


def _content(page: Path) -> bool:
    return not page.name.startswith(("index.", "faqinfo."))


def _text_of(page: Path) -> str:
    return re.sub(r"<[^>]+>", "", page.read_text(errors="replace"))


def _clean(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())


# -- the committed subset -----------------------------------------------------------------------

SUBSET_DOCS = (
    "debian-faq/basic-defs.en.html", "debian-faq/choosing.en.html",
    "debian-faq/pkg-basics.en.html", "debian-faq/pkgtools.en.html",
    "debian-faq-de/basic-defs.de.html", "debian-faq-de/compatibility.de.html",
    "python-faq/general.html", "python-faq/installed.html", "sqlite/faq.html",
)  # fmt: skip
SUBSET_DISTRACTORS = 24  # the smallest SQLite C-API pages
SUBSET_UNANSWERABLE = ("kmymoney-en", "kmymoney-de", "kalarm-en", "kalarm-de", "dolphin-de")


def subset(docs: Path, questions: list[Question], target: Path) -> list[Question]:
    """Copy a small slice of the full set (documents and their questions) to `target`."""
    chosen = list(SUBSET_DOCS)
    chosen += sorted(p.relative_to(docs).as_posix() for p in (docs / "sqlite-c-api").glob("*"))[
        :SUBSET_DISTRACTORS
    ]
    for name in chosen:
        _copy(docs / name, target / "docs" / name)
    kept = [
        q
        for q in questions
        if (q.document in chosen) or (q.kind == "none" and q.origin in SUBSET_UNANSWERABLE)
    ]
    write_questions(kept, target / "questions.jsonl")
    return kept
