"""The leak guard: does a draft to one client carry what belongs to someone else?

A draft is flagged (never blocked: the owner decides) when it names another client, when it
holds a distinctive token (an e-mail address, a phone number, an amount, an IBAN) that appears
in another client's messages but nowhere in this client's thread or the shared documents, or
when it cites or quotes a document marked private.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.clients import ClientRepo
from bot.db.knowledge import Chunk, Document

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
NUMBER = re.compile(r"\+?\d+(?:[ .,/-]\d+)*")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
WORD = re.compile(r"\w+")
MIN_DIGITS = 4
MIN_NAME = 3
SHINGLE = 8  # this many words in a row from a private document count as quoting it


@dataclass(frozen=True)
class Token:
    key: str  # normalised: digits only, lower-case e-mail, IBAN without spaces
    shown: str  # as written in the draft


def tokens(text: str) -> dict[str, Token]:
    """The distinctive tokens of `text`, by normalised key."""
    found: dict[str, Token] = {}
    for match in EMAIL.finditer(text):
        found.setdefault(match.group().lower(), Token(match.group().lower(), match.group()))
    for match in IBAN.finditer(text):
        key = match.group().replace(" ", "")
        found.setdefault(key, Token(key, match.group()))
    for match in NUMBER.finditer(IBAN.sub(" ", EMAIL.sub(" ", text))):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) >= MIN_DIGITS and not _a_year(digits):
            found.setdefault(digits, Token(digits, match.group()))
    return found


def _a_year(digits: str) -> bool:
    return len(digits) == MIN_DIGITS and digits[:2] in ("19", "20")


def _words(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(text)]


def name_parts(name: str) -> set[str]:
    """The capitalised words of a name long enough to be told apart from ordinary words."""
    return {w for w in WORD.findall(name) if len(w) >= MIN_NAME and w[0].isupper()}


class LeakGuard:
    """Checks a draft for one client against everyone else's data. Takes a Session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repo = ClientRepo(session)

    def check(self, text: str, client_id: int, sources: Sequence[str] = ()) -> list[str]:
        """One sentence per finding; empty when nothing looks out of place."""
        return [
            *self._other_names(text, client_id),
            *self._other_tokens(text, client_id),
            *self._private(text, client_id, sources),
        ]

    def _other_names(self, text: str, client_id: int) -> list[str]:
        words = set(WORD.findall(text))
        own = self.repo.client(client_id)
        mine = name_parts(own.name) if own is not None else set()
        found = []
        for other in self.repo.clients():
            if other.id != client_id and (name_parts(other.name) - mine) & words:
                found.append(f"It mentions another client: {other.name}.")
        return found

    def _other_tokens(self, text: str, client_id: int) -> list[str]:
        draft = tokens(text)
        if not draft:
            return []
        mine = _keys(self.repo.texts_of(client_id))
        owners: dict[str, int] = {}
        for other_id, message in self.repo.texts_of_others(client_id):
            for key in tokens(message).keys() & draft.keys():
                owners.setdefault(key, other_id)
        names = {c.id: c.name for c in self.repo.clients()}
        return [
            f"It contains “{draft[key].shown}”, which appears in "
            f"{names.get(who, 'another client')}'s messages, not in this chat."
            for key, who in owners.items()
            if key not in mine and not self._in_shared_documents(draft[key])
        ]

    def _in_shared_documents(self, token: Token) -> bool:
        query = (
            select(Chunk.id)
            .join(Document, Chunk.document_id == Document.id)
            .where(Document.private.is_(False), Chunk.text.contains(token.shown, autoescape=True))
        )
        return self.session.scalars(query.limit(1)).first() is not None

    def _private(self, text: str, client_id: int, sources: Sequence[str]) -> list[str]:
        rows = [
            (str(name), str(chunk))
            for name, chunk in self.session.execute(
                select(Document.name, Chunk.text)
                .join(Chunk, Chunk.document_id == Document.id)
                .where(Document.private.is_(True))
            )
        ]
        if not rows:
            return []
        cited = {name for name, _ in rows if any(s.startswith(name) for s in sources)}
        mine = _keys(self.repo.texts_of(client_id))
        own = {k for k, t in tokens(text).items() if k not in mine}
        distinctive = {k for k in own if not self._in_shared_documents(tokens(text)[k])}
        quoted = _quoting(text, rows, distinctive)
        return [f"It uses the private document {name}." for name in sorted(cited | quoted)]


def _keys(texts: Iterable[str]) -> set[str]:
    keys: set[str] = set()
    for text in texts:
        keys |= tokens(text).keys()
    return keys


def _quoting(text: str, rows: Sequence[tuple[str, str]], distinctive: set[str]) -> set[str]:
    """Names of private documents holding one of the `distinctive` tokens or a run of words."""
    runs = _shingles(_words(text))
    return {
        name
        for name, chunk in rows
        if distinctive & tokens(chunk).keys() or runs & _shingles(_words(chunk))
    }


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
