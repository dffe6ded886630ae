"""REDIS_KEY_PREFIX: two installations (or two test runs) on one Redis keep to their own keys.

Each gets its own publishing queue — a task one of them queues is never taken by the other's
workers — and the sweeper reads its own queue's front. Without the setting (the default) the
keys are Celery's own names, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from queue import Empty
from typing import Any

import pytest
import redis

from devkit import services
from devkit.apps import make_test_app
from extensions import db
from platforms import channels
from tasks import publishing
from tasks.celery_app import _transport_options

pytestmark = pytest.mark.integration


@pytest.fixture
def two_runs(app: Any) -> Iterator[list[Any]]:
    """Two apps on Redis db 15, each with a namespace of its own; the session's app is the current
    Celery app again afterwards."""
    with ExitStack() as stack:
        runs = []
        for _ in range(2):
            prefix = stack.enter_context(services.redis_namespace())
            run = make_test_app(
                "sqlite://", BROKER_URL=services.REDIS_URL, REDIS_URL=services.REDIS_URL, REDIS_KEY_PREFIX=prefix
            )
            runs.append(run)
        try:
            yield runs
        finally:
            for run in runs:
                channels.close_adapters(run)
                with run.app_context():
                    db.engine.dispose()
            app.extensions["celery"].set_current()


def _queue(run: Any) -> Any:
    connection = run.extensions["celery"].connection_for_read()
    return connection, connection.SimpleQueue(publishing.PUBLISHING_QUEUE)


def test_a_task_queued_by_one_run_is_seen_only_by_that_run(
    two_runs: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_runs
    monkeypatch.setattr(publishing, "_FRONT_SEEN", {})
    client = redis.Redis.from_url(services.REDIS_URL)
    with first.app_context():
        first.extensions["celery"].set_current()  # the app the tasks send through
        assert publishing._to_broker([424242]) == [424242]
        assert publishing.queue_waiting_since() is not None  # the sweeper reads its own queue's front
    prefix = first.config["REDIS_KEY_PREFIX"]
    assert client.llen(prefix + publishing.PUBLISHING_QUEUE) == 1

    with second.app_context():
        second.extensions["celery"].set_current()
        publishing._FRONT_SEEN.clear()  # what the first run's sweeper saw is its own
        assert publishing.queue_waiting_since() is None  # nothing in the second run's queue
    connection, queue = _queue(second)
    with connection:
        with pytest.raises(Empty):
            queue.get(block=False)  # the second run's worker would find nothing to take
        queue.close()

    connection, queue = _queue(first)
    with connection:
        message = queue.get(block=True, timeout=5)
        assert message.headers["task"] == "tasks.publishing.deliver"
        assert message.headers["argsrepr"] == "(424242,)"
        message.ack()
        queue.close()
    client.close()


def test_tokens_and_rate_limits_live_behind_the_prefix(two_runs: list[Any]) -> None:
    first, second = two_runs
    stores = [channels._shared(run)["token_store"] for run in (first, second)]
    stores[0].set("wechat:token:a", "first", 30)
    assert stores[0].get("wechat:token:a") == "first"
    assert stores[1].get("wechat:token:a") is None
    client = redis.Redis.from_url(services.REDIS_URL)
    assert client.get(first.config["REDIS_KEY_PREFIX"] + "govmedia:token:wechat:token:a") == b"first"
    client.close()


def test_without_a_prefix_the_keys_are_as_before() -> None:
    assert _transport_options("redis://127.0.0.1:6379/0", 5000) == {"visibility_timeout": 3600}
    assert _transport_options("redis://127.0.0.1:6379/0", 5000, "site-a:") == {
        "visibility_timeout": 3600,
        "global_keyprefix": "site-a:",
    }
