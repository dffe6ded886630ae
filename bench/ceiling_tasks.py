"""The ceiling for bench/fanout.py: bare Celery tasks, one HTTP POST each, nothing else.

Its broker queues and its counter live behind ``BENCH_KEY_PREFIX`` (bench/fanout.py passes a
namespace from ``devkit.services.redis_namespace``, as the tests take theirs), so a ceiling run
never shares keys with a test run or another bench on the same Redis."""

from __future__ import annotations

import os

import redis
import requests
from celery import Celery

from devkit.services import REDIS_URL

BROKER_URL = os.environ.get("BENCH_BROKER_URL", REDIS_URL)
KEY_PREFIX = os.environ.get("BENCH_KEY_PREFIX", "govmedia-bench:ceiling:")
#: how many deliveries' work the ceiling's tasks have finished (read by bench/fanout.py)
DONE_KEY = f"{KEY_PREFIX}bench:ceiling:done"

ceiling = Celery("ceiling", broker=BROKER_URL)
ceiling.conf.update(
    broker_transport_options={"global_keyprefix": KEY_PREFIX},
    task_ignore_result=True,
    # the pipeline's worker setting (WORKER_PREFETCH_MULTIPLIER), passed on by bench/fanout.py
    worker_prefetch_multiplier=int(os.environ.get("WORKER_PREFETCH_MULTIPLIER", "4")),
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
)
_session = requests.Session()
_counter = redis.Redis.from_url(BROKER_URL)


@ceiling.task(name="bench.post")
def post(url: str, token: str, text: str) -> None:
    _session.post(url, data={"access_token": token, "status": text, "rip": "127.0.0.1"}, timeout=10)
    _counter.incr(DONE_KEY)


@ceiling.task(name="bench.deliver_like")
def deliver_like(url: str, token: str, text: str, calls: int, polls: int) -> None:
    """The platform work of one delivery and nothing else: ``calls`` POSTs in this task, then
    ``polls`` status reads as tasks of their own (bench/fanout.py's same-work ceiling)."""
    for i in range(calls):
        _session.post(url, data={"access_token": token, "status": f"{text} #{i}", "rip": "127.0.0.1"}, timeout=10)
    if polls:
        poll_like.delay(url, token, text, polls)
    else:
        _counter.incr(DONE_KEY)


@ceiling.task(name="bench.poll_like")
def poll_like(url: str, token: str, text: str, polls: int) -> None:
    _session.post(url, data={"access_token": token, "status": f"{text} poll {polls}", "rip": "127.0.0.1"}, timeout=10)
    if polls > 1:
        poll_like.delay(url, token, text, polls - 1)
    else:
        _counter.incr(DONE_KEY)


@ceiling.task(name="bench.line_like")
def line_like(url: str, token: str, text: str, work: list[list[int]]) -> None:
    """The platform work of several deliveries in one task, their status reads included — the
    pipeline's grouping since an account's line is sent in one task (DELIVERY_CHAIN_SECONDS) and
    its posts share one status poll (bench/fanout.py's same-work ceiling in lines)."""
    for n, (calls, polls) in enumerate(work):
        for i in range(calls + polls):
            data = {"access_token": token, "status": f"{text} {n}.{i}", "rip": "127.0.0.1"}
            _session.post(url, data=data, timeout=10)
    _counter.incr(DONE_KEY, len(work))
