"""The callback codec, HTML escaping, message splitting and the terminal rendering."""

from __future__ import annotations

import pytest

from bot.commands import callbacks
from bot.commands.markup import split_text
from bot.commands.reply import esc
from bot.console.chat import to_rich


def test_round_trip_and_arity() -> None:
    data = callbacks.encode("td", 12, "1a2b")
    assert data == "td:12:1a2b"
    decoded = callbacks.decode(data)
    assert decoded.action == "td" and decoded.int_arg(0) == 12 and decoded.args[1] == "1a2b"
    with pytest.raises(ValueError, match="takes"):
        callbacks.encode("td", 12)


def test_the_64_byte_limit_is_checked_when_encoding() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        callbacks.encode("tz", 1, "é" * 40)


@pytest.mark.parametrize(
    "forged", [None, "", "zz:1", "td:1", "td:1:2:3", "x" * 65, "tx:abc", "ty:1:"]
)
def test_forged_or_stale_data_is_refused(forged: str | None) -> None:
    with pytest.raises(callbacks.BadCallback):
        callbacks.decode(forged).int_arg(0)


def test_user_text_is_escaped_for_html() -> None:
    assert esc("<b>Tom & Jerry</b>") == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"


def test_split_at_line_boundaries_under_the_limit() -> None:
    lines = [f"line {i:04d} " + "x" * 40 for i in range(300)]
    text = "\n".join(lines)
    pieces = split_text(text, 4096)
    assert len(pieces) > 1
    assert all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == text  # nothing lost, no line cut


def test_a_single_overlong_line_is_cut_hard() -> None:
    pieces = split_text("y" * 9000, 4096)
    assert [len(p) for p in pieces] == [4096, 4096, 808]


def test_terminal_rendering_keeps_text_and_drops_tags() -> None:
    text = to_rich("<b>Tasks</b> &lt;3 <i>soon</i>")
    assert text.plain == "Tasks <3 soon"
