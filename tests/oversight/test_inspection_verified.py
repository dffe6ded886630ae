# ruff: noqa: F811 - the fixtures (unit, fresh_rate_limiter) are imported and then requested
"""A registered account the platform shows as not verified (认证 lost or never done), against the
sandbox over HTTP: ``subject_mismatch`` with ``verified: false`` at a lower confidence than a
different 认证主体, apart from that comparison's own finding; each with its twin:

- Weibo ``verified`` false → the finding; verified → nothing; verified again → resolved;
- WeChat 资质认证 false → the finding;
- a platform that does not say (Douyin without an 企业号 role: ``verified`` None) → nothing;
- a real different 认证主体 on the same account is a second finding, and re-verification resolves
  only the "not verified" one; a discovery run re-evaluating the account does not close it.
"""

from __future__ import annotations

from auth.models import Role
from oversight import discovery
from oversight.inspection import service
from oversight.inspection.judge import UNVERIFIED_CONFIDENCE
from oversight.models import FindingKind, FindingStatus
from platforms.types import PlatformAccount
from tests.oversight.test_inspection import findings, fresh_rate_limiter, plant, unit  # noqa: F401 - fixtures

S = FindingKind.subject_mismatch
MESSAGE = "平台显示账号「{name}」未认证（或认证已失效），应以主办单位「{unit}」完成机构认证"


def unverified(db_session, account, active=True):
    return [f for f in findings(db_session, account, S, active=active) if (f.evidence or {}).get("unverified")]


def test_weibo_lost_verification_is_a_finding_and_re_verification_resolves_it(
    app, db_session, sandbox, unit, make_account, make_user, api_as
):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name, verified=True)
    assert service.inspect_account(account.id).result == "checked"
    assert findings(db_session, account, S) == []  # twin: verified → nothing

    plant(sandbox, "weibo", account.platform_uid, verified=False)
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, S)
    assert f.evidence["verified"] is False and f.evidence["message"] == MESSAGE.format(name=unit.name, unit=unit.name)
    assert f.confidence == UNVERIFIED_CONFIDENCE and f.evidence["source"] == "inspection:own_api"
    assert f.unit_id == unit.id and f.discovered_id is None
    service.inspect_account(account.id)  # seen again: the same finding, not a second one
    assert [g.id for g in findings(db_session, account, S)] == [f.id]
    db_session.commit()
    auditor = api_as(make_user(Role.auditor))
    listed = auditor.get("/api/v1/findings", query_string={"kind": "subject_mismatch"}).json["items"]
    (row,) = [r for r in listed if r["id"] == f.id]
    assert row["kind_label"] == "认证主体与主办单位不符" and row["message"] == f.evidence["message"]
    page = auditor.get(f"/findings/{f.id}").get_data(as_text=True)
    assert "平台显示未认证" in page and "未认证（或认证已失效）" in page

    plant(sandbox, "weibo", account.platform_uid, verified=True)
    service.inspect_account(account.id)
    db_session.refresh(f)
    assert f.status is FindingStatus.resolved and f.reason == "巡检复核时平台显示账号已认证"


def test_wechat_unverified_account_is_a_finding(app, db_session, sandbox, unit, make_account):
    account = make_account(unit, "wechat", name=unit.name)
    plant(sandbox, "wechat", account.platform_uid, name=unit.name, subject=unit.name, verified=False)
    service.inspect_account(account.id)
    (f,) = unverified(db_session, account)
    assert f.evidence["platform"] == "wechat" and f.evidence["verified"] is False


def test_a_platform_that_does_not_say_raises_nothing(app, db_session, sandbox, unit, make_account):
    """Douyin's userinfo gives only the 企业号 role; none is not proof of a missing 认证 (None)."""
    account = make_account(unit, "douyin", name=unit.name)
    plant(sandbox, "douyin", account.platform_uid, name=unit.name, subject=unit.name, verified=False)
    assert service.inspect_account(account.id).result == "checked"
    assert findings(db_session, account, S) == []


def test_unverified_and_a_different_subject_are_two_findings(app, db_session, sandbox, unit, make_account):
    account = make_account(unit, "weibo", name=unit.name)
    company = "某县星光文化传媒有限公司"
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=company, verified=False)
    service.inspect_account(account.id)
    both = findings(db_session, account, S)
    assert len(both) == 2
    (lost,) = [f for f in both if f.evidence.get("unverified")]
    (other,) = [f for f in both if not f.evidence.get("unverified")]
    assert other.evidence["subject"] == company and other.confidence > lost.confidence

    # A discovery run that sees the account (still unverified) leaves the "not verified" finding open.
    seen = PlatformAccount(
        platform="weibo", uid=account.platform_uid, name=unit.name, subject=company, verified=False, source="import"
    )
    discovery.record([seen], source="import")
    assert [f.id for f in unverified(db_session, account)] == [lost.id]

    plant(sandbox, "weibo", account.platform_uid, verified=True)
    service.inspect_account(account.id)
    assert unverified(db_session, account) == []
    assert [f.id for f in findings(db_session, account, S)] == [other.id]  # the subject still differs
