"""A real SMTP server (aiosmtpd on 127.0.0.1) and a real HTTP receiver for the robots' webhooks."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Keeps every message the server accepted (parsed, with its envelope)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from, "message": parsed})
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server() -> Any:

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, sink
    controller.stop()


@pytest.fixture
def smtp(app: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> SmtpSink:
    controller, sink = smtp_server
    sink.messages.clear()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "none")
    monkeypatch.setitem(app.config, "SMTP_FROM", "notify@gov.example.cn")
    return sink


class WebhookReceiver:
    """Answers like the robots: {"errcode": 0, "errmsg": "ok"}, or a queued failure."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures: list[tuple[int, dict[str, Any]]] = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {
                "path": request.path,
                "query": {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()},
                "content_type": request.content_type,
                "json": json.loads(request.get_data() or b"null"),
            }
        )
        status, body = self.failures.pop(0) if self.failures else (200, {"errcode": 0, "errmsg": "ok"})
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def webhook_server() -> Any:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def webhooks(webhook_server: WebhookReceiver) -> WebhookReceiver:
    webhook_server.requests.clear()
    webhook_server.failures.clear()
    return webhook_server
