"""The adapters' transport: their kept connections to a platform on ``http.client`` directly.

requests' ``HTTPAdapter.send`` and urllib3's pool around each platform call (the connection
pool key, the urllib3 request and response objects, the streamed read of the body) cost a
publishing worker about twice what ``http.client`` itself costs for the same request and
answer (``bench/delivery_cost.py --profile --sample``). ``KeptConnections`` sends a request
``PlatformSession.call`` has prepared with requests (URL, headers, body exactly as requests
builds them) on a connection it keeps per (scheme, host, port), reads the whole answer, and
returns the ``requests.Response`` the adapters read, with the same failures as requests raises
(``requests.ConnectTimeout`` / ``ReadTimeout`` / ``ConnectionError`` / ``SSLError`` /
``ChunkedEncodingError``), so ``platforms.errors.map_http_error`` classifies them as before.

It takes only the plain case (``usable``): an ``http``/``https`` URL with no proxy, no client
certificate, TLS verification on (the CA bundle requests would use), a body of known length,
the session's own ``HTTPAdapter`` without retries, and requests' transport not replaced by a
test double (the ``responses`` library patches ``HTTPAdapter.send``). Anything else goes through
requests as before. Redirects and cookies are handled by ``PlatformSession.call`` for both.
Connections are kept as urllib3 keeps them: up to ten idle per host, an idle one checked for a
close by the server before it is used again, none kept after ``Connection: close``.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
from requests.cookies import extract_cookies_to_jar
from requests.exceptions import ChunkedEncodingError, ConnectTimeout, ContentDecodingError, ReadTimeout, SSLError
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers, select_proxy
from urllib3.response import _get_decoder

#: requests' own transport; a test double (``responses``) replaces it, and is then used instead
_REQUESTS_SEND = requests.adapters.HTTPAdapter.send
#: urllib3's default (``HTTPAdapter``'s pool_maxsize): idle connections kept per host
MAX_IDLE_PER_HOST = 10

_Key = tuple[str, str, int]


class KeptConnections:
    """``http.client`` connections to the platforms, kept open between calls (see the module)."""

    def __init__(self) -> None:
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}
        # An owner dropped without ``close`` (an adapter cache replaced) must not leave its
        # sockets open until the interpreter exits: close them when this object is collected.
        weakref.finalize(self, _close_idle, self._idle)

    def usable(
        self, adapter: requests.adapters.BaseAdapter, prepared: PreparedRequest, settings: Mapping[str, Any]
    ) -> bool:
        """Whether ``send`` can take this request (the plain case), else requests does."""
        url = prepared.url or ""
        body = prepared.body
        return (
            requests.adapters.HTTPAdapter.send is _REQUESTS_SEND
            and type(adapter) is requests.adapters.HTTPAdapter
            and adapter.max_retries.total == 0
            and url.startswith(("http://", "https://"))
            and not settings.get("cert")
            and settings.get("verify") is not False
            and (not settings.get("proxies") or select_proxy(url, settings["proxies"]) is None)
            and (body is None or (isinstance(body, bytes | str) and "Content-Length" in prepared.headers))
        )

    def send(self, prepared: PreparedRequest, *, timeout: Any, verify: Any) -> requests.Response:
        """Send ``prepared`` and read the whole answer, as ``HTTPAdapter.send`` followed by
        ``response.content`` would."""
        parts = urlsplit(prepared.url or "")
        https = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        key = (parts.scheme, host, port)
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        raw_body = prepared.body
        body: bytes | None = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body  # type: ignore[assignment]  # usable(): bytes, str or None
        conn = self._take(key)
        if conn is None:
            conn = self._connect(key, connect_timeout, verify, prepared)
        try:
            assert conn.sock is not None  # noqa: S101  connected just now or kept connected
            conn.sock.settimeout(read_timeout)
            conn.putrequest(prepared.method or "GET", target, skip_accept_encoding=True)
            for name, value in prepared.headers.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            answer = conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise ReadTimeout(exc, request=prepared) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise requests.ConnectionError(exc, request=prepared) from None
        try:
            data = answer.read()
        except http.client.IncompleteRead as exc:
            conn.close()
            raise ChunkedEncodingError(exc, request=prepared) from None
        except (OSError, http.client.HTTPException) as exc:  # a timeout too, as requests says it
            conn.close()
            raise requests.ConnectionError(exc, request=prepared) from None
        if conn.sock is not None:  # not closed after a ``Connection: close`` answer
            self._give_back(key, conn)
        return _response(prepared, answer, data)

    def close(self) -> None:
        _close_idle(self._idle)

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        idle = self._idle.get(key)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:  # another thread took the last one
                return None
            if conn.sock is not None and not _dropped(conn.sock):
                return conn
            conn.close()
        return None

    def _give_back(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < MAX_IDLE_PER_HOST:
            idle.append(conn)
        else:
            conn.close()

    def _connect(self, key: _Key, timeout: Any, verify: Any, prepared: PreparedRequest) -> http.client.HTTPConnection:
        scheme, host, port = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context(verify))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()  # sets TCP_NODELAY, as urllib3 does
        except ssl.SSLError as exc:
            conn.close()
            raise SSLError(exc, request=prepared) from None
        except TimeoutError as exc:
            conn.close()
            raise ConnectTimeout(exc, request=prepared) from None
        except OSError as exc:
            conn.close()
            raise requests.ConnectionError(exc, request=prepared) from None
        return conn

    def _context(self, verify: Any) -> ssl.SSLContext:
        """Certificates checked against the bundle requests would use (``verify`` True: certifi's;
        a path: that file or directory)."""
        where = DEFAULT_CA_BUNDLE_PATH if verify is True or verify is None else str(verify)
        context = self._contexts.get(where)
        if context is None:
            is_dir = os.path.isdir(where)
            context = ssl.create_default_context(cafile=None if is_dir else where, capath=where if is_dir else None)
            self._contexts[where] = context
        return context


def _close_idle(idle: dict[_Key, list[http.client.HTTPConnection]]) -> None:
    while idle:
        _, connections = idle.popitem()
        for conn in connections:
            conn.close()


def _dropped(sock: socket.socket) -> bool:
    """An idle kept connection the server has closed (or written to) is readable."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class _Raw:
    """``response.raw`` for an answer read whole: what redirects and cookies read from it."""

    def __init__(self, answer: http.client.HTTPResponse) -> None:
        self._original_response = answer
        self.status = answer.status
        self.reason = answer.reason

    def read(self, *_: Any, **__: Any) -> bytes:
        return b""

    def close(self) -> None:
        return None

    def release_conn(self) -> None:
        return None


def _response(prepared: PreparedRequest, answer: http.client.HTTPResponse, data: bytes) -> requests.Response:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in answer.msg.items():
        # repeated headers joined as urllib3 joins them
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    coding = headers.get("Content-Encoding", "").strip().lower()
    if data and coding and coding != "identity":
        try:
            decoder = _get_decoder(coding)
            data = decoder.decompress(data) + decoder.flush()
        except Exception as exc:  # noqa: BLE001  zlib.error, brotli's…: what urllib3 reports as a DecodeError
            raise ContentDecodingError(exc, request=prepared) from None
    response = requests.Response()
    response.status_code = answer.status
    response.headers = headers
    response.encoding = get_encoding_from_headers(headers)
    response.raw = _Raw(answer)
    response.reason = answer.reason
    response.url = prepared.url or ""
    response.request = prepared
    response._content = data
    response._content_consumed = True
    if "Set-Cookie" in headers:
        extract_cookies_to_jar(response.cookies, prepared, response.raw)
    return response
