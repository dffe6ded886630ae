"""The sandbox speaks HTTP/1.1 keep-alive as the real platforms do, and the adapters keep one
connection open between their calls (sandbox/server.py, platforms/session.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from platforms import get_adapter
from platforms.ratelimit import InMemoryRateLimiter
from platforms.tokens import InMemoryTokenStore
from platforms.types import ContentInput, Credentials
from sandbox import create_sandbox_app
from sandbox.server import KeepAliveServer, build_server

TIMEOUT = 5


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    srv = build_server(create_sandbox_app({"weibo_require_rip": False}), "127.0.0.1", 0)
    assert isinstance(srv, KeepAliveServer)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def base(srv: KeepAliveServer) -> str:
    return f"http://127.0.0.1:{srv.server_port}"


def raw_exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send one request and read one whole answer (it has a Content-Length)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_one_connection_carries_many_requests_even_with_unread_bodies(server: KeepAliveServer) -> None:
    url = base(server)
    with requests.Session() as http:
        answers = [
            http.get(f"{url}/_sandbox/posts", timeout=TIMEOUT),
            # a body the application never reads (no such route): drained to its length
            http.post(f"{url}/_sandbox/no-such-thing", data=b"x" * 200_000, timeout=TIMEOUT),
            # a chunked body, also unread
            http.post(f"{url}/_sandbox/no-such-thing", data=iter([b"a" * 10, b"b" * 10]), timeout=TIMEOUT),
            http.get(f"{url}/_sandbox/posts", timeout=TIMEOUT),
        ]
        assert [a.status_code for a in answers] == [200, 404, 404, 200]
        assert all(a.headers.get("Connection") != "close" for a in answers)
        assert answers[-1].json()["posts"] == []
    assert server.accepted == 1


def test_a_second_request_sent_at_once_is_answered_not_swallowed(server: KeepAliveServer) -> None:
    """werkzeug reads whatever the socket holds after an answer; on a kept connection that is
    the next request, which must get its own answer."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as sock:
        get = b"GET /_sandbox/posts HTTP/1.1\r\nHost: sandbox\r\n\r\n"
        for _ in range(3):
            assert raw_exchange(sock, get).startswith(b"HTTP/1.1 200")


def test_connection_close_and_http_1_0_are_honoured(server: KeepAliveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as sock:
        head = raw_exchange(sock, b"GET /_sandbox/posts HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
        assert b"Connection: close" in head
        assert sock.recv(1) == b""  # closed by the server
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as sock:
        raw_exchange(sock, b"GET /_sandbox/posts HTTP/1.0\r\n\r\n")
        assert sock.recv(1) == b""


def test_closing_the_server_closes_the_connections_it_kept(server: KeepAliveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=TIMEOUT) as sock:
        raw_exchange(sock, b"GET /_sandbox/posts HTTP/1.1\r\nHost: s\r\n\r\n")
        server.shutdown()
        server.server_close()
        # a stopped sandbox answers nothing more, not even on a connection opened before
        assert sock.recv(1) == b""


def test_an_adapter_publishes_over_one_kept_connection(server: KeepAliveServer) -> None:
    url = base(server)
    requests.post(f"{url}/_sandbox/accounts", json={"platform": "weibo", "uid": "wb_keep"}, timeout=TIMEOUT)
    adapter = get_adapter(
        "weibo",
        base_url=f"{url}/weibo",
        token_store=InMemoryTokenStore(),
        rate_limiter=InMemoryRateLimiter(),
        options={"rip": "203.0.113.9"},
    )
    creds = Credentials.from_mapping({"access_token": "sandbox:wb_keep"})
    with adapter:
        for n in range(3):
            content = ContentInput(
                title=f"第{n}条",
                summary=f"第{n}条",
                html=f"<p>第{n}条</p>",
                canonical_url=f"https://gov.example.cn/a/{n}",
            )
            post = adapter.render(content, idempotency_key=f"keep-{n}").post
            assert adapter.publish(creds, post).state == "published"
    assert server.accepted == 2  # the account set up above, then every call of the adapter
    posts = requests.get(f"{url}/_sandbox/posts", params={"platform": "weibo"}, timeout=TIMEOUT).json()["posts"]
    assert len(posts) == 3


def test_kept_connections_send_without_nagle_delay(server: KeepAliveServer) -> None:
    """The handler writes headers and body separately; with Nagle's algorithm on a kept
    connection the body would wait for the client's delayed ACK (40 ms per answer on Linux).
    The server's end of every kept connection has TCP_NODELAY, like nginx's ``tcp_nodelay on``."""
    with requests.Session() as http:
        assert http.get(f"{base(server)}/_sandbox/posts", timeout=TIMEOUT).status_code == 200
        kept = list(server._open)
        assert kept, "the connection is kept open after the answer"
        assert all(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for conn in kept)
