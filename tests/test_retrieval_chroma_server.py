"""The same retrieval checks through a real Chroma server (HttpClient) on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import ServiceUnavailableError
from bot.retrieval.index import ChromaIndex, open_index
from bot.retrieval.sandbox import SandboxParser
from tests.retrieval_helpers import check_sample_answers, copy_samples, embedder, make_service

START_TIMEOUT = 30.0  # it starts in about 3 s on 2 cores, offline


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists() and shutil.which("chroma") is None:
        pytest.skip("the chroma command is not installed next to this Python")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("wb")
    server = subprocess.Popen(
        [str(chroma if chroma.exists() else "chroma"), "run", "--path", str(data / "db"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _alive(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"the Chroma server did not start: see {data / 'server.log'}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _alive(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
            return True
    except OSError:
        return False


def test_retrieval_through_a_chroma_server(tmp_path: Path, chroma_port: int) -> None:
    index = open_index(tmp_path, embedder().name, host="127.0.0.1", port=chroma_port)
    assert isinstance(index, ChromaIndex)
    copy_samples(tmp_path / "knowledge")
    parser = SandboxParser()
    try:
        service = make_service(tmp_path, index, parser)
        report = service.ingest_dir()
        assert len(report.named("indexed")) == 5
        check_sample_answers(service)
        assert not (tmp_path / "index").exists()  # nothing embedded on disk: it is the server's
        stats = service.stats()
        assert stats.vectors == stats.chunks

        # a new server-side collection is empty: the service rebuilds it from SQLite
        index.reset()
        fresh = make_service(
            tmp_path, open_index(tmp_path, embedder().name, "127.0.0.1", chroma_port)
        )
        check_sample_answers(fresh)
    finally:
        parser.close()


def test_an_unreachable_server_is_one_clear_sentence(tmp_path: Path) -> None:
    index = open_index(tmp_path, embedder().name, host="127.0.0.1", port=free_port())
    with pytest.raises(ServiceUnavailableError, match="not reachable"):
        index.count()
