"""HTTP plumbing of the adapters: the session class and the log redaction of secrets."""

from __future__ import annotations

import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

_QUERY_SECRET_RE = re.compile(r"((?:access_token|secret|refresh_token|client_secret)=)[^&\s\"']+", re.IGNORECASE)


class RedactSecretsFilter(logging.Filter):
    """Masks ``access_token=...`` and friends in log records (urllib3 logs full URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = _QUERY_SECRET_RE.sub(r"\1***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTION_INSTALLED: list[bool] = []


def install_log_redaction() -> None:
    """Attach ``RedactSecretsFilter`` to urllib3's connection logger (once per process).

    Called by ``platforms.init_app`` (so by every process that runs ``create_app``), never on
    adapter construction."""
    if _REDACTION_INSTALLED:
        return
    logging.getLogger("urllib3.connectionpool").addFilter(RedactSecretsFilter())
    _REDACTION_INSTALLED.append(True)


class PlatformSession(requests.Session):
    """A ``requests.Session`` that reads the proxy settings of the environment once per host.

    requests looks up ``*_proxy``/``no_proxy`` on every call by scanning the whole process
    environment twice — about a tenth of a publishing worker's CPU per post. An adapter talks to
    one or two hosts for the life of the process, so the answer per (scheme, host) is kept; the
    proxies, ``no_proxy`` and the CA bundle variables are honoured exactly as requests does.
    Restart the workers after changing proxy variables.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environ_proxies: dict[tuple[str, str, str], dict[str, str]] = {}

    def merge_environment_settings(  # type: ignore[override]
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        proxies = dict(proxies or {})
        if self.trust_env:
            no_proxy = proxies.get("no_proxy")
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, no_proxy or "")
            env = self._environ_proxies.get(key)
            if env is None:
                env = self._environ_proxies[key] = get_environ_proxies(url, no_proxy=no_proxy)
            for name, value in env.items():
                proxies.setdefault(name, value)
            if verify is True or verify is None:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }
