"""Clients over Telegram Business: the connection, each client's record and thread, who waits.

Only the owner's own connection is stored (a connection of anyone else's account is ignored,
and so are its messages). A client's message arms a short quiet period (``draft_due_at``): a
burst of messages gets one draft, made by :mod:`bot.services.clients.drafts` once the client has
been quiet. The owner's own messages in those chats are context: stored, never answered.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.clients import (
    FROM_CLIENT,
    FROM_OWNER,
    BusinessConnection,
    Client,
    ClientMessage,
    ClientRepo,
)
from bot.services.clients.leaks import LeakGuard
from bot.services.prefs import Preferences
from bot.services.proposals import payloads as p

QUIET = timedelta(seconds=20)
REPLY_WINDOW = timedelta(hours=24)  # Telegram lets a business bot answer only recent chats
THREAD = 20
AUTODRAFT_OFF = "autodraft_off"
CONNECTED, NO_REPLY, DISABLED = "connected", "no_reply", "disabled"


@dataclass(frozen=True)
class ConnectionInfo:
    id: str
    user_id: int
    user_chat_id: int
    can_reply: bool
    is_enabled: bool


@dataclass(frozen=True)
class IncomingMessage:
    """A message in a client chat: from the client, or typed there by the owner."""

    connection_id: str
    chat_id: int  # a private chat: the client's user id
    message_id: int
    sender_id: int
    chat_name: str  # the client's name as Telegram shows it
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class Summary:
    client: Client
    last: ClientMessage | None
    waiting_since: datetime | None  # the first client message with no reply after it


class ClientService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        prefs: Preferences,
        owner_id: int | None,
        quiet: timedelta = QUIET,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._prefs = prefs
        self._owner = owner_id
        self.quiet = quiet

    # --- the connection ----------------------------------------------------------------------

    def connect(self, info: ConnectionInfo) -> str | None:
        """Store the owner's connection; its new state if that changed, None if ignored."""
        if info.user_id != self._owner:
            return None
        state = CONNECTED if info.can_reply else NO_REPLY
        state = state if info.is_enabled else DISABLED
        with self._sessions.begin() as session:
            old = session.get(BusinessConnection, info.id)
            before = _state(old) if old is not None else None
            session.merge(
                BusinessConnection(
                    id=info.id,
                    user_id=info.user_id,
                    user_chat_id=info.user_chat_id,
                    can_reply=info.can_reply,
                    is_enabled=info.is_enabled,
                    updated_at=self._clock.now(),
                )
            )
        return state if state != before else None

    def knows(self, connection_id: str) -> bool:
        with self._sessions() as session:
            return session.get(BusinessConnection, connection_id) is not None

    # --- messages ----------------------------------------------------------------------------

    def receive(self, message: IncomingMessage) -> Client | None:
        """Store a message of a client chat; None when it is not on the owner's connection."""
        if not self.knows(message.connection_id):
            return None
        from_owner = message.sender_id == self._owner
        try:
            with self._sessions.begin() as session:
                client = self._client_for(session, message, refresh_name=not from_owner)
                session.add(_row(client.id, message, FROM_OWNER if from_owner else FROM_CLIENT))
                due = None if from_owner else self._clock.now() + self.quiet
                client.draft_due_at = due
        except IntegrityError:  # the same message again (a replayed update): stored once
            return None
        return client

    def edit(self, chat_id: int, message_id: int, text: str, at: datetime) -> bool:
        """The stored text follows the client's edit; an unanswered one is drafted again."""
        with self._sessions.begin() as session:
            row = ClientRepo(session).message(chat_id, message_id)
            if row is None:
                return False
            row.text, row.edited_at = text, at
            if row.sender == FROM_CLIENT and row in _unanswered(ClientRepo(session), row.client_id):
                client = session.get(Client, row.client_id)
                assert client is not None
                client.draft_due_at = self._clock.now() + self.quiet
        return True

    def delete(self, chat_id: int, message_ids: list[int]) -> int:
        """Mark deleted messages; how many were known."""
        with self._sessions.begin() as session:
            done = session.execute(
                update(ClientMessage)
                .where(ClientMessage.chat_id == chat_id, ClientMessage.message_id.in_(message_ids))
                .values(deleted=True)
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    def record_sent(self, client: Client, message_id: int, text: str, at: datetime) -> None:
        """An approved reply the bot sent into the client chat: part of the thread now."""
        row = ClientMessage(
            client_id=client.id,
            chat_id=client.chat_id,
            message_id=message_id,
            sender=FROM_OWNER,
            text=text,
            sent_at=at,
            deleted=False,
        )
        with contextlib.suppress(IntegrityError), self._sessions.begin() as session:
            session.add(row)  # already there if Telegram echoed the sent message to us

    # --- reading -----------------------------------------------------------------------------

    def get(self, client_id: int | None) -> Client | None:
        if client_id is None:
            return None
        with self._sessions() as session:
            return session.get(Client, client_id)

    def unanswered(self, client_id: int) -> list[ClientMessage]:
        """The client's messages since the last one from the owner's side, oldest first."""
        with self._sessions() as session:
            return _unanswered(ClientRepo(session), client_id)

    def thread(self, client_id: int, limit: int = THREAD) -> list[ClientMessage]:
        with self._sessions() as session:
            return ClientRepo(session).thread(client_id, limit)

    def summaries(self) -> list[Summary]:
        """Every client: those waiting for a reply first (longest waiting first), then by name."""
        with self._sessions() as session:
            repo = ClientRepo(session)
            found = [self._summary(repo, client) for client in repo.clients()]
        waiting = sorted((s for s in found if s.waiting_since), key=_waited)
        return waiting + [s for s in found if not s.waiting_since]

    def waiting(self) -> list[Summary]:
        return [s for s in self.summaries() if s.waiting_since is not None]

    # --- can a reply be sent -----------------------------------------------------------------

    def blocked(self, client: Client | None) -> str | None:
        """Why Telegram would refuse a reply into this client's chat now, or None."""
        if client is None:
            return "I have no record of this client any more."
        with self._sessions() as session:
            repo = ClientRepo(session)
            connection = repo.connection(client.connection_id)
            last = repo.last_from_client(client.id)
        if connection is None or not connection.is_enabled:
            return "The Telegram Business connection is off."
        if not connection.can_reply:
            return "The bot has no right to reply in your Telegram Business settings."
        if last is None or self._clock.now() - last > REPLY_WINDOW:
            return (
                f"{client.name}'s last message is over 24 hours old, "
                "so Telegram won't take a reply."
            )
        return None

    def notes(self, payload: p.ReplyDraft) -> list[str]:
        """What the owner should know before Approve: why it can't be sent, and leak flags."""
        client = self.get(payload.client_id)
        reason = self.blocked(client)
        lines = [f"⚠️ {reason} Approve gives you the text to copy."] if reason else []
        if client is not None:
            with self._sessions() as session:
                leaks = LeakGuard(session).check(payload.text, client.id, payload.sources)
            lines += [f"⚠️ {leak}" for leak in leaks]
        return lines

    # --- the owner's switch ------------------------------------------------------------------

    @property
    def autodraft(self) -> bool:
        return not self._prefs.flag(AUTODRAFT_OFF)

    def set_autodraft(self, on: bool) -> None:
        was = "on" if self.autodraft else "off"
        change = f"drafting replies to clients: {was} → {'on' if on else 'off'}"
        self._prefs.set_flag(AUTODRAFT_OFF, not on, audited=change)

    # --- internals ---------------------------------------------------------------------------

    def _client_for(self, session: Session, message: IncomingMessage, refresh_name: bool) -> Client:
        repo = ClientRepo(session)
        client = repo.client_by_user(message.chat_id)
        if client is None:
            client = Client(
                telegram_user_id=message.chat_id,
                name=message.chat_name,
                connection_id=message.connection_id,
                chat_id=message.chat_id,
                created_at=self._clock.now(),
            )
            session.add(client)
            session.flush()
        client.connection_id = message.connection_id
        if refresh_name and message.chat_name:
            client.name = message.chat_name
        return client

    @staticmethod
    def _summary(repo: ClientRepo, client: Client) -> Summary:
        thread = repo.thread(client.id, 1)
        waiting = _unanswered(repo, client.id)
        return Summary(
            client, thread[-1] if thread else None, waiting[0].sent_at if waiting else None
        )


def _waited(summary: Summary) -> datetime:
    assert summary.waiting_since is not None
    return summary.waiting_since


def _unanswered(repo: ClientRepo, client_id: int) -> list[ClientMessage]:
    burst: list[ClientMessage] = []
    for row in reversed(repo.thread(client_id, THREAD)):
        if row.sender != FROM_CLIENT:
            break
        burst.append(row)
    return list(reversed(burst))


def _row(client_id: int, message: IncomingMessage, sender: str) -> ClientMessage:
    return ClientMessage(
        client_id=client_id,
        chat_id=message.chat_id,
        message_id=message.message_id,
        sender=sender,
        text=message.text,
        sent_at=message.sent_at,
        deleted=False,
    )


def _state(connection: BusinessConnection) -> str:
    if not connection.is_enabled:
        return DISABLED
    return CONNECTED if connection.can_reply else NO_REPLY
