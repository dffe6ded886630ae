"""End to end against the sandbox platforms over real HTTP.

The sandbox holds three planted accounts:

* an unregistered one — 认证主体 is one of our units, the account is not in the registry;
* a closed-but-posting one — closed in the registry 30 days ago, still posting on the platform;
* a silent one — active in the registry, last post 20 days ago.

``flask discovery run`` (the CLI) plus the monitoring jobs (the bodies of the Celery tasks)
produce exactly the three findings with evidence; running everything again adds none.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from common.db import utcnow
from oversight.findings import today_cn
from oversight.models import Finding, FindingKind, FindingStatus
from registry.models import AccountStatus
from tasks import monitoring as monitoring_tasks


def _iso_days_ago(days: float) -> str:
    return (utcnow() - timedelta(days=days)).isoformat() + "+00:00"


def _plant(sandbox, platform, uid, name, subject, post_days_ago):
    sandbox.call(
        "POST",
        "/_sandbox/accounts",
        json={
            "platform": platform,
            "uid": uid,
            "name": name,
            "subject": subject,
            "verified": True,
            "followers": 1200,
            "posts": [{"text": f"{name}第{i}条", "created_at": _iso_days_ago(d)} for i, d in enumerate(post_days_ago)],
        },
    )


def _run_everything(app, db_session):
    result = app.test_cli_runner().invoke(args=["discovery", "run", "--platform", "weibo", "--platform", "wechat"])
    assert result.exit_code == 0, result.output
    for account_id in monitoring_tasks.monitoring.activity_targets():
        monitoring_tasks.monitor_account(account_id)
    for account_id in monitoring_tasks.monitoring.closure_targets():
        monitoring_tasks.verify_closure(account_id)
    db_session.expire_all()
    return result.output


def test_discovery_and_monitoring_end_to_end(app, db_session, sandbox, make_unit, make_account):
    county = make_unit("青溪县人民政府", region="青溪县")
    culture = make_unit("青溪县文化和旅游局", parent=county, region="青溪县")
    emergency = make_unit("青溪县应急管理局", parent=county, region="青溪县")

    # Silent: registered and active, last post 20 days ago.
    silent = make_account(county, "weibo", uid="5500000001", name="青溪发布")
    _plant(sandbox, "weibo", "5500000001", "青溪发布", "青溪县人民政府", [20, 25, 40])
    # Closed but posting: closed 30 days ago in the registry, posted 2 days ago.
    closed = make_account(
        culture,
        "weibo",
        uid="5500000002",
        name="青溪文旅",
        status=AccountStatus.closed,
        closed_on=today_cn() - timedelta(days=30),
    )
    _plant(sandbox, "weibo", "5500000002", "青溪文旅", "青溪县文化和旅游局", [2, 45])
    # Unregistered: government subject (one of our units), not in the registry.
    _plant(sandbox, "weibo", "5500000003", "青溪应急", "青溪县应急管理局", [1, 3])
    # Noise the reconciliation must ignore: a company account that mentions the county.
    _plant(sandbox, "weibo", "5500000004", "青溪县美食探店", "青溪县某某文化传播有限公司", [1])
    # The emergency bureau's registered WeChat account (so the unit is not just a name).
    wechat = make_account(emergency, "wechat", uid="gh_qx_emergency", name="青溪应急管理")
    _plant(sandbox, "wechat", "gh_qx_emergency", "青溪应急管理", "青溪县应急管理局", [1])
    db_session.commit()

    output = _run_everything(app, db_session)
    assert "新增" in output

    rows = db_session.scalars(sa.select(Finding).order_by(Finding.id)).all()
    by_kind = {}
    for f in rows:
        by_kind.setdefault(f.kind, []).append(f)
    assert set(by_kind) == {FindingKind.unregistered, FindingKind.closed_but_active, FindingKind.inactive_14d}, [
        (f.kind, f.fingerprint) for f in rows
    ]
    assert all(len(v) == 1 for v in by_kind.values())

    unregistered = by_kind[FindingKind.unregistered][0]
    assert unregistered.unit_id == emergency.id
    assert unregistered.account_id is None
    assert unregistered.discovered is not None and unregistered.discovered.platform_uid == "5500000003"
    assert unregistered.evidence["subject"] == "青溪县应急管理局"
    assert unregistered.evidence["unit_name"] == "青溪县应急管理局"
    assert "未在台账备案" in unregistered.evidence["message"]
    assert unregistered.confidence >= 0.9

    cba = by_kind[FindingKind.closed_but_active][0]
    assert cba.account_id == closed.id and cba.unit_id == culture.id
    assert cba.confidence == 1.0
    assert cba.evidence["posted_after_closure"] is True
    assert cba.evidence["closed_on"] == closed.closed_on.isoformat()
    assert cba.evidence["last_post_at"]
    assert cba.fingerprint == f"closed_but_active:weibo:uid=5500000002:account={closed.id}"

    inactive = by_kind[FindingKind.inactive_14d][0]
    assert inactive.account_id == silent.id
    assert inactive.evidence["days_since_last_post"] in (19, 20)
    assert inactive.evidence["last_check"]["ok"] is True
    assert inactive.evidence["data_source"] == "platform_api"
    assert "单项否决" in inactive.evidence["message"]
    assert all(f.status is FindingStatus.open for f in rows)

    # The monitoring cache was filled from the platform.
    db_session.refresh(silent)
    assert silent.monitored_at is not None
    assert silent.posts_7d == 0 and silent.posts_30d == 2
    assert silent.followers == 1200
    db_session.refresh(wechat)
    assert wechat.posts_7d == 1

    # A second run on the same data adds nothing and reopens nothing.
    before = {(f.id, f.fingerprint, f.status) for f in rows}
    _run_everything(app, db_session)
    after_rows = db_session.scalars(sa.select(Finding).order_by(Finding.id)).all()
    assert {(f.id, f.fingerprint, f.status) for f in after_rows} == before
