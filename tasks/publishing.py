"""Thin publishing tasks: call the pipeline's unit of work (publishers.pipeline, which owns the
transactions), then do the broker's part — schedule the follow-up, enqueue what it hands on."""

from __future__ import annotations

import functools
import json
import logging
import time
from datetime import datetime, timedelta

import redis
from celery import shared_task
from kombu.exceptions import OperationalError

from common.db import utcnow
from extensions import db
from publishers import claim, pipeline
from publishers.shared import NextStep, setting

log = logging.getLogger("govmedia.publishing")

# Waits longer than this are left to the sweeper (it re-enqueues at next_attempt_at), so
# broker messages never sit for hours in a worker's memory.
MAX_COUNTDOWN_SECONDS = 300
#: the header of a message queued by ``_to_broker``: when it was queued (UTC, ISO 8601)
QUEUED_AT = "queued_at"
PUBLISHING_QUEUE = "publishing"


def _follow_up(task, delivery_id: int, outcome: NextStep) -> None:  # type: ignore[no-untyped-def]
    if outcome.action == "retry" and outcome.delay <= MAX_COUNTDOWN_SECONDS:
        _retry_later(task, delivery_id, outcome.delay)
    elif outcome.action == "poll":
        poll_status.apply_async((delivery_id,), countdown=max(1.0, outcome.delay))


def _retry_later(task, delivery_id: int, delay: float) -> None:  # type: ignore[no-untyped-def]
    """Queue the retry with a countdown, stamped like every message we queue (QUEUED_AT: now, so
    ``queue_waiting_since`` reads the queue's progress from it when it waits at the front), and
    mark the delivery queued as of when that message falls due: the sweeper counts its
    ENQUEUE_STALE_SECONDS from then, not from the delivery's first enqueue — else a retry due
    later than that, still held by a worker or waiting for a free one, is queued a second time."""
    now = utcnow()
    claim.mark_enqueued([delivery_id], at=now + timedelta(seconds=delay))
    db.session.commit()
    task.apply_async((delivery_id,), countdown=delay, headers={QUEUED_AT: now.isoformat()})


def _keep_loaded() -> None:
    """This task's session keeps what it loaded across its own commits (about a third fewer
    queries per delivery); rows that decide anything are re-read under lock (shared.for_update).
    The session is discarded when the task ends (AppTask)."""
    db.session().expire_on_commit = False


@shared_task(name="tasks.publishing.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: int) -> str:
    """``pipeline.run_delivery``, then the account's next deliveries it hands on, in this task
    for up to DELIVERY_CHAIN_SECONDS (``run_line``); the one handed on after that is queued."""
    _keep_loaded()
    outcome = run_line(delivery_id, setting("DELIVERY_CHAIN_SECONDS", 2.0))
    if outcome.follower is not None:
        _to_broker([outcome.follower])
    return outcome.action


def run_line(delivery_id: int, budget: float) -> NextStep:
    """Send ``delivery_id``, then, while ``budget`` seconds last, each delivery its account hands
    on (``outcome.follower``: marked queued in the database, as for the broker) right here
    instead of through a message of its own — each one a whole ``pipeline.run_delivery``, as its
    own task would run it, with the session emptied in between. A message costs the worker about
    as much CPU as the delivery's own database work (publish, receive, hold, acknowledge;
    ``bench/fanout.py --profile``), and an account's posts sent back to back also share its
    status poll (``publishers.poll``). Returns the last outcome; its follower, if any, is for
    the caller to queue. An error in a follower is logged and the follower queued as its own
    task; should the process die, the sweeper queues what was handed on
    (ENQUEUE_STALE_SECONDS), as for a lost message."""
    deadline = time.monotonic() + budget
    outcome = pipeline.run_delivery(delivery_id)
    _follow_up(deliver, delivery_id, outcome)
    while outcome.follower is not None and time.monotonic() < deadline:
        follower = outcome.follower
        db.session.expunge_all()  # as a task of its own: nothing loaded for the previous delivery
        try:
            outcome = pipeline.run_delivery(follower)
        except Exception:
            db.session.rollback()
            log.exception("delivery %s, handed on in the same task, failed; queued as a task of its own", follower)
            return NextStep("done", follower=follower)
        _follow_up(deliver, follower, outcome)
    return outcome


@shared_task(name="tasks.publishing.poll_status", acks_late=True, reject_on_worker_lost=True)
def poll_status(delivery_id: int) -> str:
    _keep_loaded()
    outcome = pipeline.run_poll(delivery_id)
    if outcome.action == "poll":
        poll_status.apply_async((delivery_id,), countdown=max(1.0, outcome.delay))
    return outcome.action


@shared_task(name="tasks.publishing.withdraw_delivery", acks_late=True, reject_on_worker_lost=True)
def withdraw_delivery(delivery_id: int) -> str:
    outcome = pipeline.run_withdraw(delivery_id)
    _follow_up(withdraw_delivery, delivery_id, outcome)
    return outcome.action


def _to_broker(delivery_ids: list[int], task=deliver) -> list[int]:  # type: ignore[no-untyped-def]
    """Send to the broker, all through one producer (one connection taken from the pool for the
    whole batch, not one per message); stop at the first failure (the rows wait in the database)."""
    sent: list[int] = []
    if not delivery_ids:
        return sent
    headers = {QUEUED_AT: utcnow().isoformat()}
    try:
        with task.app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                task.apply_async((delivery_id,), retry=False, producer=producer, headers=headers)
                sent.append(delivery_id)
    except OperationalError:
        log.warning("broker unavailable; %d deliveries wait in the database", len(delivery_ids) - len(sent))
    return sent


def enqueue(delivery_ids: list[int], task=deliver) -> int:  # type: ignore[no-untyped-def]
    """Enqueue after commit. If the broker is down, the rows stay pending and the sweeper retries."""
    sent = _to_broker(delivery_ids, task)
    claim.mark_enqueued(sent)
    db.session.commit()
    return len(sent)


def claim_and_enqueue() -> int:
    """Scheduler tick: claim due content (outbox), commit, then enqueue the first delivery of
    each account; the rest follow as each one finishes (hand-off), or by the sweeper."""
    return enqueue(pipeline.run_claim())


def sweep_and_enqueue() -> int:
    to_send, to_withdraw = pipeline.run_sweep(queue_waiting_since())
    return enqueue(to_send) + enqueue(to_withdraw, task=withdraw_delivery)


def queue_waiting_since(queue: str = PUBLISHING_QUEUE) -> datetime | None:
    """How far the broker's ``queue`` has got, for the sweeper to count staleness from the
    queue's progress rather than the clock alone (``sweeper.sweep``): when the oldest message
    still waiting in it was queued (its QUEUED_AT header). Once the queue is empty, the clock
    runs on from the last message seen at its front, so the messages a worker took last and
    holds until a pool process is free get their ENQUEUE_STALE_SECONDS from then; after that
    the clock alone. None if the broker is not Redis or does not answer, or nothing was seen
    yet: the sweeper then goes by the clock alone. One LINDEX per sweep (of the queue's key,
    behind REDIS_KEY_PREFIX when one is set)."""
    conf = deliver.app.conf
    client = _broker_redis(conf.broker_url)
    if client is None:
        return None
    key = (conf.broker_transport_options or {}).get("global_keyprefix", "") + queue
    try:
        raw = client.lindex(key, -1)  # Kombu pushes on the left, workers pop on the right
    except redis.RedisError:
        log.warning("broker unreadable; the sweeper goes by the clock alone")
        return None
    now = utcnow()
    front = _queued_at(raw) if raw is not None else None
    if front is not None:
        _FRONT_SEEN[queue] = (front, now)
        return front
    if raw is not None or queue not in _FRONT_SEEN:
        return None  # a message not of ours at the front (queued by hand, a countdown): the clock decides
    front, seen = _FRONT_SEEN[queue]
    if (now - seen).total_seconds() > setting("ENQUEUE_STALE_SECONDS", 60):
        return None  # whatever a worker held then has had its time: a long-past backlog lags nothing
    return front + (now - seen)


#: per queue, in this (scheduler) process: the QUEUED_AT of the message last seen at the
#: queue's front, and when it was seen
_FRONT_SEEN: dict[str, tuple[datetime, datetime]] = {}


def _queued_at(raw: bytes) -> datetime | None:
    try:
        stamp = json.loads(raw).get("headers", {}).get(QUEUED_AT)
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except (ValueError, AttributeError):
        return None


@functools.cache
def _broker_redis(url: str) -> redis.Redis | None:
    if not url.startswith(("redis://", "rediss://")):
        return None
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
