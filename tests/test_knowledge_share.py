"""KNOWLEDGE_URL: a real WebDAV share (wsgidav at a free port on 127.0.0.1) polled into the
index by ETag: nothing downloaded twice, changes and deletions followed, a share that goes away
mid-round leaves the index as it was and is told once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.clock import FrozenClock
from bot.commands.build import build_conversation
from bot.commands.reply import Reply
from bot.console.doctor import check_knowledge_share
from bot.errors import SettingsError
from tests.backup_helpers import fingerprint
from tests.conftest import make_settings
from tests.webdav_server import WebDAVServer, free_port, webdav_server

PASSWORD = "share-secret-pw"


@pytest.fixture
def share(tmp_path: Path) -> Iterator[WebDAVServer]:
    root = tmp_path / "share"
    (root / "contracts").mkdir(parents=True)
    for n in range(20):
        (root / f"note-{n:02d}.md").write_text(f"# Note {n}\n\nRoom {n} has code {1000 + n}.\n")
    (root / "contracts" / "acme.md").write_text("# Acme\n\nAcme pays within 30 days.\n")
    with webdav_server(root, password=PASSWORD) as server:
        yield server


@pytest.fixture
def services(tmp_path: Path, share: WebDAVServer, clock: FrozenClock) -> Iterator[Services]:
    settings = make_settings(
        tmp_path / "data",
        KNOWLEDGE_URL=share.url + "/",
        KNOWLEDGE_USERNAME="owner",
        KNOWLEDGE_PASSWORD=PASSWORD,
        KNOWLEDGE_POLL="30s",
    )
    built = build_services(settings, clock)
    yield built
    built.close()


def indexed(services: Services) -> dict[str, str]:
    return {d.name: d.status for d in services.knowledge.list_documents()}


async def test_only_new_and_changed_files_are_downloaded_and_vanished_ones_leave(
    tmp_path: Path, services: Services, share: WebDAVServer
) -> None:
    assert services.share is not None
    first = services.share.sync()
    assert first.downloaded == 21 and len(share.gets) == 21
    assert indexed(services)["contracts/acme.md"] == "indexed" and len(indexed(services)) == 21

    again = services.share.sync()
    assert again.downloaded == 0 and len(share.gets) == 21  # nothing downloaded twice

    root = tmp_path / "share"
    for n in (3, 7):
        (root / f"note-{n:02d}.md").write_text(f"# Note {n}\n\nRoom {n} moved to code 99{n}.\n")
    (root / "note-11.md").unlink()
    (root / "new.md").write_text("# New\n\nThe new studio opens in March.\n")
    share.gets.clear()
    third = services.share.sync()
    assert sorted(share.gets) == ["/new.md", "/note-03.md", "/note-07.md"]  # only those
    assert (third.downloaded, third.removed) == (3, 1)
    assert "note-11.md" not in indexed(services) and "new.md" in indexed(services)
    passages = services.knowledge.search("Room 7 code", k=3)
    assert any("997" in p.text for p in passages)

    [docs] = await build_conversation(services).router.run_command("docs", "")
    line = next(x for x in docs.text.splitlines() if "new.md" in x)
    assert "from the WebDAV share (KNOWLEDGE_URL), read" in line

    restarted = build_services(services.settings, services.clock)  # tags survive a restart
    assert restarted.share is not None
    share.gets.clear()
    assert restarted.share.sync().downloaded == 0 and share.gets == []
    restarted.close()


async def test_a_share_gone_mid_round_leaves_the_index_and_is_told_once(
    tmp_path: Path, services: Services, share: WebDAVServer, clock: FrozenClock
) -> None:
    assert services.share is not None
    services.share.sync()
    before = indexed(services)
    mirror = fingerprint(services.share.mirror)
    for n in range(5):
        (tmp_path / "share" / f"note-{n:02d}.md").write_text(f"# Note {n}\n\nchanged {n}\n")
    (tmp_path / "share" / "note-19.md").unlink()
    share.gets.clear()
    share.fail_after_gets = 2  # the third download of the round fails

    sent: list[Reply] = []

    async def send(reply: Reply) -> None:
        sent.append(reply)

    conversation = build_conversation(services)
    await conversation.run_tick(send)
    told = [r.text for r in sent if "KNOWLEDGE_URL" in r.text]
    assert len(told) == 1 and "stay as they were" in told[0]
    assert PASSWORD not in told[0]
    assert indexed(services) == before  # nothing half-applied: note-19 still there too
    assert fingerprint(services.share.mirror) == mirror

    clock.advance(timedelta(minutes=1))
    services.share.next_round = 0.0
    await conversation.run_tick(send)  # still down: not told twice
    assert len([r for r in sent if "KNOWLEDGE_URL" in r.text]) == 1

    share.fail_after_gets = None
    clock.advance(timedelta(minutes=1))
    services.share.next_round = 0.0
    await conversation.run_tick(send)
    assert "note-19.md" not in indexed(services)
    assert len([r for r in sent if "KNOWLEDGE_URL" in r.text]) == 1


def test_a_wrong_password_is_one_sentence_naming_the_settings(
    tmp_path: Path, share: WebDAVServer, clock: FrozenClock
) -> None:
    settings = make_settings(
        tmp_path / "data",
        KNOWLEDGE_URL=share.url,
        KNOWLEDGE_USERNAME="owner",
        KNOWLEDGE_PASSWORD="wrong-pw",
    )
    services = build_services(settings, clock)
    assert services.share is not None
    with pytest.raises(Exception, match="KNOWLEDGE_USERNAME / KNOWLEDGE_PASSWORD") as caught:
        services.share.sync()
    assert "wrong-pw" not in str(caught.value)
    assert services.knowledge.list_documents() == []
    services.close()
    doctor = check_knowledge_share(settings)
    assert not doctor.ok and "KNOWLEDGE_PASSWORD" in doctor.detail


def test_a_wrong_folder_is_told_apart_from_a_share_that_is_down(
    tmp_path: Path, share: WebDAVServer
) -> None:
    def doctor(url: str) -> str:
        values = {"KNOWLEDGE_USERNAME": "owner", "KNOWLEDGE_PASSWORD": PASSWORD}
        found = check_knowledge_share(make_settings(tmp_path / "d", KNOWLEDGE_URL=url, **values))
        assert not found.ok
        return found.detail

    missing = f"{share.url}/no-such-folder"
    assert (
        doctor(missing)
        == f"The document share {missing} (KNOWLEDGE_URL) could not be read (HTTP 404)."
    )
    down = f"http://127.0.0.1:{free_port()}/dav"
    assert doctor(down) == f"The document share {down} (KNOWLEDGE_URL) cannot be reached."


def test_doctor_lists_a_good_share_and_a_bad_poll_is_refused(
    tmp_path: Path, share: WebDAVServer
) -> None:
    settings = make_settings(
        tmp_path / "d",
        KNOWLEDGE_URL=share.url,
        KNOWLEDGE_USERNAME="owner",
        KNOWLEDGE_PASSWORD=PASSWORD,
    )
    found = check_knowledge_share(settings)
    assert found.ok and "21 file(s)" in found.detail and share.gets == []
    assert make_settings(tmp_path, KNOWLEDGE_POLL="30s").knowledge_poll_seconds == 30
    with pytest.raises(SettingsError, match="KNOWLEDGE_POLL"):
        make_settings(tmp_path, KNOWLEDGE_POLL="soon")


def test_without_knowledge_url_there_is_no_share(services: Services, tmp_path: Path) -> None:
    plain = build_services(make_settings(tmp_path / "plain"), services.clock)
    assert plain.share is None
    plain.close()
