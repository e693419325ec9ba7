"""KNOWLEDGE_DIR kept indexed while microdesk runs: watchfiles reports changes in the folder
(a local path or a mounted NAS share), and each batch of them re-reads the folder incrementally.

    watch_folder(knowledge, folder, stop=None)   until cancelled (or `stop` is set)

A new or changed file is indexed; a deleted or renamed one leaves the index (the incremental
:meth:`KnowledgeService.ingest_dir` compares each file's sha256 and drops documents whose file is
gone). The watcher waits in a thread of its own (watchfiles' Rust notifier) and the re-reading
runs in a worker thread (`aingest_dir`), so reminders on the event loop never wait for either.
A failed round is logged and the watch goes on.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from watchfiles import awatch

from bot.services.knowledge.service import KnowledgeService

log = logging.getLogger(__name__)
DEBOUNCE_MS = 800  # a copy of many files at once is one round, not one per file
POLL_MS = 1000  # on shares where change events do not arrive (force_polling)


async def watch_folder(
    knowledge: KnowledgeService,
    folder: Path,
    stop: asyncio.Event | None = None,
    *,
    force_polling: bool | None = None,
) -> None:
    """Re-read `folder` into the index after each batch of changes in it."""
    if not await asyncio.to_thread(folder.is_dir):
        log.info("knowledge folder absent: not watched")
        return
    changes = awatch(
        folder,
        stop_event=stop,
        debounce=DEBOUNCE_MS,
        recursive=True,
        force_polling=force_polling,
        poll_delay_ms=POLL_MS,
        ignore_permission_denied=True,
    )
    async for batch in changes:
        log.info("knowledge folder: %d change(s)", len(batch))
        try:
            report = await knowledge.aingest_dir(folder)
        except Exception:
            log.exception("re-reading the knowledge folder failed; watching on")
            continue
        log.info("knowledge folder re-read: %s", report.summary)
