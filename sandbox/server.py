"""Serving the sandbox on 127.0.0.1 with request logs that never show tokens or secrets, over
HTTP/1.1 keep-alive connections as the real platforms do."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

logger = logging.getLogger(__name__)

_SECRET_PARAMS = re.compile(
    r"((?:access_token|secret|client_secret|app_secret|refresh_token|code)=)[^&#\s]*", re.IGNORECASE
)


def redact(path: str) -> str:
    """The request target with secret query values replaced by ``***``."""
    return _SECRET_PARAMS.sub(r"\1***", path)


class _AtEnd:
    """Stands in for the connection while werkzeug "drains" it after a response: werkzeug reads
    whatever the socket holds then (it closes every connection, so that can only be the rest of
    the body), which on a kept-alive connection would be the client's next request. This one
    is readable at once and at its end, so the drain finds nothing; the body is drained by
    ``KeepAliveRequestHandler`` itself, exactly to its length."""

    _fd: int | None = None
    _lock = threading.Lock()

    def fileno(self) -> int:
        with self._lock:
            if _AtEnd._fd is None:
                read, write = os.pipe()
                os.close(write)  # the read end is at its end: always readable, reads b""
                _AtEnd._fd = read
        return _AtEnd._fd


class KeepAliveRequestHandler(WSGIRequestHandler):
    """werkzeug's handler with HTTP/1.1 keep-alive: werkzeug answers every request with
    ``Connection: close`` (``http.server`` cannot find the next request line if the application
    left part of a body unread). Here the body is read to its ``Content-Length`` (or its last
    chunk) after the application answers, so the connection can carry the next request; a
    client asking ``Connection: close`` (or speaking HTTP/1.0) still gets it closed. Idle
    connections close after ``timeout`` seconds, and all of them when the server closes."""

    protocol_version = "HTTP/1.1"
    #: seconds an idle (or stalled) connection stays open
    timeout = 75
    #: TCP_NODELAY on each connection, as nginx and the platforms' front ends do: the handler
    #: writes the headers and the body separately, and on a kept connection Nagle's algorithm
    #: holds the body until the client's delayed ACK (40 ms on Linux) — every answer 40 ms late
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        register = getattr(self.server, "track", None)
        if register is not None:
            register(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            register = getattr(self.server, "track", None)
            if register is not None:
                register(self.connection, False)

    def make_environ(self) -> Any:
        environ = super().make_environ()
        if not environ.get("wsgi.input_terminated"):
            length = environ.get("CONTENT_LENGTH") or ""
            environ["wsgi.input"] = LimitedStream(self.rfile, int(length) if length.isdigit() else 0)
        self._body = environ["wsgi.input"]
        self._real = (self.connection, self.rfile)
        # what werkzeug's drain after the response reads (see _AtEnd)
        self.connection, self.rfile = _AtEnd(), io.BytesIO()  # type: ignore[assignment]
        return environ

    def run_wsgi(self) -> None:
        self._real = None
        try:
            super().run_wsgi()
        finally:
            if self._real is not None:
                self.connection, self.rfile = self._real
        if self._real is not None and not self.close_connection:
            try:
                _drain(self._body)
            except (OSError, ValueError):
                self.close_connection = True

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return  # werkzeug's blanket close; the body is drained in run_wsgi
        super().send_header(keyword, value)


def _drain(body: Any) -> None:
    if isinstance(body, LimitedStream):
        body.exhaust()
        return
    while body.read(65536):  # chunked: to the last chunk
        pass


class RedactingRequestHandler(KeepAliveRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        target = redact(getattr(self, "path", "") or "")
        self.log("info", '"%s %s %s" %s %s', self.command, target, self.request_version, code, size)


class KeepAliveServer(ThreadedWSGIServer):
    """A thread per connection; closing the server also closes the connections it keeps open
    (a kept-alive connection must not go on answering from a server that was stopped)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        #: connections taken so far
        self.accepted = 0

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            if is_open:
                self.accepted += 1
                self._open.add(connection)
            else:
                self._open.discard(connection)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):  # closed by its client meanwhile
                connection.shutdown(socket.SHUT_RDWR)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def in_container() -> bool:
    """True inside Docker/Podman, where binding 0.0.0.0 is how a published port is reached."""
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


def build_server(app: Flask, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False) -> BaseWSGIServer:
    """A threaded keep-alive server; a non-loopback host is refused unless ``allow_remote``."""
    if not is_loopback(host):
        if not allow_remote:
            raise ValueError("模拟平台只允许绑定本机回环地址（127.0.0.1、::1 或 localhost）；容器内请加 --allow-remote")
        logger.warning("模拟平台绑定在非回环地址 %s 上：它接受任何凭据，切勿暴露到公网", host)
    return KeepAliveServer(host, port, app, handler=RedactingRequestHandler)
