"""The backup file format: one zip archive with a manifest, written atomically, read with checks.

    microdesk-20261125-100000.zip
      manifest.json        {"format": "microdesk-backup", "format_version": 1, "created_at",
                            "app_version", "schema_revision", "index",
                            "files": [{"path", "size", "sha256"}, ...]}
      microdesk.db         the SQLite database, one self-contained file
      microdesk.pgdump     or: a PostgreSQL database, ``pg_dump -Fc`` (the manifest then also
                           says "engine": "postgresql" and the "rows" of every table)
      index/...            the embedded vector index, when there was one

The manifest holds no setting values (no connection string, no password). Reading checks,
before anything is written outside the staging folder: the archive opens, the manifest is
ours, the members are exactly the listed files under safe names, and every file has its listed
size and sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from bot.crashpoints import crash_point
from bot.errors import UserInputError

FORMAT = "microdesk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_NAME = "microdesk.db"
PG_DUMP = "microdesk.pgdump"
SQLITE, POSTGRES = "sqlite", "postgresql"
DATABASE_MEMBER = {SQLITE: DB_NAME, POSTGRES: PG_DUMP}
INDEX_DIR = "index"
CHUNK = 1 << 20
MAX_MANIFEST = 1 << 20

NOT_A_BACKUP = "This file is not a microdesk backup."
UNREADABLE = "This backup cannot be read: the file is damaged or incomplete."
DAMAGED = "This backup is damaged: {name} does not match its checksum."

Progress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, label: str) -> None:
    """The default progress hook: ignore."""


@dataclass(frozen=True)
class Entry:
    path: str  # inside the archive, '/'-separated
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: datetime
    app_version: str
    schema_revision: str
    index: str  # "included" | "none" | "server"
    files: tuple[Entry, ...]
    engine: str = SQLITE  # which database the backup holds: DATABASE_MEMBER's keys
    rows: dict[str, int] | None = None  # PostgreSQL: rows per table when dumped

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBER[self.engine]

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at.isoformat(),
            "app_version": self.app_version,
            "schema_revision": self.schema_revision,
            "index": self.index,
            "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in self.files],
        }
        if self.engine != SQLITE:  # a SQLite manifest stays as older versions wrote it
            body["engine"] = self.engine
            body["rows"] = self.rows or {}
        return json.dumps(body, indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse and validate; a manifest that is not ours is refused."""
        try:
            body = json.loads(raw)
            if body["format"] != FORMAT or body["format_version"] != FORMAT_VERSION:
                raise UserInputError(NOT_A_BACKUP)
            files = tuple(_entry(item) for item in body["files"])
            engine = str(body.get("engine", SQLITE))
            rows = body.get("rows")
            if engine not in DATABASE_MEMBER or not _counts(rows):
                raise UserInputError(NOT_A_BACKUP)
            manifest = cls(
                created_at=datetime.fromisoformat(body["created_at"]),
                app_version=str(body["app_version"]),
                schema_revision=str(body["schema_revision"]),
                index=str(body["index"]),
                files=files,
                engine=engine,
                rows=rows,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UserInputError(NOT_A_BACKUP) from exc
        if manifest.database_member not in {e.path for e in files}:
            raise UserInputError(NOT_A_BACKUP)
        return manifest


def _counts(rows: Any) -> bool:
    """No row counts, or a mapping of table names to counts."""
    if rows is None:
        return True
    return isinstance(rows, dict) and all(
        isinstance(k, str) and isinstance(v, int) for k, v in rows.items()
    )


def _entry(item: Any) -> Entry:
    path, size, digest = item["path"], item["size"], item["sha256"]
    if not isinstance(path, str) or not safe_member(path):
        raise ValueError("unsafe member name")
    if not isinstance(size, int) or size < 0 or not isinstance(digest, str) or len(digest) != 64:
        raise ValueError("bad size or checksum")
    return Entry(path, size, digest)


def safe_member(path: str) -> bool:
    """The database (file or dump), or a file under index/: relative, no '..', no secrets file."""
    if "\\" in path or "\0" in path:
        return False
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts or "." in parts:
        return False
    if any(part.startswith(".env") for part in parts):
        return False
    return parts in ((DB_NAME,), (PG_DUMP,)) or (parts[0] == INDEX_DIR and len(parts) > 1)


# --- writing ---------------------------------------------------------------------------------


def staged_files(staging: Path) -> list[tuple[str, Path]]:
    """(archive name, file) for every regular file under the staging folder, sorted."""
    found = []
    for path in sorted(staging.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found.append((path.relative_to(staging).as_posix(), path))
    return found


def write_archive(
    staging: Path, dest: Path, header: Manifest, progress: Progress = no_progress
) -> Manifest:
    """Pack the staging folder into `dest` (written as .partial, then renamed into place)."""
    files = staged_files(staging)
    total = sum(path.stat().st_size for _, path in files)
    partial = dest.with_name(dest.name + ".partial")
    done = 0
    entries: list[Entry] = []
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for name, path in files:
                entry = _add(archive, name, path, _offset(progress, done, total, name))
                entries.append(entry)
                done += entry.size
                crash_point("mid_backup")  # a member written, the archive not complete
            manifest = replace(header, files=tuple(entries))
            archive.writestr(MANIFEST, manifest.to_json())
        fsync_file(partial)
        os.replace(partial, dest)
        fsync_dir(dest.parent)
    finally:
        partial.unlink(missing_ok=True)
    progress(total, total, "written")
    return manifest


def _offset(progress: Progress, done: int, total: int, label: str) -> Callable[[int], None]:
    """Progress within one file, reported as progress over all of them."""

    def report(n: int) -> None:
        progress(done + n, total, label)

    return report


def _add(archive: zipfile.ZipFile, name: str, path: Path, progress: Callable[[int], None]) -> Entry:
    digest, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = zipfile.ZIP_DEFLATED
    big = path.stat().st_size > (1 << 31)
    with path.open("rb") as source, archive.open(info, "w", force_zip64=big) as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            size += len(chunk)
            progress(size)
    return Entry(name, size, digest.hexdigest())


# --- reading ---------------------------------------------------------------------------------


def unpack(archive_path: Path, into: Path, progress: Progress = no_progress) -> Manifest:
    """Check `archive_path` and extract its files under `into`; refuse anything not intact."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise UserInputError(UNREADABLE) from exc
    except OSError as exc:
        raise UserInputError("This backup file cannot be opened.") from exc
    with archive:
        manifest = read_manifest(archive)
        total = sum(e.size for e in manifest.files)
        done = 0
        for entry in manifest.files:
            _extract(archive, entry, into, _offset(progress, done, total, entry.path))
            done += entry.size
    return manifest


def read_manifest(archive: zipfile.ZipFile) -> Manifest:
    """The manifest, checked against the archive's member list."""
    names = archive.namelist()
    if MANIFEST not in names:
        raise UserInputError(NOT_A_BACKUP)
    info = archive.getinfo(MANIFEST)
    if info.file_size > MAX_MANIFEST:
        raise UserInputError(NOT_A_BACKUP)
    manifest = Manifest.from_json(_read_member(archive, MANIFEST))
    listed = [e.path for e in manifest.files]
    if sorted(names) != sorted([MANIFEST, *listed]) or len(set(listed)) != len(listed):
        raise UserInputError(NOT_A_BACKUP)
    for entry in manifest.files:
        if archive.getinfo(entry.path).file_size != entry.size:
            raise UserInputError(DAMAGED.format(name=entry.path))
    return manifest


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise UserInputError(UNREADABLE) from exc


def _extract(
    archive: zipfile.ZipFile, entry: Entry, into: Path, progress: Callable[[int], None]
) -> None:
    target = into.joinpath(*PurePosixPath(entry.path).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(entry.path) as source, target.open("wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > entry.size:
                    raise UserInputError(DAMAGED.format(name=entry.path))
                digest.update(chunk)
                out.write(chunk)
                progress(size)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UserInputError(UNREADABLE) from exc
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise UserInputError(DAMAGED.format(name=entry.path))


# --- durability ------------------------------------------------------------------------------


def fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
