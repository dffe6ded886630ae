"""Token caches shared by adapters: a ``TokenStore`` protocol, in-process and Redis versions.

Values are opaque strings (adapters store tokens or small JSON documents). The Redis store
is what makes a WeChat access token or a refreshed Douyin token visible to every worker.
Nothing here logs keys' values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TokenStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


class InMemoryTokenStore:
    """A thread-safe dict with per-key expiry; for one process (tests, the default run)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            value, expires = item
            if expires <= self._clock():
                del self._data[key]
                return None
            return value

    def set(self, key: str, value: str, ttl: float) -> None:
        if ttl <= 0:
            self.delete(key)
            return
        with self._lock:
            self._data[key] = (value, self._clock() + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisTokenStore:
    """Tokens in Redis under ``govmedia:token:<key>`` with a TTL; shared by all workers."""

    def __init__(self, client: Any, prefix: str = "govmedia:token:") -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> str | None:
        value = self._redis.get(self._key(key))
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def set(self, key: str, value: str, ttl: float) -> None:
        if ttl <= 0:
            self.delete(key)
            return
        self._redis.set(self._key(key), value, px=max(int(ttl * 1000), 1))

    def delete(self, key: str) -> None:
        self._redis.delete(self._key(key))


_default_store = InMemoryTokenStore()


def default_token_store() -> InMemoryTokenStore:
    """The process-wide in-memory store used when the caller passes none."""
    return _default_store
