"""After a restore the restored data wins: the calendar sync forgets what it knew of the server.

A backup holds the calendar links and the sync token of its day. Left as they are, the next
round would read every change the calendar saw since then (microdesk's own later writes, the
owner's later moves) as the owner's moves and deletes, and undo the restore. So the restored
database keeps which calendar it syncs with, but no link and no token: the next round pulls
nothing, writes every open dated task over whatever the server holds at its address, and
deletes the events of ours that the restored tasks no longer have
(:meth:`bot.services.calendar_sync.push.Push.sweep`, in a round without a token).

    forget_sync_state(connection)   on any database (SQLite, PostgreSQL); False when the
                                    database predates calendar sync (nothing to forget)
    forget_sync_state_in(path)      the same on a SQLite file (the staged copy of a restore)
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, create_engine, delete, inspect, update

from bot.db.calendar import CalendarLink, CalendarState

log = logging.getLogger(__name__)


def forget_sync_state(connection: Connection) -> bool:
    """Drop every calendar link and the sync token (in the caller's transaction)."""
    tables = set(inspect(connection).get_table_names())
    if not {CalendarLink.__tablename__, CalendarState.__tablename__} <= tables:
        return False
    connection.execute(delete(CalendarLink))
    connection.execute(update(CalendarState).values(sync_token=None))
    log.info("calendar: sync state forgotten; the next round writes the restored tasks")
    return True


def forget_sync_state_in(database: Path) -> bool:
    """:func:`forget_sync_state` on the SQLite file `database`, committed."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            return forget_sync_state(connection)
    finally:
        engine.dispose()
