"""The adapter registry: ``@register`` on each adapter class, ``get_adapter(platform)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

from platforms.base import ChannelAdapter
from platforms.ratelimit import RateLimiter
from platforms.tokens import TokenStore
from platforms.types import Credentials

_REGISTRY: dict[str, type[ChannelAdapter]] = {}

_C = TypeVar("_C", bound=type[ChannelAdapter])


def register(cls: _C) -> _C:
    """Class decorator: make ``cls`` available as ``get_adapter(cls.platform)``."""
    _REGISTRY[cls.platform] = cls
    return cls


def registered_platforms() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def adapter_class(platform: str) -> type[ChannelAdapter]:
    try:
        return _REGISTRY[platform]
    except KeyError:
        raise ValueError(f"未知平台：{platform}") from None


def get_adapter(
    platform: str,
    *,
    base_url: str | None = None,
    timeout: float | tuple[float, float] = 10.0,
    token_store: TokenStore | None = None,
    rate_limiter: RateLimiter | None = None,
    options: Mapping[str, Any] | None = None,
    on_credentials_changed: Callable[[Credentials], None] | None = None,
    session: requests.Session | None = None,
) -> ChannelAdapter:
    """A new adapter for ``platform`` ("wechat", "weibo", "douyin", "toutiao")."""
    return adapter_class(platform)(
        base_url=base_url,
        timeout=timeout,
        token_store=token_store,
        rate_limiter=rate_limiter,
        options=options,
        on_credentials_changed=on_credentials_changed,
        session=session,
    )
