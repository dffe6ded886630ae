"""Fixed-window rate limiting per (platform, account, operation), per minute / hour / day.

Adapters call ``acquire`` before a request that counts against a platform quota and raise
``RateLimited`` themselves when the answer is "no", instead of burning the platform's quota
(or getting the account flagged). Day windows start at 00:00 Beijing time, when the
platforms reset their daily counters. The Redis limiter checks and increments every window
of one call atomically in a Lua script, so several workers share one budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from publishers.adapters.errors import Scope

SCOPE_WINDOW: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
#: Windows are aligned to this UTC offset (Asia/Shanghai), which matters for "day".
WINDOW_UTC_OFFSET = 8 * 3600


@dataclass(frozen=True)
class Limit:
    count: int
    scope: Scope


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0
    scope: Scope | None = None


def window(scope: str, now: float) -> tuple[int, float]:
    """(window index, seconds until the window ends) for a unix time."""
    size = SCOPE_WINDOW[scope]
    shifted = now + WINDOW_UTC_OFFSET
    index = math.floor(shifted / size)
    return index, (index + 1) * size - shifted


def limits_from_config(config: Mapping[str, Any] | None) -> tuple[Limit, ...]:
    """``{"hour": 30, "day": 100}`` → limits; a None or non-positive count drops that scope."""
    if not config:
        return ()
    out = []
    scopes: tuple[Scope, ...] = ("minute", "hour", "day")
    for scope in scopes:
        value = config.get(scope)
        if value is not None and int(value) > 0:
            out.append(Limit(int(value), scope))
    return tuple(out)


class RateLimiter(Protocol):
    def acquire(self, platform: str, account: str, operation: str, limits: Sequence[Limit]) -> Decision: ...


def _key(prefix: str, parts: tuple[str, str, str], scope: str, index: int) -> str:
    platform, account, operation = parts
    return f"{prefix}{platform}:{account}:{operation}:{scope}:{index}"


class InMemoryRateLimiter:
    """Process-local counters (tests, the single-process default run)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, platform: str, account: str, operation: str, limits: Sequence[Limit]) -> Decision:
        if not limits:
            return Decision(True)
        now = self._clock()
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            keys = []
            for limit in limits:
                index, remaining = window(limit.scope, now)
                key = _key("", (platform, account, operation), limit.scope, index)
                used = self._counts.get(key, (0, 0.0))[0]
                if used + 1 > limit.count:
                    return Decision(False, remaining, limit.scope)
                keys.append((key, now + remaining))
            for key, expires in keys:
                used = self._counts.get(key, (0, expires))[0]
                self._counts[key] = (used + 1, expires)
        return Decision(True)


_ACQUIRE_LUA = """
local n = #KEYS
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used + 1 > tonumber(ARGV[i]) then
    return i
  end
end
for i = 1, n do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[n + i]))
  end
end
return 0
"""


class RedisRateLimiter:
    """Shared counters in Redis (``govmedia:ratelimit:...``), checked and taken atomically."""

    def __init__(
        self,
        client: Any,
        prefix: str = "govmedia:ratelimit:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_ACQUIRE_LUA)

    def acquire(self, platform: str, account: str, operation: str, limits: Sequence[Limit]) -> Decision:
        if not limits:
            return Decision(True)
        now = self._clock()
        keys: list[str] = []
        counts: list[int] = []
        ttls: list[int] = []
        remainders: list[float] = []
        for limit in limits:
            index, remaining = window(limit.scope, now)
            keys.append(_key(self._prefix, (platform, account, operation), limit.scope, index))
            counts.append(limit.count)
            # Keep the key a little past its window so clock skew between workers is harmless.
            ttls.append(math.ceil(remaining) + 60)
            remainders.append(remaining)
        blocked = int(self._script(keys=keys, args=[*counts, *ttls]))
        if blocked:
            limit = limits[blocked - 1]
            return Decision(False, remainders[blocked - 1], limit.scope)
        return Decision(True)


_default_limiter = InMemoryRateLimiter()


def default_rate_limiter() -> InMemoryRateLimiter:
    """The process-wide in-memory limiter used when the caller passes none."""
    return _default_limiter
