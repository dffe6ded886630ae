"""What the publishing tasks do around the pipeline: an account's line of deliveries sent in one
task while DELIVERY_CHAIN_SECONDS last, the rest handed to the broker.

The task bodies run here in the test's app context (``Task.run``), with the broker's part
recorded instead of sent; real workers run them in test_pipeline_processes.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta

import pytest
import redis
import sqlalchemy as sa

from auth.models import Role
from common import media
from common.db import utcnow
from devkit import services
from moderation.models import Content, ContentKind, ContentStatus, Disclosure
from moderation.service import content_hash
from platforms import channels
from platforms.ratelimit import InMemoryRateLimiter
from publishers import claim as claiming
from publishers import pipeline, sweeper
from publishers.models import Delivery, DeliveryStatus
from tasks import publishing
from tests.publishers.test_pipeline import PNG


@pytest.fixture
def unit(make_unit):
    return make_unit("发布测试县人民政府")


@pytest.fixture
def approve(db_session, make_user, unit):
    author = make_user(Role.operator, unit=unit)

    def _approve(targets, *, title, body):
        content = Content(
            unit_id=unit.id,
            author_id=author.id,
            title=title,
            body_html=f"<p>{body}</p>",
            body_text=body,
            media=[{"name": "cover.png", "content_type": "image/png", "sha256": media.save(PNG), "alt": "现场"}],
            disclosure=Disclosure.active,
            kind=ContentKind.news,
            status=ContentStatus.approved,
        )
        content.targets = list(targets)
        db_session.add(content)
        db_session.flush()
        content.approved_hash = content_hash(content)
        content.approved_version = content.version
        db_session.commit()
        return content

    return _approve


@pytest.fixture(autouse=True)
def line_budget(app, sandbox, monkeypatch):
    """Time enough for a whole line on a loaded machine (the default is 2 s), and the platforms'
    call limits counted afresh (account ids come again after each test's rollback)."""
    monkeypatch.setitem(app.config, "DELIVERY_CHAIN_SECONDS", 600)
    channels.close_adapters(app)
    channels._shared(app)["rate_limiter"] = InMemoryRateLimiter()
    yield
    channels.close_adapters(app)


@pytest.fixture
def broker(monkeypatch):
    """What the tasks would have sent: (task name, delivery ids)."""
    sent: list[tuple[str, list[int]]] = []

    def to_broker(delivery_ids, task=publishing.deliver):  # type: ignore[no-untyped-def]
        sent.append((task.name, list(delivery_ids)))
        return list(delivery_ids)

    monkeypatch.setattr(publishing, "_to_broker", to_broker)
    monkeypatch.setattr(publishing, "_follow_up", lambda task, delivery_id, outcome: None)
    return sent


def _line(db_session, unit, make_account, approve, n: int) -> list[int]:
    account = make_account(unit, "weibo")
    for i in range(n):
        approve([account], title=f"第{i}条通知", body=f"正文{i}。")
    ids = claiming.claim_due()
    db_session.commit()
    return ids


def _statuses(db_session, ids: list[int]) -> list[DeliveryStatus]:
    db_session.expire_all()
    by_id = dict(db_session.execute(sa.select(Delivery.id, Delivery.status).where(Delivery.id.in_(ids))).all())
    return [by_id[i] for i in ids]


def test_one_task_sends_the_accounts_line_and_queues_nothing(
    app,
    db_session,
    sandbox,
    unit,
    make_account,
    approve,
    broker,
):
    ids = _line(db_session, unit, make_account, approve, 3)
    assert publishing.deliver.run(ids[0]) == "done"
    assert _statuses(db_session, ids) == [DeliveryStatus.sent] * 3
    assert broker == []  # the two handed on went out in the same task
    assert len(sandbox.live_posts("weibo")) == 3


def test_without_a_budget_the_next_delivery_is_queued(
    app,
    db_session,
    sandbox,
    unit,
    make_account,
    approve,
    broker,
    monkeypatch,
):
    monkeypatch.setitem(app.config, "DELIVERY_CHAIN_SECONDS", 0)
    ids = _line(db_session, unit, make_account, approve, 3)
    publishing.deliver.run(ids[0])
    assert _statuses(db_session, ids) == [DeliveryStatus.sent, DeliveryStatus.pending, DeliveryStatus.pending]
    assert broker == [("tasks.publishing.deliver", [ids[1]])]


def test_a_follower_that_fails_in_the_line_is_queued_on_its_own(
    app,
    db_session,
    sandbox,
    unit,
    make_account,
    approve,
    broker,
    monkeypatch,
):
    ids = _line(db_session, unit, make_account, approve, 3)
    real = pipeline.run_delivery

    def run_delivery(delivery_id: int):  # type: ignore[no-untyped-def]
        if delivery_id == ids[1]:
            raise RuntimeError("database went away")
        return real(delivery_id)

    monkeypatch.setattr(pipeline, "run_delivery", run_delivery)
    publishing.deliver.run(ids[0])
    assert _statuses(db_session, ids) == [DeliveryStatus.sent, DeliveryStatus.pending, DeliveryStatus.pending]
    assert broker == [("tasks.publishing.deliver", [ids[1]])]
    monkeypatch.setattr(pipeline, "run_delivery", real)
    publishing.deliver.run(ids[1])  # its own task, from the broker
    assert _statuses(db_session, ids) == [DeliveryStatus.sent] * 3


def test_the_line_shares_the_accounts_status_poll(
    app,
    db_session,
    sandbox,
    unit,
    make_account,
    approve,
    monkeypatch,
):
    """WeChat publishes later: the line's posts are accepted back to back, the first one's poll
    is the only one started, and it settles all of them."""
    polls: list[int] = []
    monkeypatch.setattr(publishing, "_to_broker", lambda ids, task=None: list(ids))
    monkeypatch.setattr(publishing.poll_status, "apply_async", lambda args, countdown=0, **_: polls.append(args[0]))
    account = make_account(unit, "wechat")
    contents = [approve([account], title=f"第{i}条通知", body=f"正文{i}。") for i in range(3)]
    content_ids = [content.id for content in contents]
    ids = claiming.claim_due()
    db_session.commit()
    publishing.deliver.run(ids[0])
    assert polls == [ids[0]]
    for _ in range(6):
        polls.clear()
        publishing.poll_status.run(ids[0])
        if not polls:
            break
    assert _statuses(db_session, ids) == [DeliveryStatus.sent] * 3
    published = db_session.scalars(sa.select(Content.status).where(Content.id.in_(content_ids))).all()
    assert published == [ContentStatus.published] * 3


def test_the_sweeper_reads_the_queues_progress_from_the_message_at_its_front(app, monkeypatch):
    """``queue_waiting_since``: the QUEUED_AT of the oldest message in the Redis list (the one
    workers take next); once the list is empty, the clock runs on from the last one seen there,
    for ENQUEUE_STALE_SECONDS; a message without the header, or a broker other than Redis:
    None (the clock alone)."""
    services.require_redis()
    client = redis.Redis.from_url("redis://127.0.0.1:6379/9")
    queue = f"publishing-test-{uuid.uuid4().hex[:8]}"

    def message(queued_at: datetime | None) -> bytes:
        headers = {"task": "tasks.publishing.deliver"}
        if queued_at is not None:
            headers[publishing.QUEUED_AT] = queued_at.isoformat()
        return json.dumps({"body": "W1sxXSwge30sIHt9XQ==", "headers": headers}).encode()

    older, newer = utcnow() - timedelta(seconds=300), utcnow() - timedelta(seconds=100)
    with app.app_context():
        assert app.config["BROKER_URL"] == "memory://"
        assert publishing.queue_waiting_since() is None  # not Redis: the sweeper goes by the clock
        monkeypatch.setattr(publishing, "_broker_redis", lambda url: client)
        monkeypatch.setattr(publishing, "_FRONT_SEEN", {})
        try:
            assert publishing.queue_waiting_since(queue) is None  # empty, nothing seen yet
            client.lpush(queue, message(older))
            client.lpush(queue, message(newer))  # pushed on the left: the older one is taken next
            assert publishing.queue_waiting_since(queue) == older
            client.rpop(queue)
            assert publishing.queue_waiting_since(queue) == newer
            client.rpop(queue)
            seen_at = utcnow()
            since = publishing.queue_waiting_since(queue)  # empty now: the clock runs on from `newer`
            assert since is not None and newer < since <= newer + (utcnow() - seen_at) + timedelta(seconds=5)
            # ENQUEUE_STALE_SECONDS after the front was last seen, what a worker held then has had its time
            publishing._FRONT_SEEN[queue] = (
                newer,
                utcnow() - timedelta(seconds=app.config["ENQUEUE_STALE_SECONDS"] + 1),
            )
            assert publishing.queue_waiting_since(queue) is None
            client.lpush(queue, message(None))
            assert publishing.queue_waiting_since(queue) is None
        finally:
            client.delete(queue)


@pytest.fixture
def redis_broker(app, monkeypatch):
    """The app's Celery sends to a real Redis (a database of its own) instead of memory://."""
    services.require_redis()
    url = "redis://127.0.0.1:6379/7"
    client = redis.Redis.from_url(url)
    client.delete(publishing.PUBLISHING_QUEUE)
    celery_app = publishing.deliver.app
    monkeypatch.setitem(celery_app.conf, "broker_url", url)
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    monkeypatch.setattr(publishing, "_FRONT_SEEN", {})
    yield client
    celery_app.pool.force_close_all()
    client.delete(publishing.PUBLISHING_QUEUE)


def _front(client) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    """The delivery id and headers of the message workers take next, as Kombu's Redis transport stores it."""
    message = json.loads(client.lindex(publishing.PUBLISHING_QUEUE, -1))
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return int(args[0]), message["headers"]


def test_a_retry_is_queued_again_only_once_its_countdown_has_run_out(
    app, db_session, sandbox, unit, make_account, approve, redis_broker, monkeypatch
):
    """A delivery that fails and waits to retry (a countdown message, due in ~2 minutes): the
    message carries its own QUEUED_AT (the queue's progress reads from it at the front), and the
    sweeper counts staleness from when it falls due, not from the delivery's first enqueue — so
    once due it is not queued a second time while a worker holds it; lost, it is queued again."""
    monkeypatch.setitem(app.config, "RETRY_BASE_SECONDS", 120)  # due well after ENQUEUE_STALE_SECONDS
    stale = timedelta(seconds=app.config["ENQUEUE_STALE_SECONDS"])
    account = make_account(unit, "weibo")
    approve([account], title="停水通知", body="明日停水。")
    sandbox.fault(platform="weibo", endpoint="statuses/share", error="server_error", count=1)
    [delivery_id] = claiming.claim_due()
    db_session.commit()
    assert publishing.enqueue([delivery_id]) == 1
    assert _front(redis_broker)[0] == delivery_id
    redis_broker.rpop(publishing.PUBLISHING_QUEUE)  # a worker takes it
    before = utcnow()
    assert publishing.deliver.run(delivery_id) == "retry"
    db_session.expire_all()
    delivery = db_session.get(Delivery, delivery_id)
    assert delivery.status is DeliveryStatus.retrying and delivery.next_attempt_at > before + stale
    due = delivery.next_attempt_at

    queued, headers = _front(redis_broker)  # the retry, waiting for a worker
    assert queued == delivery_id and headers["eta"] is not None
    queued_at = datetime.fromisoformat(headers[publishing.QUEUED_AT])
    assert before <= queued_at <= utcnow()
    assert publishing.queue_waiting_since() == queued_at
    assert sweeper.sweep(now=due + timedelta(seconds=1), queue_waiting_since=queued_at)[0] == []

    redis_broker.rpop(publishing.PUBLISHING_QUEUE)  # a worker holds it until due, then waits for a free process
    assert sweeper.sweep(now=due + stale / 2)[0] == []
    # lost with its worker: queued again once ENQUEUE_STALE_SECONDS have passed since it fell due
    assert sweeper.sweep(now=due + stale + timedelta(seconds=1))[0] == [delivery_id]
