"""Where scheduled backups go: a folder (a mounted NAS share) or a WebDAV folder (BACKUP_TARGET).

    target_of(settings) -> Target     the folder of BACKUP_TARGET, or DATA_DIR/backups unset
    Target.put(file, name)            written as `name.partial`, renamed to `name` when complete:
                                      a write cut short (disk full, share gone) leaves no `name`
    Target.names() / get / delete     the files there; `.partial` leftovers are swept by rotation

Errors reaching the target become :class:`TargetError`, one sentence naming BACKUP_TARGET (the
URL shown without its credentials); the library's own message goes to the log only.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from webdav4.client import Client

from bot.config import Settings
from bot.errors import MicrodeskError
from bot.services.backup.archive import fsync_dir, fsync_file
from bot.services.webdav import WebDAVErrors

log = logging.getLogger(__name__)
PARTIAL = ".partial"
WRITE = "could not take the backup file (is the disk full, or the share not mounted?)"
TIMEOUT = 30.0


class TargetError(MicrodeskError):
    """The backup target could not be reached, refused us, or could not take the file."""


class Target(Protocol):
    off_box: bool  # not DATA_DIR/backups: a copy that survives this machine's disk

    def describe(self) -> str: ...

    def put(self, source: Path, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def get(self, name: str, dest: Path) -> None: ...

    def delete(self, name: str) -> None: ...


def public_url(url: str) -> str:
    """The URL without user name and password (safe to show and log)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def target_of(settings: Settings) -> Target:
    """The configured target; DATA_DIR/backups (on the box) when BACKUP_TARGET is unset."""
    where = settings.BACKUP_TARGET
    if where is None:
        return FolderTarget(settings.DATA_DIR / "backups", off_box=False)
    if "://" not in where:
        return FolderTarget(Path(where).expanduser(), off_box=True)
    parts = urlsplit(where)
    user = settings.BACKUP_USERNAME or parts.username or ""
    secret = settings.BACKUP_PASSWORD.get_secret_value() if settings.BACKUP_PASSWORD else None
    password = secret or parts.password or ""
    return WebDAVTarget(public_url(where), user, password)


class FolderTarget:
    """A local folder, or a NAS share mounted on this machine."""

    def __init__(self, folder: Path, *, off_box: bool) -> None:
        self.folder = folder
        self.off_box = off_box

    def describe(self) -> str:
        return str(self.folder)

    def put(self, source: Path, name: str) -> None:
        partial = self.folder / (name + PARTIAL)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, partial)
            fsync_file(partial)
            os.replace(partial, self.folder / name)
            fsync_dir(self.folder)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise self._error(exc, WRITE) from exc

    def names(self) -> list[str]:
        try:
            return sorted(p.name for p in self.folder.iterdir() if p.is_file())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._error(exc, WRITE) from exc

    def get(self, name: str, dest: Path) -> None:
        try:
            shutil.copyfile(self.folder / name, dest)
        except OSError as exc:
            raise self._error(exc, f"has no readable {name}") from exc

    def delete(self, name: str) -> None:
        try:
            (self.folder / name).unlink(missing_ok=True)
        except OSError as exc:
            raise self._error(exc, f"would not let me delete {name}") from exc

    def _error(self, exc: OSError, what: str) -> TargetError:
        log.warning("backup folder: %s", type(exc).__name__)
        setting = " (BACKUP_TARGET)" if self.off_box else ""
        return TargetError(f"The backup folder {self.folder}{setting} {what}.")


class WebDAVTarget:
    """A WebDAV folder (Nextcloud, Synology, ownCloud), through webdav4."""

    off_box = True

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        auth = (username, password) if username or password else None
        self._client = Client(self.url + "/", auth=auth, retry=False, timeout=TIMEOUT)

    def describe(self) -> str:
        return self.url

    def put(self, source: Path, name: str) -> None:
        partial = name + PARTIAL
        with self._errors("could not take the file"):
            self._client.upload_file(source, partial, overwrite=True)
            self._client.move(partial, name, overwrite=True)

    def names(self) -> list[str]:
        with self._errors("cannot be listed"):
            entries = self._client.ls("", detail=True)
        found = []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("type") == "file":
                found.append(str(entry["name"]).rstrip("/").rsplit("/", 1)[-1])
        return sorted(found)

    def get(self, name: str, dest: Path) -> None:
        with self._errors(f"has no readable {name}"):
            self._client.download_file(name, dest)

    def delete(self, name: str) -> None:
        with self._errors(f"would not let me delete {name}"):
            self._client.remove(name)

    def _errors(self, what: str) -> WebDAVErrors:
        subject = f"The backup target {self.url} (BACKUP_TARGET)"
        return WebDAVErrors(TargetError, subject, "BACKUP_USERNAME / BACKUP_PASSWORD", what)
