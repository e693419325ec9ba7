"""Characters that change what text looks like, or hide text, neutralised where text is shown.

- Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder everything
  after them on screen: a title or a file name that reads differently from what it says
  ("Trojan Source"). They are dropped from what the bot shows; the marks LRM, RLM and ALM,
  which order nothing beyond themselves, stay, and right-to-left text reads as before.
- Tag characters (U+E0000–U+E007F) are invisible and can spell a whole hidden sentence ("ASCII
  smuggling" of instructions to a model). They are dropped from what the bot shows and from
  what the model reads; only an emoji flag built from them (🏴 + subdivision + cancel tag) is
  kept on screen.

Stored text keeps what was typed; only display and prompts are cleaned.
"""

from __future__ import annotations

import re

_FLAG = "\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,6}\U000e007f"
_TAGS = "[\U000e0000-\U000e007f]"
_SHOWN = re.compile(f"({_FLAG})|[\u202a-\u202e\u2066-\u2069]|{_TAGS}")
_TAG = re.compile(_TAGS)


def shown(text: str) -> str:
    """`text` without bidi embeddings, overrides, isolates or tag characters (flags kept)."""
    return _SHOWN.sub(lambda m: m.group(1) or "", text)


def untagged(text: str) -> str:
    """`text` without tag characters: what a model may read."""
    return _TAG.sub("", text)
