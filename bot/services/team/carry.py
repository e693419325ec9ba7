"""A restore never gives access back: revocations and closed invites of the live database are
applied to the backup's database before it replaces the live one.

An older backup may hold a contractor as active whom the owner revoked since, or an invite that
was used or replaced since; both would work again after the restore. So, in the staged copy:
every contractor revoked in the live database (by name or Telegram user) is revoked, and every
invite that is no longer pending in the live database is closed.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)


def carry_revocations(live: Path, staged: Path) -> int:
    """Apply the live database's revocations to `staged`; how many rows changed there."""
    if not live.exists():
        return 0
    try:
        with closing(sqlite3.connect(live, timeout=30)) as source:
            if not _has_team(source):
                return 0
            revoked = source.execute(
                "SELECT name, tg_user_id, revoked_at FROM contractors WHERE status = 'revoked'"
            ).fetchall()
            closed = source.execute(
                "SELECT token_hash FROM team_invites WHERE status != 'pending'"
            ).fetchall()
    except sqlite3.DatabaseError:
        log.warning("the live database could not be read for revocations; none carried over")
        return 0
    with closing(sqlite3.connect(staged, timeout=30)) as target:
        if not _has_team(target):
            return 0  # a backup from before contractors: nobody in it has access
        with target:
            changed = 0
            for name, user_id, at in revoked:
                changed += target.execute(
                    "UPDATE contractors SET status = 'revoked', revoked_at = ? "
                    "WHERE status = 'active' AND (name = ? OR tg_user_id = ?)",
                    (at, name, user_id),
                ).rowcount
            for (digest,) in closed:
                changed += target.execute(
                    "UPDATE team_invites SET status = 'revoked' "
                    "WHERE token_hash = ? AND status = 'pending'",
                    (digest,),
                ).rowcount
    if changed:
        log.info("restore: %d revocations carried over from the live database", changed)
    return changed


def _has_team(connection: sqlite3.Connection) -> bool:
    found = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
        "AND name IN ('contractors', 'team_invites')"
    ).fetchone()
    return bool(found and found[0] == 2)
