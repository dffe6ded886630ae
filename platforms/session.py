"""HTTP plumbing of the adapters: the session class and the log redaction of secrets."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies

from platforms.transport import KeptConnections

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


#: URLs ``PlatformSession`` keeps prepared (all forgotten when it is full)
URL_CACHE_SIZE = 512
_PLAIN = (str, int, float)


class PlatformSession(requests.Session):
    """The adapters' ``requests.Session``: one per adapter, so one per platform and process
    (``platforms.channels``), keeping its connections to the platform open between calls
    (HTTP/1.1 keep-alive, urllib3's pool: up to 10 per host) until ``close``.

    It reads the proxy settings of the environment once per host: requests looks up
    ``*_proxy``/``no_proxy`` on every call by scanning the whole process environment twice —
    about a tenth of a publishing worker's CPU per post. An adapter talks to one or two hosts
    for the life of the process, so the answer per (scheme, host) is kept; the proxies,
    ``no_proxy`` and the CA bundle variables are honoured exactly as requests does. Restart the
    workers after changing proxy variables.

    ``call`` is ``request`` without the parts of ``Session.request`` the platform APIs never use
    and that cost a publishing worker more CPU than the call itself: no session ``params`` or
    ``auth``, no credentials from ``~/.netrc`` (the platforms take tokens in the request), no
    cookie header unless the session holds cookies, no hooks. Redirects are still followed and
    cookies a platform sets are still kept, as ``request`` does. The request itself goes out on
    ``platforms.transport.KeptConnections`` (``http.client`` on kept connections) where it can
    (no proxy, no client certificate, …), else through requests' ``HTTPAdapter``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environ_proxies: dict[tuple[str, str, str], dict[str, str]] = {}
        self.kept = KeptConnections()
        self._urls: dict[tuple[Any, ...], str] = {}

    def close(self) -> None:
        super().close()
        self.kept.close()

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = None,
    ) -> requests.Response:
        """``request(method, url, …)`` on the short path (see the class); the same answer."""
        if self.cookies or self.auth or self.params or self.hooks["response"]:
            return self.request(
                method, url, params=params, data=data, json=json, files=files, headers=headers, timeout=timeout
            )
        prepared = PreparedRequest()
        prepared.prepare_method(method)
        self._prepare_url(prepared, url, params)
        merged = CaseInsensitiveDict(self.headers)
        if headers:
            merged.update(headers)
        prepared.prepare_headers(merged)
        prepared.prepare_body(data, files, json)
        full = prepared.url or url
        if "@" in full.split("/", 3)[2]:
            prepared.prepare_auth(None, full)  # credentials written in the URL
        settings = self.merge_environment_settings(full, {}, None, None, None)
        adapter = self.get_adapter(url=full)
        if self.kept.usable(adapter, prepared, settings):
            response = self.kept.send(prepared, timeout=timeout, verify=settings["verify"])
        else:
            response = adapter.send(prepared, timeout=timeout, **settings)
        if response.headers.get("Set-Cookie") or response.is_redirect:
            prepared._cookies = self.cookies  # what a redirect carries on (resolve_redirects)
            extract_cookies_to_jar(self.cookies, prepared, response.raw)
            history = list(self.resolve_redirects(response, prepared, timeout=timeout, **settings))
            if history:
                history.insert(0, response)
                response = history.pop()
                response.history = history
        response.content  # noqa: B018  read to the end: the connection goes back to the pool
        return response

    def _prepare_url(self, prepared: PreparedRequest, url: str, params: Any) -> None:
        """``prepared.prepare_url(url, params)``, remembered for the last ``URL_CACHE_SIZE`` URLs
        with plain parameters (strings and numbers, in their order): an adapter calls the same few endpoints
        with the same token and the same few arguments again and again, and requests' parsing,
        IDNA check, encoding and re-quoting of a URL cost about a twentieth of a publishing
        worker's CPU. The result is a function of (url, params), so it is the same answer."""
        key: tuple[Any, ...] | None = (url,)
        if params:
            items = tuple(params.items()) if isinstance(params, Mapping) else None
            plain = items is not None and all(type(v) in _PLAIN for _, v in items)
            key = (url, items) if plain else None
        if key is not None:
            known = self._urls.get(key)
            if known is not None:
                prepared.url = known
                return
        prepared.prepare_url(url, params)
        if key is not None and prepared.url is not None:
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()  # simpler than an LRU, and safe between threads
            self._urls[key] = prepared.url

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
