"""The knowledge service over real SQLite, real chromadb and the real embedder."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from sqlalchemy import func, select

from bot.db.knowledge import Chunk, Document
from bot.errors import UserInputError
from bot.retrieval.embedding import OnnxEmbedder, minilm_int8
from bot.retrieval.index import ChromaIndex
from bot.retrieval.sandbox import SandboxParser
from bot.services.knowledge.ingest import clean_name
from bot.services.knowledge.service import KnowledgeService, citation
from tests.retrieval_helpers import (
    SAMPLES,
    binary_junk,
    check_sample_answers,
    copy_samples,
    embedder,
    encrypted_pdf,
    inflating_pdf,
    make_service,
    truncated_pdf,
    zip_bomb_docx,
)


@pytest.fixture(scope="module")
def parser() -> Iterator[SandboxParser]:
    sandbox = SandboxParser()
    yield sandbox
    sandbox.close()


def persistent(tmp: Path) -> ChromaIndex:
    return ChromaIndex.persistent(tmp / "index", embedder().name)


@pytest.fixture
def service(tmp_path: Path, parser: SandboxParser) -> KnowledgeService:
    copy_samples(tmp_path / "knowledge")
    return make_service(tmp_path, persistent(tmp_path), parser)


def stored_chunks(service: KnowledgeService) -> int:
    with service._sessions() as session:
        return session.scalar(select(func.count(Chunk.id))) or 0


def test_ingest_indexes_the_samples_and_answers_with_sources(service: KnowledgeService) -> None:
    report = service.ingest_dir()
    assert sorted(r.name for r in report.named("indexed")) == sorted(
        p.name for p in SAMPLES.iterdir()
    )
    check_sample_answers(service)
    stats = service.stats()
    assert stats.documents == 5 and stats.chunks == stats.vectors == stored_chunks(service) > 20


def test_ingest_is_incremental(service: KnowledgeService, tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    service.ingest_dir()
    again = service.ingest_dir()
    assert len(again.named("unchanged")) == 5 and not again.named("indexed")
    with service._sessions() as session:
        assert session.scalar(select(func.count(Document.id))) == 5

    faq = folder / "client-faq.md"
    faq.write_text(faq.read_text().replace("two rounds of revisions", "three rounds of revisions"))
    (folder / "contractors.csv").unlink()
    changed = service.ingest_dir()
    assert [r.name for r in changed.named("indexed")] == ["client-faq.md"]
    assert [r.name for r in changed.named("removed")] == ["contractors.csv"]
    assert service.stats().vectors == stored_chunks(service)  # old vectors dropped
    top = service.search("How many revision rounds are included?", k=1)[0]
    assert "three rounds of revisions" in top.text
    hits = service.search("Which photographer do I work with?", k=10)
    assert all(p.document != "contractors.csv" for p in hits)


def test_hostile_files_fail_cleanly_and_the_batch_goes_on(
    service: KnowledgeService, tmp_path: Path
) -> None:
    folder = tmp_path / "knowledge"
    hostile = {
        "locked.pdf": encrypted_pdf(),
        "cut.pdf": truncated_pdf(),
        "bomb.pdf": inflating_pdf(1024),  # 1 GB once inflated
        "bomb.docx": zip_bomb_docx(30),
        "junk.txt": binary_junk(),
        "photo.jpg": b"\xff\xd8\xff",
    }
    for name, data in hostile.items():
        (folder / name).write_bytes(data)
    with (folder / "huge.md").open("wb") as huge:
        huge.truncate(21 * 1024 * 1024)  # sparse: refused by size before it is read
    report = service.ingest_dir()
    failed = {r.name: r.reason for r in report.named("failed")}
    assert set(failed) == {"locked.pdf", "cut.pdf", "bomb.pdf", "bomb.docx", "junk.txt", "huge.md"}
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert "I index files up to 20 MB" in (failed["huge.md"] or "")
    assert [r.name for r in report.named("skipped")] == ["photo.jpg"]
    assert len(report.named("indexed")) == 5
    statuses = {d.name: d.status for d in service.list_documents()}
    assert statuses["locked.pdf"] == "failed" and statuses["price-list.pdf"] == "indexed"
    check_sample_answers(service)


def test_an_upload_is_indexed_then_cited_and_replaced(service: KnowledgeService) -> None:
    seen: list[tuple[int, int, str]] = []
    note = b"# Studio notes\n\n## Parking\n\nClients park in the yard behind the bakery, "
    note += b"gate code 4711."
    result = service.ingest_file("../../notes.md", note, lambda *a: seen.append(a))
    assert (result.name, result.status, result.chunks) == ("notes.md", "indexed", 1)
    assert seen[-1] == (1, 1, "indexing")
    top = service.search("where can clients park their car?", k=1)[0]
    assert top.source == "notes.md › Studio notes › Parking" and "4711" in top.text

    assert service.ingest_file("notes.md", note).status == "unchanged"
    newer = note.replace(b"4711", b"0815")
    assert service.ingest_file("notes.md", newer).status == "indexed"
    assert "0815" in service.search("gate code for parking", k=1)[0].text
    assert service.stats().vectors == stored_chunks(service) == 1

    junk = service.ingest_file("junk.txt", binary_junk())
    assert (
        junk.status == "failed"
        and junk.reason == "The file is named as text but holds binary data."
    )
    docs = {d.name: (d.source, d.status) for d in service.list_documents()}
    assert docs == {"notes.md": ("upload", "indexed"), "junk.txt": ("upload", "failed")}


def test_the_index_rebuilds_from_sqlite(service: KnowledgeService, tmp_path: Path) -> None:
    service.ingest_dir()
    before = [p.source for p in service.search("Is there a surcharge for urgent delivery?")]
    assert service.rebuild_index() == stored_chunks(service)
    assert [p.source for p in service.search("Is there a surcharge for urgent delivery?")] == before

    shutil.rmtree(tmp_path / "index")  # the index is lost: a new service rebuilds it on first use
    SharedSystemClient.clear_system_cache()  # as in a new process: chromadb caches one per path
    fresh = make_service(tmp_path, persistent(tmp_path), SandboxParser())
    assert [p.source for p in fresh.search("Is there a surcharge for urgent delivery?")] == before
    assert fresh.stats().vectors == stored_chunks(fresh)


def test_a_restarted_service_searches_without_reingesting(
    service: KnowledgeService, tmp_path: Path, parser: SandboxParser
) -> None:
    service.ingest_dir()
    restarted = make_service(tmp_path, persistent(tmp_path), parser)
    assert restarted._lexical is None  # nothing built at construction
    restarted.warm_up()
    assert restarted._lexical is not None and len(restarted._lexical) == restarted.stats().chunks
    check_sample_answers(restarted)
    assert restarted.ingest_dir().named("unchanged")


def test_a_one_shot_ask_searches_the_prepared_vectors_without_starting_the_index(
    service: KnowledgeService, tmp_path: Path, parser: SandboxParser
) -> None:
    models = tmp_path / "models"
    first = make_service(tmp_path, persistent(tmp_path), parser, prepared=models)
    first.ingest_dir()
    question = "Is there a surcharge for urgent delivery?"
    expected = [(p.source, round(p.score, 4)) for p in first.search(question)]
    [prepared] = models.glob("vectors-*.npz")

    index = persistent(tmp_path)
    asking = make_service(tmp_path, index, parser, prepared=models)
    assert asking.ingest_dir().named("unchanged")
    assert [(p.source, round(p.score, 4)) for p in asking.search(question)] == expected
    check_sample_answers(asking)
    assert index._client is None  # chromadb never started

    (tmp_path / "knowledge" / "rates.md").write_text("# Rates\n\nNight shifts cost 90 EUR an hour.")
    asking.ingest_dir()  # a change: the index itself is checked, written, and copied again
    assert index._client is not None and not prepared.exists()
    assert len(list(models.glob("vectors-*.npz"))) == 1
    assert asking.search("What do night shifts cost?")[0].document == "rates.md"
    fresh = make_service(tmp_path, persistent(tmp_path), parser, prepared=models)
    assert fresh.search("What do night shifts cost?")[0].document == "rates.md"


def test_a_restart_repairs_vectors_a_crash_left_behind(
    service: KnowledgeService, tmp_path: Path, parser: SandboxParser
) -> None:
    service.ingest_dir()
    index = persistent(tmp_path)
    stored = sorted(index.ids())
    orphan = stored[-1] + 1000  # a vector of a chunk whose transaction never committed
    index.upsert([orphan], embedder().embed(["a rolled-back chunk"]))
    index.delete([stored[0]])  # a chunk that lost its vector
    restarted = make_service(tmp_path, persistent(tmp_path), parser)
    assert restarted.index_drift() == ({orphan}, {stored[0]})
    check_sample_answers(restarted)  # the first use repairs the index
    assert restarted.index_drift() == (set(), set())
    assert sorted(persistent(tmp_path).ids()) == stored


async def test_async_wrappers_run_off_the_loop_and_report_progress_on_it(
    service: KnowledgeService,
) -> None:
    loop_thread = threading.get_ident()
    calls: list[tuple[int, int, str, bool]] = []

    def progress(done: int, total: int, label: str) -> None:
        calls.append((done, total, label, threading.get_ident() == loop_thread))

    report = await service.aingest_dir(progress=progress)
    await asyncio.sleep(0)  # let the last relayed callback run
    assert len(report.named("indexed")) == 5
    assert [c[:2] for c in calls] == [(i, 5) for i in range(1, 6)] and all(c[3] for c in calls)
    passages = await service.asearch("What does a logo cost?", k=2)
    assert passages[0].source == "price-list.pdf p. 2"
    assert (await service.aingest_file("x.md", b"# X\n\nhello")).status == "indexed"
    assert len(await service.alist_documents()) == 6


def test_search_edges(service: KnowledgeService) -> None:
    assert service.search("anything at all") == []  # nothing indexed yet
    with pytest.raises(UserInputError):
        service.search("   ")
    service.ingest_file("faq.md", (SAMPLES / "client-faq.md").read_bytes())
    passages = service.search("refund " * 500, k=2)  # a huge query is cut, not refused
    assert len(passages) == 2 and all(p.score > 0 for p in passages)


def test_missing_folder_is_a_clear_error(tmp_path: Path, parser: SandboxParser) -> None:
    service = make_service(tmp_path, persistent(tmp_path), parser)
    with pytest.raises(UserInputError, match="no folder"):
        service.ingest_dir(tmp_path / "nope")


def test_names_and_citations() -> None:
    assert clean_name("C:\\Users\\me\\.hidden\x07.pdf") == "hidden.pdf"
    assert clean_name("") == "upload"
    assert citation("price-list.pdf", 3, None) == "price-list.pdf p. 3"
    assert citation("faq.md", None, "FAQ › Refunds") == "faq.md › FAQ › Refunds"


def test_the_embedder_is_lazy_and_batches_match_single_texts() -> None:
    lazy = OnnxEmbedder(minilm_int8())
    assert lazy._session is None and lazy.dim == 384  # nothing loaded to know its shape
    model = embedder()
    texts = ["short", "a much longer text about refunds and deposits " * 10, "medium length text"]
    batch = model.embed(texts)
    singles = [model.embed([t])[0] for t in texts]
    for row, single in zip(batch, singles, strict=True):
        assert abs(float(row @ single) - 1.0) < 1e-4  # per-batch padding changes nothing
    assert abs(float(batch[0] @ batch[0]) - 1.0) < 1e-5


def test_close_stops_a_folder_run_after_its_file_and_waits_for_it(
    service: KnowledgeService,
) -> None:
    closer: list[threading.Thread] = []

    def progress(done: int, total: int, label: str) -> None:
        if done == 1:  # the bot is stopping while the folder is read
            closer.append(threading.Thread(target=service.close))
            closer[0].start()
            assert service._ingest.stopping.wait(5)

    report = service.ingest_dir(progress=progress)
    closer[0].join(5)
    assert not closer[0].is_alive()  # close() went on once the run had let go
    assert len(report.results) == 1  # of 5 files: the rest waits for the next start
    assert stored_chunks(service) > 0
