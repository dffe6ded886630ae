"""Activity monitoring and closure verification: thresholds, findings, errors, rate limits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from apscheduler.util import ref_to_obj

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from oversight import findings as service
from oversight import monitoring
from oversight.findings import today_cn
from oversight.models import DiscoveredAccount, Finding, FindingKind, FindingStatus
from oversight.monitoring import ActivityThresholds, Observation, inactivity_kinds
from platforms.models import AccountCredential
from platforms.ratelimit import Decision, InMemoryRateLimiter
from registry.models import AccountStatus
from tasks import jobs
from tasks import monitoring as monitoring_tasks

W, V, Z = FindingKind.inactive_warning, FindingKind.inactive_14d, FindingKind.zombie_90d


# ----------------------------------------------------------------------------- thresholds (pure)


@pytest.mark.parametrize(
    ("days", "kinds"),
    [
        (None, ()),
        (0, ()),
        (6, ()),
        (7, (W,)),
        (14, (W,)),
        (15, (V,)),
        (90, (V,)),
        (91, (V, Z)),
        (400, (V, Z)),
    ],
)
def test_inactivity_kinds_default_thresholds(days, kinds):
    assert inactivity_kinds(days, ActivityThresholds()) == kinds


def test_inactivity_kinds_follow_settings():
    t = ActivityThresholds(warn_days=3, veto_days=5, zombie_days=30)
    assert inactivity_kinds(2, t) == ()
    assert inactivity_kinds(3, t) == (W,)
    assert inactivity_kinds(6, t) == (V,)
    assert inactivity_kinds(31, t) == (V, Z)


def test_thresholds_read_from_app_config(app, monkeypatch):
    monkeypatch.setitem(app.config, "INACTIVE_WARN_DAYS", 2)
    monkeypatch.setitem(app.config, "INACTIVE_VETO_DAYS", 4)
    monkeypatch.setitem(app.config, "ZOMBIE_DAYS", 9)
    with app.app_context():
        assert ActivityThresholds.from_settings() == ActivityThresholds(2, 4, 9)


# ----------------------------------------------------------------------------- apply (no network)


@pytest.fixture
def unit(make_unit):
    return make_unit("监测测试县人民政府", region="监测测试县")


def obs_for(account, *, days=None, ok=True, error=None, now=None, **kw):
    now = now or utcnow()
    return Observation(
        account_id=account.id,
        platform=account.platform.value,
        checked_at=now,
        ok=ok,
        via="api",
        reachable=True if ok else None,
        last_post_at=(now - timedelta(days=days)) if days is not None else None,
        posts_7d=kw.pop("posts_7d", 0),
        posts_30d=kw.pop("posts_30d", 1),
        followers=kw.pop("followers", 10),
        error=error,
        **kw,
    )


def findings_of(db_session, account, *statuses):
    stmt = sa.select(Finding).where(Finding.account_id == account.id).order_by(Finding.id)
    if statuses:
        stmt = stmt.where(Finding.status.in_(statuses))
    return db_session.scalars(stmt).all()


def test_silent_account_gets_veto_finding_once(db_session, unit, make_account):
    account = make_account(unit, "weibo")
    outcome = monitoring.apply_activity(obs_for(account, days=20))
    assert outcome.result == "checked" and outcome.kinds == ("inactive_14d",)
    rows = findings_of(db_session, account)
    assert [f.kind for f in rows] == [V]
    f = rows[0]
    assert f.status is FindingStatus.open and f.unit_id == unit.id
    assert f.evidence["days_since_last_post"] == 20
    assert f.evidence["threshold_days"] == 14
    assert f.evidence["last_check"]["ok"] is True
    assert account.monitored_at is not None and account.last_post_at is not None
    assert account.posts_30d == 1 and account.followers == 10
    db_session.commit()  # audit entries are chained when the transaction commits
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "finding:create", AuditEntry.object_id == str(f.id)
        )
    )
    # Same silence, checked again the next day: same finding, no new one.
    again = monitoring.apply_activity(obs_for(account, days=21, now=utcnow() + timedelta(days=1)))
    assert again.created == []
    assert [x.id for x in findings_of(db_session, account)] == [f.id]
    assert f.evidence["days_since_last_post"] == 21


def test_posting_again_resolves_with_reason(db_session, unit, make_account):
    account = make_account(unit, "weibo")
    monitoring.apply_activity(obs_for(account, days=100))
    assert {f.kind for f in findings_of(db_session, account, FindingStatus.open)} == {V, Z}
    outcome = monitoring.apply_activity(obs_for(account, days=0))
    assert len(outcome.resolved) == 2
    rows = findings_of(db_session, account)
    assert all(f.status is FindingStatus.resolved and f.reason == "恢复更新" for f in rows)
    assert rows[0].evidence["decision"]["by"] == "system:monitoring"
    db_session.commit()  # audit entries are chained when the transaction commits
    assert (
        db_session.scalar(
            sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "finding:status:auto_resolve")
        )
        == 2
    )


def test_warning_escalates_to_veto(db_session, unit, make_account):
    account = make_account(unit, "weibo")
    start = utcnow()
    last = start - timedelta(days=8)
    first = monitoring.apply_activity(obs_last(account, last, start))
    assert first.kinds == ("inactive_warning",)
    second = monitoring.apply_activity(obs_last(account, last, start + timedelta(days=7)))
    assert second.kinds == ("inactive_14d",)
    rows = {f.kind: f for f in findings_of(db_session, account)}
    assert rows[W].status is FindingStatus.resolved and "升级" in rows[W].reason
    assert rows[V].status is FindingStatus.open


def obs_last(account, last, now=None, **kw):
    return Observation(account.id, account.platform.value, now or utcnow(), ok=True, via="api", last_post_at=last, **kw)


def test_dismissed_episode_stays_dismissed_but_next_gap_is_new(db_session, unit, make_account, make_user):
    auditor = make_user(Role.auditor)
    account = make_account(unit, "weibo")
    now = utcnow()
    last = now - timedelta(days=20)
    monitoring.apply_activity(obs_last(account, last, now))
    (f,) = findings_of(db_session, account)
    service.act(f, "dismiss", auditor, "春节期间按规定停更，已报备")
    again = monitoring.apply_activity(obs_last(account, last, now + timedelta(days=2)))
    assert again.created == [] and again.reopened == []
    assert f.status is FindingStatus.dismissed
    # It posted, then went silent again: a new episode, a new finding.
    later = now + timedelta(days=40)
    monitoring.apply_activity(obs_last(account, now + timedelta(days=20), later))
    rows = findings_of(db_session, account)
    assert len(rows) == 2 and rows[1].status is FindingStatus.open and rows[1].fingerprint != f.fingerprint


def test_closing_account_still_bound_by_14_day_rule(db_session, unit, make_account):
    account = make_account(unit, "weibo", status=AccountStatus.closing)
    assert account.id in monitoring.activity_targets()
    monitoring.apply_activity(obs_for(account, days=15))
    (f,) = findings_of(db_session, account)
    assert f.kind is V and "停更公告期" in f.evidence["message"]


def test_closed_and_applying_accounts_are_not_activity_targets(db_session, unit, make_account):
    closed = make_account(unit, "weibo", status=AccountStatus.closed)
    applying = make_account(unit, "wechat", status=AccountStatus.applying)
    targets = monitoring.activity_targets()
    assert closed.id not in targets and applying.id not in targets
    assert monitoring.apply_activity(obs_for(closed, days=30)).result == "skipped"
    assert closed.id in monitoring.closure_targets()


def test_adapter_error_uses_cache_and_is_recorded(db_session, unit, make_account):
    account = make_account(unit, "weibo")
    account.last_post_at = utcnow() - timedelta(days=16)
    account.monitored_at = utcnow() - timedelta(days=1)
    error = {"type": "TransientError", "code": "http_503", "message": "平台服务异常（HTTP 503）"}
    outcome = monitoring.apply_activity(obs_for(account, ok=False, error=error))
    assert outcome.result == "error" and outcome.kinds == ("inactive_14d",)
    (f,) = findings_of(db_session, account)
    assert f.confidence == 0.8
    assert f.evidence["last_check"] == {
        "at": f.evidence["last_check"]["at"],
        "ok": False,
        "via": "api",
        "error": error,
    }
    assert f.evidence["data_source"] == "cache"


def test_never_observed_and_failing_concludes_nothing(db_session, unit, make_account):
    account = make_account(unit, "weibo")
    outcome = monitoring.apply_activity(obs_for(account, ok=False, error={"message": "凭据无效"}))
    assert outcome.result == "error" and outcome.error == {"message": "凭据无效"}
    assert findings_of(db_session, account) == []


def test_discovery_snapshot_fills_in_for_platforms_without_api(db_session, unit, make_account):
    account = make_account(unit, "kuaishou", uid="ks-001")
    db_session.add(
        DiscoveredAccount(
            platform=account.platform,
            platform_uid="ks-001",
            name=account.name,
            last_post_at=utcnow() - timedelta(days=30),
            source="import",
        )
    )
    db_session.flush()
    probe = monitoring.prepare_probe(account.id)
    obs = monitoring.fetch_activity(probe)
    assert obs.ok is False and obs.error["code"] == "no_adapter"
    outcome = monitoring.apply_activity(obs)
    assert outcome.kinds == ("inactive_14d",)
    (f,) = findings_of(db_session, account)
    assert f.evidence["data_source"] == "discovery:import"


def test_veto_threshold_is_a_setting(app, db_session, unit, make_account, monkeypatch):
    monkeypatch.setitem(app.config, "INACTIVE_VETO_DAYS", 10)
    account = make_account(unit, "weibo")
    monitoring.apply_activity(obs_for(account, days=11))
    (f,) = findings_of(db_session, account)
    assert f.kind is V and f.evidence["threshold_days"] == 10


# ----------------------------------------------------------------------------- against the sandbox


def plant(sandbox, platform, uid, days, **extra):
    now = utcnow()
    body = {
        "platform": platform,
        "uid": uid,
        "name": extra.pop("name", f"账号{uid}"),
        "subject": extra.pop("subject", "监测测试县人民政府"),
        "verified": True,
        "followers": extra.pop("followers", 321),
        "posts": [
            {"text": f"第{i}条", "created_at": (now - timedelta(days=d)).isoformat() + "+00:00"}
            for i, d in enumerate(days)
        ],
        **extra,
    }
    sandbox.call("POST", "/_sandbox/accounts", json=body)


@pytest.mark.parametrize("platform", ["weibo", "wechat", "douyin"])
def test_fetch_activity_reads_posts_and_profile(db_session, sandbox, unit, make_account, platform):
    account = make_account(unit, platform, uid=f"{platform[:2]}mon001")
    plant(sandbox, platform, account.platform_uid, [1, 3, 10, 40])
    db_session.commit()
    outcome = monitoring_tasks.monitor_account(account.id)
    assert outcome.result == "checked", outcome.error
    db_session.refresh(account)
    assert account.posts_7d == 2 and account.posts_30d == 3
    assert (utcnow() - account.last_post_at) < timedelta(days=1, minutes=5)
    if platform == "weibo":
        assert account.followers == 321
    assert outcome.kinds == ()


def test_platform_errors_never_crash_the_run(db_session, sandbox, unit, make_account):
    account = make_account(unit, "weibo", uid="wbmonerr1")
    plant(sandbox, "weibo", "wbmonerr1", [30])
    db_session.commit()
    sandbox.fault(platform="weibo", endpoint="*", error="server_error", count=20)
    outcome = monitoring_tasks.monitor_account(account.id)
    assert outcome.result == "error"
    assert outcome.error["type"] == "TransientError"
    assert account.monitored_at is None


def test_monitoring_is_rate_limited_per_platform(app, db_session, sandbox, unit, make_account, monkeypatch):
    fresh = InMemoryRateLimiter()  # the process-wide default also counts earlier tests' calls
    monkeypatch.setattr("platforms.channels.default_rate_limiter", lambda: fresh)
    monkeypatch.setitem(app.config, "MONITOR_RATE_PER_MINUTE", 1)
    a = make_account(unit, "weibo", uid="wbrate001")
    b = make_account(unit, "weibo", uid="wbrate002")
    c = make_account(unit, "wechat", uid="gh_rate003")
    for acct in (a, b, c):
        plant(sandbox, acct.platform.value, acct.platform_uid, [1])
    db_session.commit()
    assert monitoring_tasks.monitor_account(a.id).result == "checked"
    deferred = monitoring_tasks.monitor_account(b.id)
    assert deferred.result == "deferred" and 0 < deferred.retry_after <= 60
    assert monitoring_tasks.monitor_account(c.id).result == "checked"  # another platform's budget


def test_throttle_waits_when_allowed_to():
    class Limiter:
        def __init__(self):
            self.calls = 0

        def acquire(self, platform, key, op, limits):
            self.calls += 1
            return Decision(self.calls > 2, 0.5, "minute")

    class FakeAdapter:
        platform = "weibo"
        rate_limiter = Limiter()

    slept = []
    assert monitoring.throttle(FakeAdapter(), "k", "op", 10, max_wait=5, sleep=slept.append) is None
    assert slept == [0.5, 0.5]
    assert monitoring.throttle(FakeAdapter(), "k", "op", 10, max_wait=0, sleep=slept.append) is None  # third call


# ----------------------------------------------------------------------------- closure verification


def test_closed_account_still_posting(db_session, sandbox, unit, make_account):
    account = make_account(
        unit, "weibo", uid="wbclosed01", status=AccountStatus.closed, closed_on=today_cn() - timedelta(days=20)
    )
    plant(sandbox, "weibo", "wbclosed01", [2])
    db_session.commit()
    outcome = monitoring_tasks.verify_closure(account.id)
    assert outcome.reachable is True and outcome.kinds == ("closed_but_active",)
    (f,) = findings_of(db_session, account)
    assert f.kind is FindingKind.closed_but_active and f.confidence == 1.0
    assert f.evidence["posted_after_closure"] is True and f.evidence["source"] == "probe:api"
    snap = db_session.scalar(sa.select(DiscoveredAccount).where(DiscoveredAccount.platform_uid == "wbclosed01"))
    assert snap.source == "probe" and snap.raw["platform_status"] == "active"
    # Deregistered on the platform now: the probe confirms the closure and resolves the finding.
    sandbox.call(
        "POST", "/_sandbox/accounts", json={"platform": "weibo", "uid": "wbclosed01", "status": "deregistered"}
    )
    outcome = monitoring_tasks.verify_closure(account.id)
    assert outcome.reachable is False and outcome.resolved == [f.id]
    db_session.refresh(f)
    assert f.status is FindingStatus.resolved
    # Back online and posting: reopened (私自重开), and the closure finding comes back (new post).
    sandbox.call(
        "POST",
        "/_sandbox/accounts",
        json={
            "platform": "weibo",
            "uid": "wbclosed01",
            "status": "active",
            "posts": [{"text": "又发了", "created_at": (utcnow() + timedelta(minutes=1)).isoformat() + "+00:00"}],
        },
    )
    outcome = monitoring_tasks.verify_closure(account.id)
    kinds = {x.kind: x for x in findings_of(db_session, account)}
    assert set(kinds) == {FindingKind.closed_but_active, FindingKind.reopened}
    assert kinds[FindingKind.reopened].status is FindingStatus.open
    assert kinds[FindingKind.closed_but_active].status is FindingStatus.open  # new post after the decision
    assert kinds[FindingKind.closed_but_active].evidence["history"][0]["reason"] == monitoring.REASON_CLOSURE_DONE


def test_closed_account_quietly_reachable_is_low_confidence(db_session, sandbox, unit, make_account):
    account = make_account(
        unit,
        "wechat",
        uid="gh_closed02",
        status=AccountStatus.closed_on_platform,
        closed_on=today_cn() - timedelta(days=5),
    )
    plant(sandbox, "wechat", "gh_closed02", [30])
    db_session.commit()
    monitoring_tasks.verify_closure(account.id)
    (f,) = findings_of(db_session, account)
    assert f.kind is FindingKind.closed_but_active and f.confidence == 0.6
    assert f.evidence["posted_after_closure"] is False


def test_closure_probe_falls_back_to_search_without_credentials(db_session, sandbox, unit, make_account):
    account = make_account(
        unit, "weibo", uid="wbclosed03", status=AccountStatus.closed, closed_on=today_cn() - timedelta(days=10)
    )
    db_session.execute(sa.delete(AccountCredential).where(AccountCredential.account_id == account.id))
    plant(sandbox, "weibo", "wbclosed03", [1], name=account.name)
    db_session.commit()
    outcome = monitoring_tasks.verify_closure(account.id)
    assert outcome.reachable is True
    (f,) = findings_of(db_session, account)
    assert f.evidence["source"] == "probe:search" and f.confidence == 1.0


def test_inconclusive_probe_concludes_nothing(app, db_session, sandbox, unit, make_account, monkeypatch):
    monkeypatch.setitem(app.config, "SANDBOX_URL", "http://sandbox.invalid")  # no account search either
    account = make_account(unit, "douyin", uid="dyclosed04", status=AccountStatus.closed, closed_on=today_cn())
    db_session.commit()
    sandbox.fault(platform="douyin", endpoint="*", error="server_error", count=50)
    outcome = monitoring_tasks.verify_closure(account.id)
    assert outcome.result == "error" and outcome.reachable is None
    assert findings_of(db_session, account) == []


# ----------------------------------------------------------------------------- wiring


def test_tasks_are_registered_and_routed(app):
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    names = set(celery.tasks)
    for name in ("check_activity", "check_closure", "activity_sweep", "closure_sweep", "discovery_run"):
        assert f"tasks.monitoring.{name}" in names
    route = celery.amqp.router.route({}, "tasks.monitoring.check_activity")
    assert route["queue"].name == "monitoring"


def test_periodic_jobs_are_importable(app):
    got = {job_id: (path, trigger) for job_id, path, trigger in jobs.periodic_jobs(app)}
    # Monitoring's jobs (inspection and interaction add their own: tests/oversight/test_inspection.py,
    # test_interaction.py).
    assert {"monitoring-activity", "monitoring-closure", "discovery-weekly"} <= set(got)
    assert {"inspection-daily", "inspection-rescan", "interaction-poll"} <= set(got)
    activity = got["monitoring-activity"][1]
    assert activity["trigger"] == "interval" and activity["hours"] == 24
    assert activity["next_run_time"].tzinfo is not None
    assert got["discovery-weekly"][1]["day_of_week"] == "mon"
    for path, _ in got.values():
        assert callable(ref_to_obj(path))


def test_first_sweeps_start_after_the_configured_delay(app, monkeypatch):
    """A restarted scheduler sweeps a minute later by default; FIRST_SWEEP_MINUTES moves it (the
    fan-out bench keeps the sweeps out of its runs)."""
    for minutes in (1, 60):
        monkeypatch.setitem(app.config, "FIRST_SWEEP_MINUTES", minutes)
        before = datetime.now().astimezone()
        got = {job_id: trigger for job_id, _, trigger in jobs.periodic_jobs(app)}
        for job_id in ("monitoring-activity", "interaction-poll", "intake-feeds"):
            wait = got[job_id]["next_run_time"] - before
            assert timedelta(minutes=minutes) <= wait < timedelta(minutes=minutes, seconds=30)


def test_sweep_enqueues_one_task_per_account(db_session, unit, make_account, monkeypatch):
    sent = []
    monkeypatch.setattr(monitoring_tasks.check_activity, "apply_async", lambda args, **kw: sent.append(args))
    a = make_account(unit, "weibo")
    b = make_account(unit, "wechat", status=AccountStatus.closing)
    make_account(unit, "douyin", status=AccountStatus.closed)
    assert monitoring_tasks.activity_sweep.run() == 2
    assert sorted(sent) == sorted([(a.id,), (b.id,)])
