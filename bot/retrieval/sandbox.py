"""Parsing in a worker process, so a hostile file costs bounded time and memory.

In-process limits (bot.retrieval.parsing.Limits) give the clear reasons; this is the backstop
for what they cannot bound: a page that takes forever, a parser that allocates gigabytes. The
worker is a plain ``python -c`` child (no re-import of the bot), started on first use and kept;
its address space is capped with RLIMIT_AS, and it is killed and restarted when a file runs over
the clock or crashes it.
"""

from __future__ import annotations

import importlib
import logging
import os
import resource
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from bot.retrieval.parsing import Limits, ParsedDoc, ParseError

log = logging.getLogger(__name__)
GENERIC = "I could not read this file (it may be damaged)."
DEFAULT_TARGET = "bot.retrieval.parsing:parse"
GRACE_SECONDS = 2.0


class Parser(Protocol):
    def parse(self, name: str, data: bytes) -> ParsedDoc: ...


class SandboxParser:
    """Parses in a child process bounded by ``limits.seconds`` and ``limits.memory_bytes``.

    ``target`` ("module:function", called as function(name, data, limits)) is the parser the
    worker runs; tests point it at functions that hang, hog memory or crash.
    """

    def __init__(self, limits: Limits | None = None, target: str = DEFAULT_TARGET) -> None:
        self.limits = limits or Limits()
        self.target = target
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None

    def parse(self, name: str, data: bytes) -> ParsedDoc:
        with self._lock:
            send, receive = self._start()
            try:
                send.send((name, data))
                if not receive.poll(self.limits.seconds + GRACE_SECONDS):
                    self._stop()
                    seconds = self.limits.seconds
                    raise ParseError(f"Reading the file took over {seconds:.0f} s, so I stopped.")
                reply = receive.recv()
            except (EOFError, OSError, BrokenPipeError):
                self._stop()
                raise ParseError(
                    "Reading the file crashed the reader (too much memory or a damaged file)."
                ) from None
        return _unwrap(reply)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> tuple[Connection, Connection]:
        if self._process is not None and self._process.poll() is None:
            assert self._send is not None and self._receive is not None
            return self._send, self._receive
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        code = "import sys; from bot.retrieval.sandbox import serve; serve(*map(int, sys.argv[1:]))"
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._receive = Connection(from_child_r, writable=False)
        self._send.send((self.limits, self.target))
        return self._send, self._receive

    def _stop(self) -> None:
        for connection in (self._send, self._receive):
            if connection is not None:
                connection.close()
        self._send = self._receive = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def _unwrap(reply: tuple[str, Any, bool]) -> ParsedDoc:
    kind, value, skip = reply
    if kind == "ok" and isinstance(value, ParsedDoc):
        return value
    raise ParseError(str(value), skip=skip)


def serve(read_fd: int, write_fd: int) -> None:
    """The worker's loop: (name, bytes) in, ('ok', ParsedDoc) or ('error', reason, skip) out."""
    receive = Connection(read_fd, writable=False)
    send = Connection(write_fd, readable=False)
    limits, target = receive.recv()
    logging.basicConfig(level=logging.ERROR)
    module, _, function = target.partition(":")
    run = getattr(importlib.import_module(module), function)
    for name in ("bs4", "docx", "pypdf", "bot.retrieval.html", "bot.retrieval.pdf"):
        importlib.import_module(name)  # before the memory cap, once
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    while True:
        try:
            name, data = receive.recv()
        except EOFError:
            return
        send.send(_parse_one(run, name, data, limits))


def _parse_one(
    run: Callable[[str, bytes, Limits], ParsedDoc], name: str, data: bytes, limits: Limits
) -> tuple[str, Any, bool]:
    try:
        return "ok", run(name, data, limits), False
    except ParseError as exc:
        return "error", str(exc), exc.skip
    except MemoryError:
        return "error", "Reading the file needed more memory than I allow for one file.", False
    except RecursionError:
        return "error", "The file is nested too deeply to read.", False
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return "error", GENERIC, False
