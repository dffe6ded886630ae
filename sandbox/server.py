"""Serving the sandbox on 127.0.0.1 with request logs that never show tokens or secrets."""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)

_SECRET_PARAMS = re.compile(
    r"((?:access_token|secret|client_secret|app_secret|refresh_token|code)=)[^&#\s]*", re.IGNORECASE
)


def redact(path: str) -> str:
    """The request target with secret query values replaced by ``***``."""
    return _SECRET_PARAMS.sub(r"\1***", path)


class RedactingRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        target = redact(getattr(self, "path", "") or "")
        self.log("info", '"%s %s %s" %s %s', self.command, target, self.request_version, code, size)


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
    """A threaded server; a non-loopback host is refused unless ``allow_remote``."""
    if not is_loopback(host):
        if not allow_remote:
            raise ValueError("模拟平台只允许绑定本机回环地址（127.0.0.1、::1 或 localhost）；容器内请加 --allow-remote")
        logger.warning("模拟平台绑定在非回环地址 %s 上：它接受任何凭据，切勿暴露到公网", host)
    return make_server(host, port, app, threaded=True, request_handler=RedactingRequestHandler)
