"""KNOWLEDGE_URL at scale: a real WebDAV share (wsgidav on 127.0.0.1) of 1,000 small documents
polled into the index, then 10 of them changed: only those 10 are downloaded and re-indexed.

``.venv/bin/python -m bench --only share``
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import Row, verdict
from bot.app import build_services
from bot.clock import FrozenClock
from tests.conftest import START, make_settings
from tests.webdav_server import webdav_server

ROUND_S = 5.0  # the incremental round over 1,000 files, 10 changed


@dataclass(frozen=True)
class ShareScale:
    files: int
    changed: int
    first_s: float
    first_gets: int
    again_s: float
    again_gets: int
    reindexed: int


def run(files: int = 1_000, changed: int = 10) -> ShareScale:
    with tempfile.TemporaryDirectory(prefix="microdesk-bench-share-") as tmp:
        root = Path(tmp) / "share"
        root.mkdir()
        for n in range(files):
            (root / f"doc-{n:04d}.md").write_text(f"# Doc {n}\n\nRoom {n} opens at {n % 24}h.\n")
        with webdav_server(root, password="pw") as server:
            settings = make_settings(
                Path(tmp) / "data",
                KNOWLEDGE_URL=server.url,
                KNOWLEDGE_USERNAME="owner",
                KNOWLEDGE_PASSWORD="pw",
            )
            services = build_services(settings, FrozenClock(START))
            assert services.share is not None
            started = time.perf_counter()
            services.share.sync()
            first_s, first_gets = time.perf_counter() - started, len(server.gets)
            for n in range(0, files, files // changed):
                (root / f"doc-{n:04d}.md").write_text(f"# Doc {n}\n\nRoom {n} moved.\n")
            server.gets.clear()
            started = time.perf_counter()
            result = services.share.sync()
            again_s = time.perf_counter() - started
            services.close()
    return ShareScale(
        files, changed, first_s, first_gets, again_s, len(server.gets),
        len(result.report.named("indexed")),
    )  # fmt: skip


def rows(s: ShareScale) -> list[Row]:
    section = f"Document share (WebDAV): {s.files:,} files, then {s.changed} changed"
    return [
        Row(section, "first round: files downloaded, seconds",
            f"{s.first_gets:,} in {s.first_s:.1f} s"),
        Row(section, "next round: files downloaded / re-indexed", f"{s.again_gets} / {s.reindexed}",
            f"= {s.changed}", "", verdict(s.again_gets == s.changed == s.reindexed)),
        Row(section, "next round: seconds", f"{s.again_s:.2f} s", f"≤ {ROUND_S:g} s",
            f"{s.again_s / ROUND_S:.2f}×", verdict(s.again_s <= ROUND_S)),
    ]  # fmt: skip
