"""The ceiling for bench/fanout.py: bare Celery tasks, one HTTP POST each, nothing else."""

from __future__ import annotations

import os

import redis
import requests
from celery import Celery

ceiling = Celery("ceiling", broker=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11"))
ceiling.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
)
_session = requests.Session()
_counter = redis.Redis.from_url(os.environ.get("BENCH_COUNTER_URL", "redis://127.0.0.1:6379/11"))


@ceiling.task(name="bench.post")
def post(url: str, token: str, text: str) -> None:
    _session.post(url, data={"access_token": token, "status": text, "rip": "127.0.0.1"}, timeout=10)
    _counter.incr("bench:ceiling:done")
