"""Monitoring sweeps staggered per platform (pure plan + the sweep's queueing) and the
original-post share where a platform tells."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from common.db import utcnow
from oversight import monitoring, probes
from oversight.models import FindingKind
from platforms.ratelimit import InMemoryRateLimiter
from platforms.types import AccountProfile as Profile
from registry.models import AccountStatus
from tasks import monitoring as monitoring_tasks
from tasks.monitoring import MAX_COUNTDOWN_SECONDS, stagger

# ----------------------------------------------------------------------------- the plan (pure)


def test_each_platform_is_spread_at_its_rate():
    targets = [(1, "weibo"), (2, "wechat"), (3, "weibo"), (4, "weibo"), (5, "wechat"), (6, "douyin")]
    plan = stagger(targets, 30)
    assert plan.now == [(1, 0.0), (2, 0.0), (3, 2.0), (4, 4.0), (5, 2.0), (6, 0.0)]
    assert plan.later == [] and plan.dropped == []


def test_no_more_than_the_rate_falls_in_any_minute():
    targets = [(i, "weibo" if i % 3 else "wechat") for i in range(400)]
    plan = stagger(targets, 30)
    platform = dict(targets)
    assert len(plan.now) == 400  # 267 weibo checks fit in 534 s: one sweep, one task each
    for start in range(0, 600, 7):
        in_window = Counter(platform[i] for i, due in plan.now if start <= due < start + 60)
        assert max(in_window.values(), default=0) <= 30


def test_beyond_the_window_goes_to_the_continuation_then_to_the_next_sweep():
    targets = [(i, "weibo") for i in range(5000)] + [(10_000, "wechat")]
    plan = stagger(targets, 30, window=3600, horizon=3 * 3600)
    assert len(plan.now) == 1801 and max(due for _, due in plan.now) == 3598.0  # 1800 weibo + the wechat one
    assert all(due <= MAX_COUNTDOWN_SECONDS for _, due in plan.now)
    assert plan.later == list(range(1800, 5000))[: 2 * 1800]  # due in [3600, 10800)
    assert plan.dropped == list(range(5000))[3 * 1800 :]
    assert not set(plan.later) & set(plan.dropped)
    # The continuation plans its accounts again from 0 with what is left of the horizon.
    follow = stagger([(i, "weibo") for i in plan.later], 30, window=3600, horizon=2 * 3600)
    assert follow.now[0] == (1800, 0.0) and len(follow.now) == 1800 and follow.later == list(range(3600, 5000))


def test_no_horizon_keeps_everything_and_no_rate_means_no_wait():
    targets = [(i, "weibo") for i in range(2000)]
    assert len(stagger(targets, 30).later) == 200 and stagger(targets, 30).dropped == []
    plan = stagger(targets, 0)
    assert {due for _, due in plan.now} == {0.0} and len(plan.now) == 2000
    assert stagger([], 30).now == []
    fast = stagger([(i, "weibo") for i in range(4)], 120)
    assert [due for _, due in fast.now] == [0.0, 0.5, 1.0, 1.5]


# ----------------------------------------------------------------------------- the sweeps (queueing)


@pytest.fixture
def unit(make_unit):
    return make_unit("排程测试县人民政府", region="排程测试县")


def test_activity_sweep_queues_staggered_checks(app, db_session, unit, make_account, monkeypatch):
    sent: list[tuple[tuple[int, ...], dict]] = []
    again: list[dict] = []
    monkeypatch.setattr(monitoring_tasks.check_activity, "apply_async", lambda args, **kw: sent.append((args, kw)))
    monkeypatch.setattr(monitoring_tasks.activity_sweep, "apply_async", lambda args=None, **kw: again.append(kw))
    monkeypatch.setitem(app.config, "MONITOR_RATE_PER_MINUTE", 20)
    weibo = [make_account(unit, "weibo") for _ in range(3)]
    wechat = make_account(unit, "wechat", status=AccountStatus.closing)
    make_account(unit, "douyin", status=AccountStatus.closed)
    assert monitoring_tasks.activity_sweep.run() == 4
    countdowns = {args[0]: kw.get("countdown", 0) for args, kw in sent}
    assert sorted(countdowns[a.id] for a in weibo) == [0, 3.0, 6.0] and countdowns[wechat.id] == 0
    assert all(kw["retry"] is False for _, kw in sent) and again == []

    # Too many for one window: the rest goes to a continuation an hour later, not to the broker now.
    sent.clear()
    monkeypatch.setitem(app.config, "MONITOR_RATE_PER_MINUTE", 1)  # 60 per hour-long window
    extra = [make_account(unit, "weibo") for _ in range(60)]
    assert monitoring_tasks.activity_sweep.run() == 61  # 60 weibo + 1 wechat
    assert len(again) == 1 and again[0]["countdown"] == MAX_COUNTDOWN_SECONDS
    continuation = again[0]["kwargs"]
    assert len(continuation["ids"]) == 3 and continuation["horizon"] == 24 * 3600 - MAX_COUNTDOWN_SECONDS
    assert set(continuation["ids"]) <= {a.id for a in [*weibo, *extra]}

    sent.clear()
    again.clear()
    assert monitoring_tasks.activity_sweep.run(**continuation) == 3
    assert sorted(kw.get("countdown", 0) for _, kw in sent) == [0, 60.0, 120.0] and again == []


def test_closure_sweep_is_staggered_too(app, db_session, unit, make_account, monkeypatch):
    sent = []
    monkeypatch.setattr(monitoring_tasks.check_closure, "apply_async", lambda args, **kw: sent.append((args, kw)))
    closed = [make_account(unit, "weibo", status=AccountStatus.closed) for _ in range(3)]
    make_account(unit, "weibo")
    assert monitoring_tasks.closure_sweep.run() == 3
    assert [args[0] for args, _ in sent] == [a.id for a in closed]
    assert [kw.get("countdown", 0) for _, kw in sent] == [0, 2.0, 4.0]


# ----------------------------------------------------------------------------- original share


@dataclass
class Post:
    created_at: datetime
    original: bool | None = None


@dataclass
class PublishedPost(Post):
    state: str = "published"


@dataclass
class PlainPost:  # an adapter whose RecentPost says nothing about originality
    created_at: datetime


def test_original_share_only_from_posts_that_tell():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    assert monitoring.original_posts([]) is None
    assert monitoring.original_posts([PlainPost(now), Post(now)]) is None  # unknown, never 0
    assert monitoring.original_posts([Post(now, True), Post(now, False), Post(now, True), Post(now)]) == (2, 0.667)
    assert monitoring.original_posts([Post(now, False)]) == (0, 0.0)


def test_original_share_reaches_the_evidence_where_the_platform_tells(app, db_session, unit, make_account):
    account = make_account(unit, "weibo")
    now = utcnow()
    obs = monitoring.Observation(
        account_id=account.id,
        platform="weibo",
        checked_at=now,
        ok=True,
        via="api",
        reachable=True,
        last_post_at=now - timedelta(days=20),
        posts_7d=0,
        posts_30d=3,
        original_posts_30d=1,
        original_share_30d=0.333,
    )
    outcome = monitoring.apply_activity(obs)
    assert outcome.original_share_30d == 0.333 and outcome.as_dict()["original_share_30d"] == 0.333
    finding = db_session.get(monitoring.Finding, outcome.created[0])
    assert finding.kind is FindingKind.inactive_14d
    assert finding.evidence["original_share_30d"] == 0.333 and finding.evidence["original_posts_30d"] == 1

    silent = make_account(unit, "wechat")
    plain = monitoring.apply_activity(
        monitoring.Observation(
            account_id=silent.id, platform="wechat", checked_at=now, ok=True, last_post_at=now - timedelta(days=20)
        )
    )
    assert plain.original_share_30d is None
    assert "original_share_30d" not in db_session.get(monitoring.Finding, plain.created[0]).evidence


def test_fetch_activity_counts_originals_of_the_last_30_days(app, db_session, unit, make_account, monkeypatch):
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    posts = [
        Post(now - timedelta(days=1), True),
        Post(now - timedelta(days=2), False),
        Post(now - timedelta(days=3), True),
        Post(now - timedelta(days=40), False),  # outside the 30 days
    ]

    class Adapter:
        platform = "weibo"
        on_credentials_changed = None

        def __init__(self):
            self.rate_limiter = InMemoryRateLimiter()

        def profile(self, creds):
            return Profile(platform="weibo", uid="u", name="n", status="active")

        def recent_posts(self, creds, limit):
            return [PublishedPost(p.created_at, p.original) for p in posts]

    monkeypatch.setattr(probes, "adapter_or_none", lambda platform: Adapter())  # the probe half of monitoring
    account = make_account(unit, "weibo")
    probe = monitoring.prepare_probe(account.id)
    obs = monitoring.fetch_activity(probe, now.replace(tzinfo=None))
    assert obs.ok, obs.error
    assert obs.posts_30d == 3 and obs.original_posts_30d == 2 and obs.original_share_30d == 0.667
