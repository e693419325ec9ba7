"""A real WebDAV server for tests: wsgidav on cheroot, 127.0.0.1, a free port, a temp folder.

    with webdav_server(root, user="owner", password="pw", quota=None) as server:
        server.url          http://127.0.0.1:PORT
        server.stop() / server.start()   the share goes away and comes back (same port)

`quota` (bytes) makes every upload fail with "no space left" once that many bytes of it were
written: the file is left cut short on the server, as a full NAS disk would leave it. With
`silent=True` the cut is not reported (the upload "succeeds"), as a faulty share would do.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from cheroot import wsgi
from wsgidav.fs_dav_provider import FileResource, FilesystemProvider
from wsgidav.wsgidav_app import WsgiDAVApp


class _FullDiskWriter:
    """A file that takes `room` bytes, then fails the way a full disk does."""

    def __init__(self, handle: BinaryIO, room: int, silent: bool) -> None:
        self._handle, self._room, self._silent = handle, room, silent

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            self._handle.write(data[: self._room])
            self._handle.flush()
            self._room = 0
            if self._silent:
                return len(data)
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._handle.write(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def close(self) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


class _QuotaFile(FileResource):  # type: ignore[misc]
    quota: int = 0
    silent: bool = False

    def begin_write(self, *, content_type: str | None = None) -> Any:
        handle = super().begin_write(content_type=content_type)
        return _FullDiskWriter(handle, self.quota, self.silent)


class _QuotaProvider(FilesystemProvider):  # type: ignore[misc]
    def __init__(self, root: str, quota: int, silent: bool) -> None:
        super().__init__(root)
        self.quota, self.silent = quota, silent

    def get_resource_inst(self, path: str, environ: dict[str, Any]) -> Any:
        found = super().get_resource_inst(path, environ)
        if isinstance(found, FileResource):
            resource = _QuotaFile(path, environ, found._file_path)
            resource.quota, resource.silent = self.quota, self.silent
            return resource
        return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebDAVServer:
    def __init__(
        self, root: Path, user: str, password: str, quota: int | None, silent: bool = False
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        provider = (
            FilesystemProvider(str(root))
            if quota is None
            else _QuotaProvider(str(root), quota, silent)
        )
        self.app = WsgiDAVApp(
            {
                "provider_mapping": {"/": provider},
                "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
                "http_authenticator": {
                    "accept_basic": True,
                    "accept_digest": False,
                    "default_to_digest": False,
                },
                "verbose": 0,
                "logging": {"enable": False},
                "lock_storage": True,
                "property_manager": True,
            }
        )
        self.gets: list[str] = []  # the path of every GET (a download) served
        self.fail_after_gets: int | None = None  # then answer 503: the share went away
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = wsgi.Server(("127.0.0.1", self.port), self._counted, numthreads=4)
        server.prepare()
        self._server = server
        self._thread = threading.Thread(target=server.serve, daemon=True)
        self._thread.start()

    def _counted(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "GET":
            if self.fail_after_gets is not None and len(self.gets) >= self.fail_after_gets:
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
            self.gets.append(environ["PATH_INFO"])
        return self.app(environ, start_response)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None


@contextmanager
def webdav_server(
    root: Path,
    *,
    user: str = "owner",
    password: str = "pw",
    quota: int | None = None,
    silent: bool = False,
) -> Iterator[WebDAVServer]:
    server = WebDAVServer(root, user, password, quota, silent)
    server.start()
    try:
        yield server
    finally:
        server.stop()
