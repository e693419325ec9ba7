"""Drive a command in a terminal from a test: type lines, wait for what it prints.

The event loop keeps running while a test waits (the fake servers live in it).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from pathlib import Path


class TerminalDriver:
    """`python -m bot ARGS` (or `command`) in `cwd`, its stdin typed by the test, its output
    read as it comes."""

    def __init__(
        self,
        cwd: Path,
        *args: str,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        self.proc = subprocess.Popen(
            [*(command or [sys.executable, "-m", "bot"]), *args],
            cwd=cwd,
            env={**base, **(env or {}), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output = ""
        self._seen = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 4096):
            with self._lock:
                self.output += chunk.decode("utf-8", "replace")

    async def expect(self, pattern: str, within: float = 30.0) -> re.Match[str]:
        """The first match of `pattern` in what was printed since the last match."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            with self._lock:
                match = re.compile(pattern).search(self.output, self._seen)
            if match:
                self._seen = match.end()
                return match
            if loop.time() > deadline or (self.proc.poll() is not None and not match):
                await asyncio.sleep(0.2)  # the last output may still be in the pipe
                with self._lock:
                    match = re.compile(pattern).search(self.output, self._seen)
                if match:
                    self._seen = match.end()
                    return match
                raise AssertionError(f"no {pattern!r} in:\n{self.output[self._seen :]}")
            await asyncio.sleep(0.05)

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())
        self.proc.stdin.flush()

    def close_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def exit_code(self, within: float = 60.0) -> int:
        return await asyncio.wait_for(asyncio.to_thread(self.proc.wait), within)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_OURS = ("TELEGRAM", "OWNER", "OPENAI", "TIMEZONE", "COUNTRY", "BRIEFING", "DATA_DIR", "KNOWLEDGE")
