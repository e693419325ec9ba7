"""KNOWLEDGE_URL: a WebDAV folder (Nextcloud, Synology, ownCloud) kept indexed, incrementally.

    ShareSync.sync()        one round (blocking): list the share, download only what is new or
                            whose ETag / modification time changed, drop what vanished, index
    ShareSync.due()         the tick's job: a round every KNOWLEDGE_POLL, in a worker thread;
                            a failure is one sentence for the owner, told once until a round works

The share is mirrored into ``DATA_DIR/knowledge-share`` and that folder is indexed like
KNOWLEDGE_DIR (same size and type limits, same sandboxed parser). A round is all or nothing:
downloads land in a hidden staging folder and replace the mirror only when every one of them
arrived, so a share that goes away mid-round leaves the mirror and the index as they were.
The tags of the files mirrored are kept in ``.tags.json`` beside them: nothing is downloaded
twice, across restarts too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from webdav4.client import Client

from bot.config import Settings
from bot.errors import MicrodeskError
from bot.services.knowledge.ingest import IngestReport
from bot.services.knowledge.service import KnowledgeService
from bot.services.webdav import WebDAVErrors

log = logging.getLogger(__name__)
MIRROR = "knowledge-share"
TAGS = ".tags.json"
STAGING = ".incoming"
TIMEOUT = 30.0
_LOGINS = "KNOWLEDGE_USERNAME / KNOWLEDGE_PASSWORD"


class ShareError(MicrodeskError):
    """KNOWLEDGE_URL could not be read (down, wrong password, gone mid-round)."""


@dataclass(frozen=True)
class SyncResult:
    downloaded: int
    removed: int
    report: IngestReport


class ShareSync:
    def __init__(self, settings: Settings, knowledge: KnowledgeService | None) -> None:
        """`knowledge` None: only :meth:`probe` (doctor lists the share, indexes nothing)."""
        assert settings.KNOWLEDGE_URL is not None
        parts = urlsplit(settings.KNOWLEDGE_URL)
        host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self.url = f"{parts.scheme}://{host}{parts.path}".rstrip("/")
        user = settings.KNOWLEDGE_USERNAME or unquote(parts.username or "")
        secret = settings.KNOWLEDGE_PASSWORD
        password = secret.get_secret_value() if secret else unquote(parts.password or "")
        auth = (user, password) if user or password else None
        self._client = Client(self.url + "/", auth=auth, retry=False, timeout=TIMEOUT)
        self.mirror = settings.DATA_DIR / MIRROR
        self.every = settings.knowledge_poll_seconds
        self._knowledge = knowledge
        self.next_round = 0.0
        self._told = False

    # --- one round -----------------------------------------------------------------------------

    def sync(self) -> SyncResult:
        """List, download what changed, replace the mirror, index it (see the module doc)."""
        listing = self._list()
        tags = self._tags()
        changed = [p for p, tag in listing.items() if tags.get(p) != tag or not self._has(p)]
        staging = self.mirror / STAGING
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for path in changed:
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                with self._errors():
                    self._client.download_file(path, target)
            removed = self._apply(staging, listing, changed)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        assert self._knowledge is not None, "a share built for probe() only"
        report = self._knowledge.ingest_dir(self.mirror)
        log.info("knowledge share: %d downloaded, %d removed", len(changed), removed)
        return SyncResult(len(changed), removed, report)

    def _apply(self, staging: Path, listing: dict[str, str], changed: list[str]) -> int:
        for path in changed:
            (self.mirror / path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, self.mirror / path)
        removed = 0
        for path in set(self._tags()) - set(listing):
            (self.mirror / path).unlink(missing_ok=True)
            removed += 1
        (self.mirror / TAGS).write_text(json.dumps(listing, sort_keys=True))
        return removed

    def _list(self) -> dict[str, str]:
        """Every file under the share: relative path -> ETag (or modification time and size)."""
        found: dict[str, str] = {}
        folders = [""]
        while folders:
            folder = folders.pop()
            with self._errors():
                entries = self._client.ls(folder, detail=True)
            for entry in entries:
                if not isinstance(entry, dict):
                    continue
                path = self._relative(str(entry["name"]))
                if not path or any(part.startswith(".") for part in PurePosixPath(path).parts):
                    continue
                if entry.get("type") == "directory":
                    folders.append(path)
                else:
                    found[path] = _tag(entry)
        return found

    @staticmethod
    def _relative(name: str) -> str:
        """webdav4 names entries relative to the share's URL; refuse anything climbing out."""
        parts = PurePosixPath(name.strip("/")).parts
        return "" if ".." in parts else "/".join(parts)

    def _tags(self) -> dict[str, str]:
        try:
            loaded: Any = json.loads((self.mirror / TAGS).read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    def _has(self, path: str) -> bool:
        return (self.mirror / path).is_file()

    def _errors(self) -> WebDAVErrors:
        subject = f"The document share {self.url} (KNOWLEDGE_URL)"
        return WebDAVErrors(ShareError, subject, _LOGINS, "could not be read")

    def probe(self) -> int:
        """How many files the share holds (doctor: reachable and signed in)."""
        return len(self._list())

    # --- the tick's job ------------------------------------------------------------------------

    async def due(self) -> str | None:
        """A round when KNOWLEDGE_POLL has passed; what to tell the owner (once) if it failed."""
        if time.monotonic() < self.next_round:
            return None
        self.next_round = time.monotonic() + self.every
        try:
            await asyncio.to_thread(self.sync)
        except ShareError as exc:  # logged where it was raised (bot.services.webdav)
            if self._told:
                return None
            self._told = True
            return f"⚠️ {exc} Your documents stay as they were; I will try again."
        self._told = False
        return None


def _tag(entry: dict[str, Any]) -> str:
    etag = entry.get("etag")
    if etag:
        return str(etag)
    return f"{entry.get('modified')}|{entry.get('content_length')}"
