"""The adapters' rate limiter (platforms/ratelimit.py).

minute/hour scopes: at most N acquisitions in ANY rolling window of the scope's length;
day scope: at most N per calendar day in Beijing time. Every behaviour runs against the
in-process limiter and against real Redis (127.0.0.1:6379, db 14; skipped locally when Redis
is down, a failure under CI=true) with a simulated clock.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import redis
from flask import Flask

from devkit import services
from platforms import InMemoryRateLimiter, RateLimited, RedisRateLimiter, get_adapter
from platforms.channels import _shared
from platforms.ratelimit import (
    SCOPE_WINDOW,
    Decision,
    Limit,
    RateLimiter,
    default_rate_limiter,
    limits_from_config,
)
from platforms.types import Credentials

REDIS_URL = "redis://127.0.0.1:6379/14"
#: 2023-11-15 00:00:00 in Beijing (+08:00), as a unix time.
BEIJING_MIDNIGHT = 1_700_006_400 - 8 * 3600


class Clock:
    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _clear(client: Any, prefix: str) -> None:
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture
def redis_client() -> Iterator[tuple[Any, str]]:
    """db 14 with a fresh key prefix, emptied before and after the test.

    Only this test's keys are removed (not FLUSHDB): tests/foundation/test_production_shape.py
    uses db 14 as its broker and may run at the same time under ``pytest -n``.
    """
    services.require_redis()

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"govmedia:test:ratelimit:{uuid.uuid4().hex[:8]}:"
    _clear(client, prefix)
    yield client, prefix
    _clear(client, prefix)
    client.close()


Factory = Callable[[Clock | None], RateLimiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
def make_limiter(request: pytest.FixtureRequest) -> Factory:
    """Build a limiter of one kind (the Redis ones of one test share a key prefix)."""
    if request.param == "memory":
        return lambda clock: InMemoryRateLimiter(clock=clock or time.time)
    client, prefix = request.getfixturevalue("redis_client")
    return lambda clock: RedisRateLimiter(client, prefix=prefix, clock=clock)


def take(limiter: RateLimiter, limits: Sequence[Limit], account: str = "acct", operation: str = "publish") -> Decision:
    return limiter.acquire("weibo", account, operation, limits)


# --------------------------------------------------------------------------- rolling windows


def run_in_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_no_burst_of_twice_the_limit_around_an_hour_edge(make_limiter: Factory) -> None:
    """The issue: 30 posts at 10:59 and 30 more at 11:00 against Weibo's 30/hour."""
    clock = Clock(BEIJING_MIDNIGHT + 10 * 3600 + 59 * 60)  # 10:59:00
    limiter = make_limiter(clock)
    limits = (Limit(30, "hour"),)
    for _ in range(30):
        assert take(limiter, limits).allowed
        clock.advance(1)  # 10:59:00 … 10:59:29
    clock.now = BEIJING_MIDNIGHT + 11 * 3600 + 30  # 11:00:30, a new clock hour
    refused = take(limiter, limits)
    assert refused == Decision(False, 3600 - 90, "hour")  # until 11:59:00
    clock.advance(refused.retry_after - 0.5)
    assert not take(limiter, limits).allowed
    clock.advance(0.5)  # 11:59:00: the 10:59:00 post has left the window
    assert take(limiter, limits).allowed
    assert not take(limiter, limits).allowed  # the 10:59:01 one has not


@pytest.mark.parametrize("seed", [1, 2])
def test_never_more_than_n_in_any_rolling_window(make_limiter: Factory, seed: int) -> None:
    """Random traffic for 4 hours: every rolling minute and hour holds at most N, and every
    refusal is justified (a scope really is full) with the exact wait."""
    rng = random.Random(seed)
    clock = Clock(BEIJING_MIDNIGHT + 9 * 3600 + 17)
    limiter = make_limiter(clock)
    limits = (Limit(3, "minute"), Limit(20, "hour"))
    allowed: list[float] = []
    end = clock.now + 4 * 3600
    while clock.now < end:
        now = clock.now
        decision = take(limiter, limits)
        if decision.allowed:
            allowed.append(now)
        else:
            # Which scopes are full right now, and when each frees up.
            frees = {}
            for limit in limits:
                inside = [t for t in allowed if t > now - limit.seconds]
                if len(inside) >= limit.count:
                    frees[limit.scope] = inside[len(inside) - limit.count] + limit.seconds - now
            assert frees, f"refused at {now} although no scope was full"
            scope = max(frees, key=lambda s: frees[s])
            assert decision.scope == scope
            assert decision.retry_after == pytest.approx(frees[scope])
        clock.advance(rng.choice((1, 2, 5, 10, 30, 60, 200)))
    assert len(allowed) > 60  # the limiter did let traffic through
    for limit in limits:
        for start in allowed:
            in_window = sum(1 for t in allowed if start <= t < start + limit.seconds)
            assert in_window <= limit.count, (limit, start)


def test_retry_after_is_exact_per_scope(make_limiter: Factory) -> None:
    clock = Clock(BEIJING_MIDNIGHT + 3 * 3600 + 7)
    limiter = make_limiter(clock)
    minute = (Limit(2, "minute"),)
    assert take(limiter, minute).allowed
    clock.advance(10)
    assert take(limiter, minute).allowed
    clock.advance(10)
    refused = take(limiter, minute)
    assert refused == Decision(False, 40.0, "minute")  # the first leaves the window at +60
    clock.advance(40)
    assert take(limiter, minute).allowed
    refused = take(limiter, minute)
    assert refused == Decision(False, 10.0, "minute")  # now the second (+10) is the oldest


def test_several_scopes_name_the_one_that_frees_last(make_limiter: Factory) -> None:
    clock = Clock(BEIJING_MIDNIGHT + 12 * 3600)
    limiter = make_limiter(clock)
    limits = (Limit(1, "minute"), Limit(1, "hour"))
    assert take(limiter, limits).allowed
    clock.advance(1)
    # Both are full; waiting for the minute alone would only earn another refusal.
    assert take(limiter, limits) == Decision(False, 3599.0, "hour")


def test_refused_calls_take_nothing(make_limiter: Factory) -> None:
    clock = Clock(BEIJING_MIDNIGHT + 8 * 3600)
    limiter = make_limiter(clock)
    limits = (Limit(1, "minute"), Limit(3, "day"))
    assert take(limiter, limits).allowed
    for _ in range(5):
        clock.advance(1)
        assert take(limiter, limits).scope == "minute"
    clock.now = BEIJING_MIDNIGHT + 8 * 3600 + 60
    assert take(limiter, limits).allowed
    clock.advance(60)
    assert take(limiter, limits).allowed  # 3 of the day's 3, not 8
    clock.advance(60)
    assert take(limiter, limits).scope == "day"


def test_lowered_limit_waits_until_enough_have_left(make_limiter: Factory) -> None:
    clock = Clock(BEIJING_MIDNIGHT + 600)
    limiter = make_limiter(clock)
    for _ in range(3):
        assert take(limiter, (Limit(3, "minute"),)).allowed
        clock.advance(10)
    # Configuration now says 2/minute: the +0 and +10 entries must both leave first.
    assert take(limiter, (Limit(2, "minute"),)) == Decision(False, 40.0, "minute")


def test_accounts_and_operations_have_separate_budgets(make_limiter: Factory) -> None:
    limiter = make_limiter(Clock(BEIJING_MIDNIGHT + 100))
    limits = (Limit(1, "hour"), Limit(1, "day"))
    assert take(limiter, limits, "a").allowed
    assert not take(limiter, limits, "a").allowed
    assert take(limiter, limits, "b").allowed
    assert take(limiter, limits, "a", "withdraw").allowed
    assert take(limiter, ()).allowed  # no limits: always allowed, nothing recorded


# --------------------------------------------------------------------------- calendar day


def test_day_scope_resets_at_beijing_midnight(make_limiter: Factory) -> None:
    """Daily quotas are calendar days (WeChat 45009 "not retryable today"), not rolling 24 h."""
    clock = Clock(BEIJING_MIDNIGHT - 60)  # 23:59:00 the day before
    limiter = make_limiter(clock)
    limits = (Limit(2, "day"),)
    assert take(limiter, limits).allowed
    assert take(limiter, limits).allowed
    assert take(limiter, limits) == Decision(False, 60.0, "day")
    clock.advance(60)  # 00:00:00
    assert take(limiter, limits).allowed
    assert take(limiter, limits).allowed
    refused = take(limiter, limits)
    assert refused == Decision(False, 86400.0, "day")
    clock.advance(86399.5)
    assert not take(limiter, limits).allowed
    clock.advance(0.5)
    assert take(limiter, limits).allowed


# --------------------------------------------------------------------------- sharing


@pytest.mark.integration
def test_two_redis_limiters_share_one_budget(redis_client: tuple[Any, str]) -> None:
    client, prefix = redis_client
    clock = Clock(BEIJING_MIDNIGHT + 15 * 3600)
    first = RedisRateLimiter(client, prefix=prefix, clock=clock)
    second = RedisRateLimiter(client, prefix=prefix, clock=clock)
    limits = (Limit(3, "hour"), Limit(5, "day"))
    results = []
    for limiter in (first, second, first, second):
        results.append(take(limiter, limits).allowed)
        clock.advance(100)
    assert results == [True, True, True, False]
    assert take(first, limits) == Decision(False, 3600 - 400.0, "hour")
    hour_key, day_key = (f"{prefix}weibo:acct:publish:{scope}".encode() for scope in ("hour", "day"))
    assert set(client.scan_iter(f"{prefix}*")) == {hour_key, day_key}
    assert client.type(hour_key) == b"zset" and client.zcard(hour_key) == 3
    assert client.type(day_key) == b"hash" and client.hget(day_key, "n") == b"3"  # refusals took nothing
    assert 0 < client.pttl(hour_key) <= (3600 + 60) * 1000
    assert 0 < client.pttl(day_key) <= (9 * 3600 + 60) * 1000  # until Beijing midnight, plus grace


@pytest.mark.integration
def test_redis_limiters_racing_in_threads_never_overshoot(redis_client: tuple[Any, str]) -> None:
    """Six workers, each with its own connection and the Redis server's clock (the default)."""

    _client, prefix = redis_client
    limits = (Limit(25, "hour"), Limit(40, "day"))
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        client = redis.Redis.from_url(REDIS_URL)
        limiter = RedisRateLimiter(client, prefix=prefix)
        mine = [take(limiter, limits).allowed for _ in range(15)]
        client.close()
        with lock:
            results.extend(mine)

    run_in_threads(worker, 6)
    assert results.count(True) == 25
    assert len(results) == 90


@pytest.mark.integration
def test_redis_server_clock_by_default(redis_client: tuple[Any, str]) -> None:
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, prefix=prefix)
    limits = (Limit(1, "minute"),)
    assert take(limiter, limits).allowed
    refused = take(limiter, limits)
    assert refused.scope == "minute"
    assert 55 < refused.retry_after <= 60


def test_in_memory_limiter_is_thread_safe() -> None:
    limiter = InMemoryRateLimiter(clock=Clock(BEIJING_MIDNIGHT + 5))
    limits = (Limit(50, "minute"), Limit(500, "day"))
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [take(limiter, limits).allowed for _ in range(100)]
        with lock:
            results.extend(mine)

    run_in_threads(worker, 8)
    assert results.count(True) == 50


def test_in_memory_limiter_forgets_idle_keys() -> None:
    clock = Clock(BEIJING_MIDNIGHT + 5)
    limiter = InMemoryRateLimiter(clock=clock)
    for n in range(20):
        assert take(limiter, (Limit(1, "minute"), Limit(1, "day")), f"acct{n}").allowed
    clock.advance(86400)
    assert take(limiter, (Limit(1, "minute"), Limit(1, "day")), "late").allowed
    assert len(limiter._logs) == 1
    assert len(limiter._calendar) == 1


# --------------------------------------------------------------------------- wiring


def test_channels_fall_back_to_the_in_process_limiter() -> None:
    app = Flask(__name__)
    app.config["REDIS_URL"] = None
    assert _shared(app)["rate_limiter"] is default_rate_limiter()


@pytest.mark.integration
def test_channels_share_the_redis_limiter_when_configured(redis_client: tuple[Any, str]) -> None:
    client, _prefix = redis_client
    app = Flask(__name__)
    app.config["REDIS_URL"] = REDIS_URL
    limiter = _shared(app)["rate_limiter"]
    assert isinstance(limiter, RedisRateLimiter)
    account = f"test-{uuid.uuid4().hex[:8]}"
    try:
        assert take(limiter, (Limit(1, "minute"),), account).allowed
        assert take(limiter, (Limit(1, "minute"),), account).scope == "minute"
    finally:
        _clear(client, f"govmedia:ratelimit:weibo:{account}:")


def test_adapter_raises_rate_limited_with_the_limiters_wait() -> None:
    clock = Clock(BEIJING_MIDNIGHT + 10 * 3600)
    adapter = get_adapter(
        "weibo",
        rate_limiter=InMemoryRateLimiter(clock=clock),
        options={"rate_limits": {"publish": {"hour": 2, "day": 5}}},
    )
    creds = Credentials(access_token="tok", account_ref="acct-1")
    adapter._acquire(creds, "publish")
    clock.advance(600)
    adapter._acquire(creds, "publish")
    clock.advance(60)
    with pytest.raises(RateLimited) as info:
        adapter._acquire(creds, "publish")
    assert info.value.code == "local_rate_limit"
    assert info.value.scope == "hour"
    assert info.value.retry_after == 3600 - 660
    assert info.value.retryable


def test_limits_from_config() -> None:
    assert limits_from_config({"hour": 30, "day": 0, "minute": None}) == (Limit(30, "hour"),)
    assert limits_from_config(None) == ()
    assert [limit.calendar for limit in limits_from_config({"minute": 1, "hour": 1, "day": 1})] == [
        False,
        False,
        True,
    ]
    assert SCOPE_WINDOW == {"minute": 60, "hour": 3600, "day": 86400}
