"""`.env` as the owner wrote it: values change in place, comments and other lines stay.

Written whole or not at all (a temporary file renamed over it), readable by this user only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
MODE = 0o600


class EnvFile:
    """The lines of one `.env` file; `set` changes a value where it is, or appends it."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines

    @classmethod
    def read(cls, path: Path, template: Path | None = None) -> EnvFile:
        """The file, or the template's lines (`.env.example`) when there is no file yet."""
        source = path if path.exists() else template
        text = source.read_text(encoding="utf-8") if source and source.exists() else ""
        return cls(path, text.splitlines())

    def values(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for line in self.lines:
            match = _LINE.match(line)
            if match and not line.lstrip().startswith("#"):
                found[match.group(1)] = _unquote(match.group(2))
        return found

    def get(self, name: str) -> str:
        return self.values().get(name, "")

    def set(self, name: str, value: str) -> None:
        line = f"{name}={_quote(value)}"
        for i, existing in enumerate(self.lines):
            match = _LINE.match(existing)
            if match and match.group(1) == name and not existing.lstrip().startswith("#"):
                self.lines[i] = line
                return
        self.lines.append(line)

    def write(self) -> None:
        """Replace the file in one step, mode 0600 (it holds the bot token)."""
        partial = self.path.with_name(f".{self.path.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(self.lines) + "\n")
        os.chmod(partial, MODE)  # an older partial file may have kept wider rights
        os.replace(partial, self.path)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].rstrip() if " #" in value else value


def _quote(value: str) -> str:
    return f'"{value}"' if re.search(r"\s|#", value) else value
