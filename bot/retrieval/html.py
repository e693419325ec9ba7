"""HTML (sections from h1–h6, scripts and navigation dropped) and e-mail (.eml) messages.

Navigation is what a reader skips: <nav>, <header>, <footer>, <aside>, and any element whose
class, id or role says navigation, menu, sidebar, breadcrumb or footer (Sphinx's "related" bar
and sidebar, DocBook's "navheader" / "navfooter" with their "Prev / Next" links, heading
permalinks). Text outside <pre> is laid out as a browser would: a line break in the source is a
space, so hard-wrapped paragraphs read as one line.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from bot.retrieval.parsing import Block, Limits, ParsedDoc, ParseError, decode_text, tidy

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
SKIP = {
    "script", "style", "noscript", "template", "nav", "head", "svg", "iframe", "form", "header",
    "footer", "aside", "button",
}  # fmt: skip
_NAVIGATION = re.compile(
    r"(^|[\s_-])(nav\w*|menu\w*|\w*sidebar|related|breadcrumbs?|footer|headerlink|"
    r"skip-?link|toc|tocs|pagination|crumbs)($|[\s_-])",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")
_BLOCK_TAGS = (
    "p div li ul ol tr table section article br pre blockquote dd dt dl header footer main aside"
    " figcaption caption hr td th"
)
BLOCKS = frozenset(_BLOCK_TAGS.split())


def read_html(data: bytes, limits: Limits) -> ParsedDoc:
    return ParsedDoc(html_blocks(decode_text(data, "HTML")))


def html_blocks(markup: str, top: tuple[str, ...] = ()) -> list[Block]:
    """Text per section; the trail of headings above each piece becomes its section."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    blocks: list[Block] = []
    trail: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = tidy("".join(body))
        if text:
            blocks.append(Block(text, section=top + tuple(t for _, t in trail)))
        body.clear()

    for kind, value, level in _walk(soup):
        if kind == "heading" and value:
            flush()
            while trail and trail[-1][0] >= level:
                trail.pop()
            trail.append((level, value))
        elif kind == "break":
            body.append("\n")
        else:
            body.append(value)
    flush()
    return blocks


def _walk(root: Any) -> Iterator[tuple[str, str, int]]:
    """('text', s, 0), ('break', '', 0) and ('heading', title, level) in document order.

    An explicit stack, not recursion: a hostile page may nest tags thousands deep.
    """
    from bs4.element import NavigableString, Tag

    stack: list[tuple[Iterator[Any], bool, bool]] = [(iter(root.children), True, False)]
    while stack:
        node = next(stack[-1][0], None)
        preformatted = stack[-1][2]
        if node is None:
            if stack.pop()[1]:
                yield "break", "", 0
            continue
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:
                yield "text", str(node) if preformatted else _WHITESPACE.sub(" ", node), 0
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name.lower()
        if name in SKIP or _is_navigation(node):
            continue
        if name in HEADINGS:
            yield "heading", _heading_text(node), HEADINGS[name]
            continue
        block = name in BLOCKS
        if block:
            yield "break", "", 0
        stack.append((iter(node.children), block, preformatted or name == "pre"))


def _is_navigation(node: Any) -> bool:
    labels = [node.get("role") or "", node.get("id") or "", *(node.get("class") or [])]
    return any(_NAVIGATION.search(str(label)) for label in labels if label)


def _heading_text(node: Any) -> str:
    """The heading's words, without permalink marks ("¶") and anchors' text."""
    return " ".join(node.get_text(" ").replace("¶", " ").split())


def read_eml(data: bytes, limits: Limits) -> ParsedDoc:
    """The headers that matter and the body (plain text preferred); attachments are not read."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except (ValueError, TypeError, IndexError, LookupError):
        raise ParseError("The e-mail file is malformed, so I could not read it.") from None
    if not isinstance(message, EmailMessage) or not (message.keys() or message.get_payload()):
        raise ParseError("The file is not an e-mail message.")
    subject = " ".join(str(message.get("subject", "")).split()) or "(no subject)"
    head = "\n".join(
        f"{key}: {message[key]}" for key in ("From", "To", "Cc", "Date", "Subject") if message[key]
    )
    body = _body(message)
    if body is None:
        return ParsedDoc([Block(tidy(head), section=(subject,))])
    kind, content = body
    if kind == "html":
        blocks = html_blocks(content, top=(subject,))
        return ParsedDoc([Block(tidy(head), section=(subject,)), *blocks])
    return ParsedDoc([Block(tidy(f"{head}\n\n{content}"), section=(subject,))])


def _body(message: EmailMessage) -> tuple[str, str] | None:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return None
        content = part.get_content()
    except (LookupError, ValueError, TypeError, AssertionError, KeyError):
        raise ParseError("The e-mail's text is encoded in a way I can't read.") from None
    if isinstance(content, bytes):
        content = decode_text(content, "e-mail")
    if not isinstance(content, str):
        return None
    return ("html" if part.get_content_subtype() == "html" else "plain"), content
