"""KNOWLEDGE_DIR watched with watchfiles: a real temp folder, the real index; files added,
changed, renamed and deleted while the watch runs reach the index without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.retrieval.index import ChromaIndex
from bot.retrieval.sandbox import SandboxParser
from bot.services.knowledge.service import KnowledgeService
from bot.services.knowledge.watch import watch_folder
from tests.retrieval_helpers import embedder, make_service


@pytest.fixture(scope="module")
def parser() -> Iterator[SandboxParser]:
    sandbox = SandboxParser()
    yield sandbox
    sandbox.close()


@pytest.fixture
async def watched(tmp_path: Path, parser: SandboxParser) -> AsyncIterator[KnowledgeService]:
    (tmp_path / "knowledge").mkdir()
    index = ChromaIndex.persistent(tmp_path / "index", embedder().name)
    service = make_service(tmp_path, index, parser)
    watch = asyncio.create_task(watch_folder(service, tmp_path / "knowledge"))
    await asyncio.sleep(0.5)  # the notifier is set up in its thread
    yield service
    watch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watch
    service.close()


async def until(found: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for the watch to have done its work (fails after `seconds`)."""
    for _ in range(int(seconds / 0.2)):
        if found():
            return
        await asyncio.sleep(0.2)
    pytest.fail("the index did not follow the folder")


def names(service: KnowledgeService) -> set[str]:
    return {d.name for d in service.list_documents() if d.status == "indexed"}


def answer(service: KnowledgeService, query: str) -> str:
    return " ".join(p.text for p in service.search(query, k=3))


async def test_added_changed_renamed_and_deleted_files_follow_the_folder(
    tmp_path: Path, watched: KnowledgeService
) -> None:
    folder = tmp_path / "knowledge"
    (folder / "gate.md").write_text("# Gate\n\nThe studio gate code is 4711.\n")
    await until(lambda: names(watched) == {"gate.md"})
    assert "4711" in answer(watched, "studio gate code")

    (folder / "gate.md").write_text("# Gate\n\nThe studio gate code is 9988 since June.\n")
    await until(lambda: "9988" in answer(watched, "studio gate code"))
    assert "4711" not in answer(watched, "studio gate code")

    (folder / "gate.md").rename(folder / "access.md")
    await until(lambda: names(watched) == {"access.md"})
    assert {d.name for d in watched.list_documents()} == {"access.md"}  # the old name is gone

    (folder / "access.md").unlink()
    await until(lambda: watched.list_documents() == [])
    assert "9988" not in answer(watched, "studio gate code")


async def test_an_absent_folder_is_not_watched(tmp_path: Path, parser: SandboxParser) -> None:
    index = ChromaIndex.persistent(tmp_path / "index", embedder().name)
    service = make_service(tmp_path, index, parser)
    async with asyncio.timeout(5):
        await watch_folder(service, tmp_path / "no-such-folder")  # returns at once
    service.close()
