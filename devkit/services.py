"""Real services on 127.0.0.1: reachable → use; unreachable → skip locally, FAIL under CI=true."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    if reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if in_ci():
        pytest.fail(message + " (CI=true: integration services are required)", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    require("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require("Redis", "127.0.0.1", 6379)


@contextmanager
def redis_namespace(url: str = REDIS_URL, *, label: str = "test") -> Iterator[str]:
    """A fresh REDIS_KEY_PREFIX for the processes of one test (their broker's queues, tokens and
    rate limits live behind it): test runs and xdist workers sharing this Redis never take each
    other's tasks, and only this namespace's keys are removed afterwards (never FLUSHDB, which
    would empty a concurrent run's queues). The benchmarks take theirs with ``label="bench"``."""
    require_redis()
    prefix = f"govmedia-{label}:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        clear_redis_namespace(url, prefix)


def clear_redis_namespace(url: str, prefix: str) -> None:
    """Remove the namespace's keys: its own, and the login limiter's, which the ``limits`` library
    stores as ``LIMITS:LIMITER/<RATELIMIT_KEY_PREFIX>/…``."""
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        for pattern in (f"{prefix}*", f"LIMITS:LIMITER/{prefix}*"):
            for key in client.scan_iter(pattern, count=500):
                client.delete(key)
    except redis.RedisError:
        pass  # Redis went away (the serial restart test): nothing of ours is left in it
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
