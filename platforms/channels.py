"""Build adapters from configuration: base URLs, shared token cache and rate limits.

One adapter per platform per process, each with one HTTP session that keeps its connections
to the platform open between calls (``platforms.session.PlatformSession``); ``close_adapters``
closes them. With REDIS_URL set, tokens and rate-limit counters are shared by every worker
process through Redis.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Flask, current_app

from platforms import get_adapter
from platforms.base import ChannelAdapter
from platforms.ratelimit import RedisRateLimiter, default_rate_limiter
from platforms.tokens import RedisTokenStore, default_token_store

_lock = threading.Lock()


def _shared(app: Flask) -> dict[str, Any]:
    state: dict[str, Any] = app.extensions.setdefault("govmedia_channels", {})
    if "token_store" not in state:
        url = app.config.get("REDIS_URL")
        if url:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            prefix = app.config.get("REDIS_KEY_PREFIX", "")
            state["token_store"] = RedisTokenStore(client, prefix=f"{prefix}govmedia:token:")
            state["rate_limiter"] = RedisRateLimiter(client, prefix=f"{prefix}govmedia:ratelimit:")
        else:
            state["token_store"] = default_token_store()
            state["rate_limiter"] = default_rate_limiter()
        state["adapters"] = {}
    return state


def adapter_options(app: Flask, platform: str) -> dict[str, Any]:
    options: dict[str, Any] = dict(app.config.get("ADAPTER_OPTIONS", {}).get(platform, {}))
    sandbox = app.config.get("SANDBOX_URL")
    base = app.config["PLATFORM_BASE_URLS"].get(platform, "")
    if sandbox and base.startswith(sandbox):
        # Only the sandbox offers account search (no real platform has a public one).
        options.setdefault("search_url", f"{base}/_search/accounts")
    if platform == "weibo":
        options.setdefault("safe_domain", urlsplit(app.config["PUBLIC_BASE_URL"]).hostname)
        # statuses/share requires the real end-user IP (rip); we send the configured one.
        options.setdefault("rip", app.config["WEIBO_RIP"])
    return options


def adapter_for(platform: str) -> ChannelAdapter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        state = _shared(app)
        adapter: ChannelAdapter | None = state["adapters"].get(platform)
        if adapter is None:
            adapter = get_adapter(
                platform,
                base_url=app.config["PLATFORM_BASE_URLS"][platform],
                timeout=float(app.config.get("ADAPTER_TIMEOUT_SECONDS", 15)),
                token_store=state["token_store"],
                rate_limiter=state["rate_limiter"],
                options=adapter_options(app, platform),
            )
            state["adapters"][platform] = adapter
    return adapter


def close_adapters(app: Flask) -> None:
    """Close this app's adapters and their connections; the next ``adapter_for`` builds anew
    (after a change of the platforms' base URLs, say)."""
    with _lock:
        state = app.extensions.get("govmedia_channels") or {}
        adapters = state.pop("adapters", None) or {}
        app.extensions.pop("govmedia_channels", None)
    for adapter in adapters.values():
        adapter.close()
