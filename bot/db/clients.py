"""Clients over Telegram Business: the connection, each client, their thread, the owner's edits.

A client is a person who writes to the owner's own Telegram account while the bot is connected
through Telegram Business. Every message in those chats is stored (the client's and the
owner's), edits and deletions included, so drafts see the thread as it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

FROM_CLIENT = "client"
FROM_OWNER = "owner"  # typed by the owner in the chat, or an approved draft the bot sent


class BusinessConnection(Base):
    """The owner's Telegram Business account connected to the bot, with the bot's rights."""

    __tablename__ = "business_connections"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    user_chat_id: Mapped[int] = mapped_column(BigInteger)
    can_reply: Mapped[bool] = mapped_column(Boolean)
    is_enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Client(Base):
    """Someone who wrote to the owner's account via Telegram Business; gets approved replies."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(Text)
    connection_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # set by each new client message: a draft is due once the client has been quiet until then
    draft_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ClientMessage(Base):
    """One message in a client chat, as it stands now (edited text; deleted ones flagged)."""

    __tablename__ = "client_messages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(8))  # client | owner
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)  # Telegram's date
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class ReplyEdit(Base):
    """The AI's draft and the text the owner approved instead: examples of the owner's voice."""

    __tablename__ = "reply_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int | None] = mapped_column(Integer)
    proposal_id: Mapped[int] = mapped_column(Integer, unique=True)
    draft: Mapped[str] = mapped_column(Text)
    final: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClientRepo:
    """Queries over connections, clients and their messages. Takes a Session; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def connection(self, connection_id: str) -> BusinessConnection | None:
        return self.session.get(BusinessConnection, connection_id)

    def client(self, client_id: int) -> Client | None:
        return self.session.get(Client, client_id)

    def client_by_user(self, telegram_user_id: int) -> Client | None:
        query = select(Client).where(Client.telegram_user_id == telegram_user_id)
        return self.session.scalars(query).one_or_none()

    def clients(self) -> Sequence[Client]:
        return self.session.scalars(select(Client).order_by(Client.name, Client.id)).all()

    def message(self, chat_id: int, message_id: int) -> ClientMessage | None:
        query = select(ClientMessage).where(
            ClientMessage.chat_id == chat_id, ClientMessage.message_id == message_id
        )
        return self.session.scalars(query).one_or_none()

    def thread(self, client_id: int, limit: int = 30) -> list[ClientMessage]:
        """The client's latest messages still in the chat, oldest first."""
        query = (
            select(ClientMessage)
            .where(ClientMessage.client_id == client_id, ClientMessage.deleted.is_(False))
            .order_by(ClientMessage.sent_at.desc(), ClientMessage.id.desc())
            .limit(limit)
        )
        return list(reversed(self.session.scalars(query).all()))

    def last_from_client(self, client_id: int) -> datetime | None:
        """When the client last wrote (deleted messages count: Telegram's window counts them)."""
        query = select(func.max(ClientMessage.sent_at)).where(
            ClientMessage.client_id == client_id, ClientMessage.sender == FROM_CLIENT
        )
        return self.session.scalar(query)

    def texts_of_others(self, client_id: int) -> list[tuple[int, str]]:
        """(client id, text) of every stored message in other clients' chats."""
        query = select(ClientMessage.client_id, ClientMessage.text).where(
            ClientMessage.client_id != client_id
        )
        return [(row[0], row[1]) for row in self.session.execute(query)]

    def texts_of(self, client_id: int) -> list[str]:
        query = select(ClientMessage.text).where(ClientMessage.client_id == client_id)
        return list(self.session.scalars(query))

    def due_for_draft(self, now: datetime) -> Sequence[Client]:
        query = select(Client).where(Client.draft_due_at.is_not(None), Client.draft_due_at <= now)
        return self.session.scalars(query.order_by(Client.draft_due_at)).all()

    def take_due(self, client_id: int, due_at: datetime) -> bool:
        """Clear the client's due draft if it is still the one read (atomic: one tick wins)."""
        done = self.session.execute(
            update(Client)
            .where(Client.id == client_id, Client.draft_due_at == due_at)
            .values(draft_due_at=None)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    def examples(self, limit: int) -> list[tuple[str, str]]:
        """The most recent (draft, final) pairs, oldest first."""
        query = select(ReplyEdit).order_by(ReplyEdit.id.desc()).limit(limit)
        return [(row.draft, row.final) for row in reversed(self.session.scalars(query).all())]
