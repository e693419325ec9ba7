"""Helpers for the backup tests: fill every table generically, dump it, fingerprint a folder."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

NOT_FILLED = {"alembic_version", "sqlite_sequence"}


def _sample(table: sa.Table, column: sa.Column[Any], filled: dict[str, dict[str, Any]]) -> Any:
    for fk in column.foreign_keys:
        parent = fk.column.table.name
        if parent == table.name or parent not in filled:
            return None if column.nullable else 1
        return filled[parent][fk.column.name]
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 2, 3, 4, 5)
    if isinstance(kind, sa.Date):
        return date(2026, 1, 2)
    if isinstance(kind, sa.Float | sa.Numeric):
        return 1.5
    if isinstance(kind, sa.LargeBinary):
        return b"\x00\xffbytes"
    if isinstance(kind, sa.JSON):
        return {"k": [1, "ü"]}
    if isinstance(kind, sa.String):
        text = f"{table.name}.{column.name} ü"
        return text[: kind.length] if kind.length else text
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r}): add one")


def fill_every_table(engine: Engine) -> list[str]:
    """One generic row in every table the migrations created (parents first); their names."""
    meta = sa.MetaData()
    meta.reflect(engine)
    filled: dict[str, dict[str, Any]] = {}
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name in NOT_FILLED:
                continue
            row = {c.name: _sample(table, c, filled) for c in table.columns}
            conn.execute(table.insert().values(row))
            filled[table.name] = row
    return sorted(filled)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(sa.select(t))), key=repr)
            for t in meta.sorted_tables
        }


def as_restored(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """A dump as a restore brings it back: every row, but no calendar sync state (dropped so the
    restored tasks win in the calendar: bot.services.calendar_sync.restored)."""
    state = [(*row[:3], None, *row[4:]) for row in rows["calendar_state"]]  # no sync_token
    return {**rows, "calendar_links": [], "calendar_state": state}


def empty_every_table(engine: Engine) -> None:
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table in reversed(meta.sorted_tables):
            if table.name not in NOT_FILLED:
                conn.execute(table.delete())


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder (the lock file, which holds nothing, left out)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def repack(members: dict[str, bytes], *, fix_manifest: bool = False) -> bytes:
    """A zip of these members; with fix_manifest, the manifest's sizes and sums made to match."""
    if fix_manifest:
        manifest = json.loads(members["manifest.json"])
        for entry in manifest["files"]:
            content = members[entry["path"]]
            entry["size"], entry["sha256"] = len(content), hashlib.sha256(content).hexdigest()
        members = {**members, "manifest.json": json.dumps(manifest).encode()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()
