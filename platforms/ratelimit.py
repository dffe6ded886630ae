"""Rate limiting per (platform, account, operation), per minute / hour / day.

Adapters call ``acquire`` before a request that counts against a platform quota and raise
``RateLimited`` themselves when the answer is "no", instead of burning the platform's quota
(or getting the account flagged).

Each scope has its own semantics (docs/adapters.md, "限流算法 / Limiter algorithm"):

- ``minute`` and ``hour`` are **rolling windows** (a sliding-window log): at most ``count``
  acquisitions in *any* 60 s / 3600 s span. A fixed window let through up to twice the limit
  around a window edge (30 posts at 10:59 and 30 more at 11:00 against Weibo's 30/hour).
  A rolling window never allows more than a calendar-aligned one would, so it is safe whether
  the platform counts per clock minute/hour (WeChat's 45011 "retry next minute") or rolling.
- ``day`` is a **calendar day in Beijing time** (00:00 Asia/Shanghai): the platforms' daily
  quotas (WeChat 45009 "daily quota reached … not retryable today", ByteDance's 额度) are
  counters that reset at midnight, so a rolling 24 h would refuse calls the platform allows
  all morning after a busy evening.

A refused call takes nothing from any scope. When several scopes refuse, the decision names
the one that frees up last, so waiting ``retry_after`` is enough for every scope.

``InMemoryRateLimiter`` keeps this in the process (thread-safe). ``RedisRateLimiter`` keeps it
in Redis and checks and takes every scope of one call atomically in one Lua script, so all
worker processes share one budget; by default it uses the Redis server's clock, so the workers'
clocks need not agree.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from platforms.errors import Scope

SCOPE_WINDOW: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
#: Windows are aligned to this UTC offset (Asia/Shanghai), which matters for "day".
WINDOW_UTC_OFFSET = 8 * 3600
#: Scopes counted per calendar window (Beijing time); the others are rolling windows.
CALENDAR_SCOPES: frozenset[str] = frozenset({"day"})
#: Redis keys live this much longer than the data in them needs (clock skew, slow calls).
KEY_GRACE_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    count: int
    scope: Scope

    @property
    def seconds(self) -> int:
        return SCOPE_WINDOW[self.scope]

    @property
    def calendar(self) -> bool:
        """Counted per calendar window (Beijing time) rather than over a rolling window."""
        return self.scope in CALENDAR_SCOPES


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0
    scope: Scope | None = None


def window(scope: str, now: float) -> tuple[int, float]:
    """(calendar window index, seconds until the window ends) for a unix time, Beijing time."""
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


def _key(prefix: str, parts: tuple[str, str, str], scope: str) -> str:
    platform, account, operation = parts
    return f"{prefix}{platform}:{account}:{operation}:{scope}"


class InMemoryRateLimiter:
    """Process-local state (tests, the single-process default run); safe across threads."""

    #: Forget idle keys at most this often (seconds of the limiter's clock).
    sweep_interval = 60.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        #: rolling scopes: key → sorted times of the acquisitions still inside the window
        self._logs: dict[str, tuple[int, list[float]]] = {}
        #: calendar scopes: key → (window index, acquisitions in that window)
        self._calendar: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._next_sweep = -math.inf

    def acquire(self, platform: str, account: str, operation: str, limits: Sequence[Limit]) -> Decision:
        if not limits:
            return Decision(True)
        parts = (platform, account, operation)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            blocked: Limit | None = None
            wait = 0.0
            plan: list[tuple[Limit, str, int, int]] = []
            for limit in limits:
                key = _key("", parts, limit.scope)
                if limit.calendar:
                    index, remaining = window(limit.scope, now)
                    stored, used = self._calendar.get(key, (index, 0))
                    used = used if stored == index else 0
                    plan.append((limit, key, index, used))
                    if used >= limit.count and (blocked is None or remaining > wait):
                        blocked, wait = limit, remaining
                    continue
                log = self._trimmed(key, limit.seconds, now)
                excess = len(log) - limit.count
                if excess >= 0:
                    # The acquisition that has to leave the window before this one fits.
                    free_at = log[excess] + limit.seconds - now
                    if blocked is None or free_at > wait:
                        blocked, wait = limit, free_at
                plan.append((limit, key, 0, 0))
            if blocked is not None:
                return Decision(False, max(wait, 0.0), blocked.scope)
            for limit, key, index, used in plan:
                if limit.calendar:
                    self._calendar[key] = (index, used + 1)
                else:
                    bisect.insort(self._logs.setdefault(key, (limit.seconds, []))[1], now)
        return Decision(True)

    def _trimmed(self, key: str, seconds: int, now: float) -> list[float]:
        """The log of ``key`` without the acquisitions at or before ``now - seconds``."""
        log = self._logs.get(key, (seconds, []))[1]
        del log[: bisect.bisect_right(log, now - seconds)]
        return log

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        for key, (seconds, log) in list(self._logs.items()):
            if not log or log[-1] <= now - seconds:
                del self._logs[key]
        for key, (index, _used) in list(self._calendar.items()):
            scope = key.rsplit(":", 1)[1]
            if index < window(scope, now)[0]:
                del self._calendar[key]


# KEYS[i]: one key per limit. ARGV: now ("" = the server's clock), a unique member, the UTC
# offset of calendar windows, then per limit: count, window seconds, 1 if calendar else 0.
# Rolling scope: a sorted set of acquisition times (score = time). Calendar scope: a hash
# {w: window index, n: acquisitions in it}. Returns {0, "0"} when taken, else
# {index of the limit that frees up last, seconds until it does}.
_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local member = ARGV[2]
local offset = tonumber(ARGV[3])
local grace = tonumber(ARGV[4])
local n = #KEYS
local blocked, wait = 0, 0
local plan = {}
for i = 1, n do
  local base = 4 + (i - 1) * 3
  local count = tonumber(ARGV[base + 1])
  local size = tonumber(ARGV[base + 2])
  local free_at = nil
  if ARGV[base + 3] == '1' then
    local shifted = now + offset
    local index = math.floor(shifted / size)
    local remaining = (index + 1) * size - shifted
    local stored = redis.call('HMGET', KEYS[i], 'w', 'n')
    local used = 0
    if tonumber(stored[1]) == index then
      used = tonumber(stored[2]) or 0
    end
    if used >= count then
      free_at = remaining
    end
    plan[i] = {index, used, remaining}
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - size)
    local used = redis.call('ZCARD', KEYS[i])
    if used >= count then
      local entry = redis.call('ZRANGE', KEYS[i], used - count, used - count, 'WITHSCORES')
      free_at = tonumber(entry[2]) + size - now
    end
    plan[i] = false
  end
  if free_at and (blocked == 0 or free_at > wait) then
    blocked, wait = i, free_at
  end
end
if blocked > 0 then
  return {blocked, string.format('%.17g', wait)}
end
for i = 1, n do
  local base = 4 + (i - 1) * 3
  local size = tonumber(ARGV[base + 2])
  if plan[i] then
    redis.call('HSET', KEYS[i], 'w', string.format('%d', plan[i][1]), 'n', plan[i][2] + 1)
    redis.call('PEXPIRE', KEYS[i], math.ceil((plan[i][3] + grace) * 1000))
  else
    redis.call('ZADD', KEYS[i], string.format('%.17g', now), member)
    redis.call('PEXPIRE', KEYS[i], math.ceil((size + grace) * 1000))
  end
end
return {0, '0'}
"""


class RedisRateLimiter:
    """Shared state in Redis (``govmedia:ratelimit:<platform>:<account>:<operation>:<scope>``),
    checked and taken atomically. ``clock=None`` (the default) uses the Redis server's time;
    pass a clock to simulate time in tests."""

    def __init__(
        self,
        client: Any,
        prefix: str = "govmedia:ratelimit:",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_ACQUIRE_LUA)

    def acquire(self, platform: str, account: str, operation: str, limits: Sequence[Limit]) -> Decision:
        if not limits:
            return Decision(True)
        parts = (platform, account, operation)
        keys = [_key(self._prefix, parts, limit.scope) for limit in limits]
        now = "" if self._clock is None else repr(float(self._clock()))
        args: list[Any] = [now, uuid.uuid4().hex, WINDOW_UTC_OFFSET, KEY_GRACE_SECONDS]
        for limit in limits:
            args += [limit.count, limit.seconds, 1 if limit.calendar else 0]
        blocked, wait = self._script(keys=keys, args=args)
        if int(blocked):
            raw = wait.decode() if isinstance(wait, bytes) else str(wait)
            return Decision(False, max(float(raw), 0.0), limits[int(blocked) - 1].scope)
        return Decision(True)


_default_limiter = InMemoryRateLimiter()


def default_rate_limiter() -> InMemoryRateLimiter:
    """The process-wide in-memory limiter used when the caller passes none."""
    return _default_limiter
