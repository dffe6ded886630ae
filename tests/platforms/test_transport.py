"""The adapters' kept connections on http.client (platforms/transport.py), against a real local
HTTP/1.1 server: the answers, failures, redirects and cookies the adapters see are requests'."""

from __future__ import annotations

import datetime
import gc
import gzip
import ipaddress
import json
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from platforms.errors import map_http_error
from platforms.session import PlatformSession

TIMEOUT = (2.0, 2.0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.accepted += 1  # type: ignore[attr-defined]

    def log_message(self, *args: Any) -> None:
        return None

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(self.rfile.read(length))  # type: ignore[attr-defined]
        self._route()

    def _route(self) -> None:
        path = urlsplit(self.path).path  # a proxy gets the whole URL
        echo = {"path": self.path, "cookie": self.headers.get("Cookie"), "method": self.command}
        if path == "/json":
            self._answer(200, json.dumps(echo).encode(), {"Content-Type": "application/json", "X-Twice": "a"})
        elif path == "/redirect":
            self._answer(302, b"", {"Location": "/json?from=redirect"})
        elif path == "/cookie":
            self._answer(200, b"{}", {"Set-Cookie": "sid=abc; Path=/", "Content-Type": "application/json"})
        elif path == "/gzip":
            self._answer(200, gzip.compress(json.dumps({"ok": "压缩"}).encode()), {"Content-Encoding": "gzip"})
        elif path == "/slow":
            time.sleep(1.5)
            self._answer(200, b"{}")
        elif path == "/close":
            self._answer(200, b"{}", {"Connection": "close"})
            self.close_connection = True
        elif path == "/hangup":
            self.close_connection = True  # no answer at all
        else:
            self._answer(503, b"busy")


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.accepted = 0  # type: ignore[attr-defined]
    srv.bodies = []  # type: ignore[attr-defined]
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def session() -> Iterator[PlatformSession]:
    with PlatformSession() as http:
        yield http


def url(srv: ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_port}{path}"


def test_calls_share_one_kept_connection_and_read_as_requests_does(server, session) -> None:
    first = session.call("GET", url(server, "/json"), params={"q": "政务 公开", "n": 2}, timeout=TIMEOUT)
    second = session.call("POST", url(server, "/json"), json={"标题": "通知"}, timeout=TIMEOUT)
    third = session.call("POST", url(server, "/json"), data={"a": "1"}, timeout=TIMEOUT)
    assert first.status_code == 200 and first.json()["path"] == "/json?q=%E6%94%BF%E5%8A%A1+%E5%85%AC%E5%BC%80&n=2"
    assert first.headers["content-type"] == "application/json" and first.url.endswith("n=2")
    assert second.json()["method"] == "POST" and third.ok
    assert json.loads(server.bodies[0]) == {"标题": "通知"} and server.bodies[1] == b"a=1"
    assert server.accepted == 1


def test_a_session_dropped_without_close_closes_its_kept_connections(server) -> None:
    # an adapter cache replaced (or a test dropping it) must not leave sockets open until exit
    http = PlatformSession()
    assert http.call("GET", url(server, "/json"), timeout=TIMEOUT).ok
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del http
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_redirect_is_followed_and_a_cookie_is_kept(server, session) -> None:
    moved = session.call("GET", url(server, "/redirect"), timeout=TIMEOUT)
    assert moved.json()["path"] == "/json?from=redirect"
    assert [r.status_code for r in moved.history] == [302]
    session.call("GET", url(server, "/cookie"), timeout=TIMEOUT)
    assert session.cookies.get("sid") == "abc"
    assert session.call("GET", url(server, "/json"), timeout=TIMEOUT).json()["cookie"] == "sid=abc"


def test_a_compressed_answer_is_decoded(server, session) -> None:
    assert session.call("GET", url(server, "/gzip"), timeout=TIMEOUT).json() == {"ok": "压缩"}


def test_failures_are_requests_failures_and_map_to_the_same_errors(server, session) -> None:
    with pytest.raises(requests.ReadTimeout) as slow:
        session.call("GET", url(server, "/slow"), timeout=(2.0, 0.3))
    assert map_http_error("weibo", exc=slow.value).code == "timeout"  # type: ignore[union-attr]
    with pytest.raises(requests.ConnectionError) as hangup:
        session.call("GET", url(server, "/hangup"), timeout=TIMEOUT)
    assert map_http_error("weibo", exc=hangup.value).code == "connection_error"  # type: ignore[union-attr]
    with pytest.raises(requests.ConnectionError) as refused:
        session.call("GET", "http://127.0.0.1:9/json", timeout=TIMEOUT)
    assert map_http_error("weibo", exc=refused.value).code == "connection_error"  # type: ignore[union-attr]
    busy = session.call("GET", url(server, "/nothing"), timeout=TIMEOUT)
    assert map_http_error("weibo", response=busy).code == "http_503"  # type: ignore[union-attr]
    # after all that, the next call simply works
    assert session.call("GET", url(server, "/json"), timeout=TIMEOUT).ok


def test_a_connection_the_server_closed_is_not_reused(server, session) -> None:
    session.call("GET", url(server, "/close"), timeout=TIMEOUT)
    session.call("GET", url(server, "/json"), timeout=TIMEOUT)
    assert server.accepted == 2
    session.kept.close()  # as a server's idle timeout would: the next call connects again
    assert session.call("GET", url(server, "/json"), timeout=TIMEOUT).ok
    assert server.accepted == 3


def test_a_test_double_or_a_proxy_gets_requests_own_transport(server, session, monkeypatch) -> None:
    with responses.RequestsMock() as mocked:
        mocked.get(url(server, "/json"), json={"mocked": True})
        assert session.call("GET", url(server, "/json"), timeout=TIMEOUT).json() == {"mocked": True}
    assert server.accepted == 0
    monkeypatch.setenv("HTTP_PROXY", url(server, ""))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = PlatformSession()
    # through the proxy, with the full URL in the request line, as requests sends it
    assert (
        proxied.call("GET", "http://platform.example/json", timeout=TIMEOUT)
        .json()["path"]
        .startswith("http://platform.example/json")
    )
    proxied.close()


def test_a_prepared_url_is_remembered_only_for_the_same_url_and_parameters(server, session) -> None:
    base = url(server, "/json")
    assert session.call("GET", base, params={"a": "1", "b": 2}, timeout=TIMEOUT).json()["path"] == "/json?a=1&b=2"
    assert session.call("GET", base, params={"a": "1", "b": 2}, timeout=TIMEOUT).json()["path"] == "/json?a=1&b=2"
    assert session.call("GET", base, params={"b": 2, "a": "1"}, timeout=TIMEOUT).json()["path"] == "/json?b=2&a=1"
    assert session.call("GET", base, params={"a": ["x", "y"]}, timeout=TIMEOUT).json()["path"] == "/json?a=x&a=y"
    assert session.call("GET", base, params={"a": True}, timeout=TIMEOUT).json()["path"] == "/json?a=True"
    assert session.call("GET", base, timeout=TIMEOUT).json()["path"] == "/json"


def _self_signed(tmp_path: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_https_is_verified_against_the_ca_bundle_requests_would_use(server, tmp_path, monkeypatch) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    address = f"https://127.0.0.1:{server.server_port}/json"
    with PlatformSession() as untrusted, pytest.raises(requests.exceptions.SSLError) as refused:
        untrusted.call("GET", address, timeout=TIMEOUT)  # certifi's bundle does not know it
    assert map_http_error("wechat", exc=refused.value).code == "connection_error"  # type: ignore[union-attr]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    with PlatformSession() as trusted:
        assert trusted.call("GET", address, timeout=TIMEOUT).json()["path"] == "/json"
        assert trusted.call("GET", address, timeout=TIMEOUT).ok
    assert server.accepted == 1  # both calls on one kept connection (the refused handshake had none)
