"""Documents and their chunks: the text the vector index is built from (and rebuilt from).

A document is one file, from the knowledge folder or uploaded in Telegram, with its status:
indexed, skipped (nothing to index) or failed (and why). Chunk ids never get reused
(AUTOINCREMENT), so a stale vector in the index can never point at another chunk's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

FOLDER = "folder"
UPLOAD = "upload"
INDEXED = "indexed"
SKIPPED = "skipped"
FAILED = "failed"


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # folder | upload
    path: Mapped[str] = mapped_column(Text)  # absolute path, or the upload's name
    name: Mapped[str] = mapped_column(Text)  # shown and cited: relative path or file name
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    text_chars: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(Text)  # heading trail joined by " › "
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)


class KnowledgeRepo:
    """Queries over documents and chunks. Takes a Session; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, source: str, path: str) -> Document | None:
        query = select(Document).where(Document.source == source, Document.path == path)
        return self.session.scalars(query).one_or_none()

    def documents(self, source: str | None = None) -> Sequence[Document]:
        query = select(Document).order_by(Document.name, Document.id)
        if source is not None:
            query = query.where(Document.source == source)
        return self.session.scalars(query).all()

    def add(self, document: Document) -> Document:
        self.session.add(document)
        self.session.flush()
        return document

    def chunk_ids(self, document_id: int) -> list[int]:
        query = select(Chunk.id).where(Chunk.document_id == document_id)
        return list(self.session.scalars(query))

    def replace_chunks(self, document_id: int, chunks: Sequence[Chunk]) -> list[int]:
        """Drop the document's chunks, add these; returns the new ids in order."""
        self.session.execute(delete(Chunk).where(Chunk.document_id == document_id))
        self.session.add_all(chunks)
        self.session.flush()
        return [c.id for c in chunks]

    def delete(self, document: Document) -> None:
        self.session.execute(delete(Chunk).where(Chunk.document_id == document.id))
        self.session.delete(document)

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, tuple[Chunk, Document]]:
        if not ids:
            return {}
        query = (
            select(Chunk, Document)
            .join(Document, Chunk.document_id == Document.id)
            .where(Chunk.id.in_(ids))
        )
        return {chunk.id: (chunk, doc) for chunk, doc in self.session.execute(query).all()}

    def all_chunk_texts(self) -> list[tuple[int, str, str, str | None]]:
        """(id, text, document name, section) of every indexed chunk, in id order."""
        query = (
            select(Chunk.id, Chunk.text, Document.name, Chunk.section)
            .join(Document, Chunk.document_id == Document.id)
            .where(Document.status == INDEXED)
            .order_by(Chunk.id)
        )
        return [tuple(row) for row in self.session.execute(query)]  # type: ignore[misc]

    def count_chunks(self) -> int:
        query = select(func.count(Chunk.id)).join(Document).where(Document.status == INDEXED)
        return self.session.scalar(query) or 0
