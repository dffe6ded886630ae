"""Resolve with a remedy: 登记入台账 (unregistered → an application) and 发起注销 (→ request_close)."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from oversight import findings as service
from oversight.findings import FindingInput
from oversight.models import DiscoveredAccount, Finding, FindingKind, FindingStatus
from registry.models import Account, AccountEvent, AccountStatus, Platform
from tests.conftest import PASSWORD

HEADER = "平台,账号ID,账号名称,认证主体,认证,主页链接,粉丝数,最近发文时间\n"


@pytest.fixture
def county(make_unit):
    return make_unit("丰源县人民政府", region="丰源县")


@pytest.fixture
def bureau(make_unit, county):
    return make_unit("丰源县教育局", parent=county, region="丰源县")


@pytest.fixture
def other(make_unit):
    return make_unit("外县人民政府", region="外县")


@pytest.fixture
def auditor_user(make_user):
    return make_user(Role.auditor)


def import_list(api, rows: str) -> dict:
    response = api.post(
        "/api/v1/discovery/imports",
        data={"file": (io.BytesIO((HEADER + rows).encode()), "list.csv"), "source": "监测机构"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    return response.json


def unregistered(db_session, uid: str) -> Finding:
    return db_session.scalar(
        sa.select(Finding).where(Finding.kind == FindingKind.unregistered, Finding.fingerprint.contains(uid))
    )


def make_finding(kind, *, unit=None, account=None, discovered=None, **evidence):
    return service.upsert_many(
        [
            FindingInput(
                kind=kind,
                fingerprint=f"test:{uuid.uuid4().hex}",
                evidence={"message": "测试问题", **evidence},
                account_id=getattr(account, "id", None),
                unit_id=getattr(unit, "id", None),
                discovered_id=getattr(discovered, "id", None),
            )
        ]
    ).created[0]


def counts(db_session) -> tuple[int, int, int]:
    return (
        db_session.scalar(sa.select(sa.func.count(Account.id))),
        db_session.scalar(sa.select(sa.func.count(AccountEvent.id))),
        db_session.scalar(sa.select(sa.func.count(AuditEntry.id))),
    )


# ----------------------------------------------------------------------------- register (API)


def test_register_creates_an_application_from_the_evidence_and_links_it(api_as, auditor_user, bureau, db_session):
    api = api_as(auditor_user)
    import_list(api, "微博,fy-edu-1,丰源教育,丰源县教育局,是,https://weibo.com/u/1,1200,\n")
    f = unregistered(db_session, "fy-edu-1")
    assert f.unit_id == bureau.id and f.account_id is None

    detail = api.get(f"/api/v1/findings/{f.id}").json
    offered = {r["remedy"]: r for r in detail["remedies"]}
    assert set(offered) == {"register"} and offered["register"]["available"] is True
    assert offered["register"]["prefill"]["unit_id"] == bureau.id
    assert detail["actions"] == ["confirm", "dismiss", "resolve"]

    response = api.post(
        f"/api/v1/findings/{f.id}/actions/resolve", json={"remedy": "register", "reason": "责令补办备案"}
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "resolved" and body["reason"] == "责令补办备案"
    account = db_session.get(Account, body["account_id"])
    assert account.platform is Platform.weibo and account.platform_uid == "fy-edu-1"
    assert account.name == "丰源教育" and account.unit_id == bureau.id
    assert account.verified_subject == "丰源县教育局" and account.verified is True
    assert account.profile_url == "https://weibo.com/u/1"
    assert account.status is AccountStatus.applying and account.filing_due_on is not None
    assert body["decision"]["remedy"]["remedy"] == "register"
    assert body["decision"]["remedy"]["account_id"] == account.id
    assert body["remedies"] == []  # resolved: nothing more to do

    event = db_session.scalar(sa.select(AccountEvent).where(AccountEvent.account_id == account.id))
    assert event.action == "open" and event.actor_id == auditor_user.id
    assert f"问题线索 #{f.id}" in event.reason
    opened = db_session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "account:status:open", AuditEntry.object_id == str(account.id))
    )
    assert opened.actor_id == auditor_user.id
    resolved = db_session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "finding:status:resolve", AuditEntry.object_id == str(f.id))
    )
    assert resolved.after["remedy"]["account_id"] == account.id and resolved.after["account_id"] == account.id

    # The applicant cannot approve their own application (四眼原则): the registry's rule applies.
    refused = api.post(f"/api/v1/accounts/{account.id}/actions/approve", json={})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "own_application"

    # Discovery again with the same list: the account is registered now; nothing new, still resolved.
    again = import_list(api, "微博,fy-edu-1,丰源教育,丰源县教育局,是,https://weibo.com/u/1,1300,\n")
    assert again["findings"]["created"] == 0 and again["findings"]["reopened"] == 0
    db_session.refresh(f)
    assert f.status is FindingStatus.resolved


def test_register_needs_a_unit_when_reconciliation_found_none(api_as, auditor_user, county, bureau, db_session):
    snap = DiscoveredAccount(platform=Platform.douyin, platform_uid="dy-x1", name="某某发布", subject="某某办公室")
    db_session.add(snap)
    db_session.flush()
    f = make_finding(
        FindingKind.unregistered,
        discovered=snap,
        platform="douyin",
        uid="dy-x1",
        name="某某发布",
        subject="某某办公室",
        candidate_units=[{"id": county.id, "name": county.name}, {"id": bureau.id, "name": bureau.name}],
    )
    api = api_as(auditor_user)
    before = counts(db_session)
    response = api.post(f"/api/v1/findings/{f.id}/actions/resolve", json={"remedy": "register", "reason": "补登"})
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert "unit_id" in details and {c["id"] for c in details["candidate_units"]} == {county.id, bureau.id}
    assert counts(db_session) == before
    db_session.refresh(f)
    assert f.status is FindingStatus.open and f.account_id is None

    bad_unit = api.post(
        f"/api/v1/findings/{f.id}/actions/resolve", json={"remedy": "register", "reason": "补登", "unit_id": 999999}
    )
    assert bad_unit.status_code in (404, 422)
    ok = api.post(
        f"/api/v1/findings/{f.id}/actions/resolve",
        json={"remedy": "register", "reason": "补登", "unit_id": bureau.id, "name": "丰源教育发布"},
    )
    assert ok.status_code == 200, ok.json
    account = db_session.get(Account, ok.json["account_id"])
    assert account.unit_id == bureau.id and account.name == "丰源教育发布" and account.platform is Platform.douyin
    assert ok.json["unit_id"] == bureau.id


def test_register_refusals_change_nothing(api_as, auditor_user, bureau, make_account, db_session):
    api = api_as(auditor_user)
    import_list(api, "微博,fy-edu-2,丰源教育,丰源县教育局,是,,,\n抖音,fy-edu-3,丰源教育抖音,丰源县教育局,是,,,\n")
    weibo = unregistered(db_session, "fy-edu-2")
    douyin = unregistered(db_session, "fy-edu-3")
    # Since the discovery run, the unit registered another Douyin account; and someone took the uid.
    make_account(bureau, "douyin", uid="fy-edu-dy-main")
    make_account(bureau, "weibo", uid="fy-edu-2", status=AccountStatus.rejected)
    before = counts(db_session)

    taken = api.post(f"/api/v1/findings/{weibo.id}/actions/resolve", json={"remedy": "register", "reason": "补登"})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "uid_taken"
    duplicate = api.post(f"/api/v1/findings/{douyin.id}/actions/resolve", json={"remedy": "register", "reason": "补登"})
    assert duplicate.status_code == 409 and duplicate.json["error"]["code"] == "duplicate_account"
    assert counts(db_session) == before
    for f in (weibo, douyin):
        db_session.refresh(f)
        assert f.status is FindingStatus.open and f.account_id is None and "decision" not in f.evidence

    ok = api.post(
        f"/api/v1/findings/{douyin.id}/actions/resolve",
        json={"remedy": "register", "reason": "补登", "duplicate_reason": "短视频矩阵，经批准保留"},
    )
    assert ok.status_code == 200, ok.json
    assert db_session.get(Account, ok.json["account_id"]).duplicate_reason == "短视频矩阵，经批准保留"


def test_bad_requests_are_refused(api_as, make_user, auditor_user, county, other, make_account, db_session):
    acct = make_account(county, "weibo", uid="fy-bad-1")
    inactive = make_finding(FindingKind.inactive_14d, unit=county, account=acct)
    api = api_as(auditor_user)
    operator = api_as(make_user(Role.operator, unit=county))
    stranger = api_as(make_user(Role.operator, unit=other))
    reviewer = api_as(make_user(Role.reviewer_3, unit=county))
    before = counts(db_session)  # (tokens are audited: every client is made before counting)
    url = f"/api/v1/findings/{inactive.id}/actions"
    wrong_kind = api.post(f"{url}/resolve", json={"remedy": "register", "reason": "补登"})
    assert wrong_kind.status_code == 409 and wrong_kind.json["error"]["code"] == "remedy_not_applicable"
    assert api.post(f"{url}/resolve", json={"remedy": "delete", "reason": "补登"}).status_code == 422
    assert api.post(f"{url}/confirm", json={"remedy": "close", "reason": "补登"}).status_code == 422
    no_reason = api.post(f"{url}/resolve", json={"remedy": "close", "closure_notice_url": "https://a.cn/n"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["details"]
    assert api.post(f"{url}/resolve", json={"remedy": "close", "reason": 5}).status_code == 422
    assert api.post(f"{url}/resolve", data="not json", content_type="text/plain").status_code in (400, 415, 422)

    body = {"remedy": "close", "reason": "僵尸号", "closure_notice_url": "https://a.cn/n"}
    assert operator.post(f"{url}/resolve", json=body).status_code == 403
    assert stranger.post(f"{url}/resolve", json=body).status_code == 404
    assert reviewer.post(f"{url}/resolve", json=body).status_code == 403
    assert counts(db_session) == before
    db_session.refresh(inactive)
    assert inactive.status is FindingStatus.open


# ----------------------------------------------------------------------------- close (API)


def test_close_opens_the_closure_request(api_as, make_user, county, make_account, db_session):
    acct = make_account(county, "wechat", uid="gh-fy-zombie")
    zombie = make_finding(FindingKind.zombie_90d, unit=county, account=acct, since="2025-01-01")
    admin = make_user(Role.admin)
    api = api_as(admin)
    offered = api.get(f"/api/v1/findings/{zombie.id}").json["remedies"]
    assert [(r["remedy"], r["available"]) for r in offered] == [("close", True)]

    before = counts(db_session)
    missing = api.post(f"/api/v1/findings/{zombie.id}/actions/resolve", json={"remedy": "close", "reason": "僵尸号"})
    assert missing.status_code == 422 and "closure_notice_url" in missing.json["error"]["details"]
    bad_url = api.post(
        f"/api/v1/findings/{zombie.id}/actions/resolve",
        json={"remedy": "close", "reason": "僵尸号", "closure_notice_url": "ftp://x"},
    )
    assert bad_url.status_code == 422 and "closure_notice_url" in bad_url.json["error"]["details"]
    assert counts(db_session) == before
    db_session.refresh(acct)
    assert acct.status is AccountStatus.active

    ok = api.post(
        f"/api/v1/findings/{zombie.id}/actions/resolve",
        json={
            "remedy": "close",
            "reason": "长期不更新，予以关停",
            "closure_notice_url": "https://gov.example.cn/notice/1",
        },
    )
    assert ok.status_code == 200, ok.json
    db_session.refresh(acct)
    assert acct.status is AccountStatus.closing and acct.closure_notice_url == "https://gov.example.cn/notice/1"
    assert acct.closure_notice_on is not None
    event = db_session.scalars(
        sa.select(AccountEvent).where(AccountEvent.account_id == acct.id).order_by(AccountEvent.id.desc())
    ).first()
    assert event.action == "request_close" and event.actor_id == admin.id and f"#{zombie.id}" in event.reason
    assert ok.json["status"] == "resolved" and ok.json["decision"]["remedy"]["event_id"] == event.id
    assert db_session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "account:status:request_close", AuditEntry.object_id == str(acct.id)
        )
    )
    # The account is closing now: 发起注销 on another finding of it is refused by the registry.
    other = make_finding(FindingKind.inactive_14d, unit=county, account=acct, since="2025-01-01")
    entry = api.get(f"/api/v1/findings/{other.id}").json["remedies"][0]
    assert entry["available"] is False and "拟关停" in entry["why_not"]
    again = api.post(
        f"/api/v1/findings/{other.id}/actions/resolve",
        json={"remedy": "close", "reason": "再次", "closure_notice_url": "https://gov.example.cn/notice/2"},
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_transition"
    # A finding already resolved cannot be resolved again.
    late = api.post(
        f"/api/v1/findings/{zombie.id}/actions/resolve",
        json={"remedy": "close", "reason": "再次", "closure_notice_url": "https://gov.example.cn/notice/2"},
    )
    assert late.status_code == 409 and late.json["error"]["code"] == "finding_state"


def test_close_refused_for_an_account_already_closed_in_the_registry(
    api_as, auditor_user, county, make_account, db_session
):
    acct = make_account(county, "douyin", uid="dy-fy-closed", status=AccountStatus.closed)
    f = make_finding(FindingKind.closed_but_active, unit=county, account=acct)
    api = api_as(auditor_user)
    entry = api.get(f"/api/v1/findings/{f.id}").json["remedies"][0]
    assert entry["remedy"] == "close" and entry["available"] is False and entry["why_not"]
    response = api.post(
        f"/api/v1/findings/{f.id}/actions/resolve",
        json={"remedy": "close", "reason": "关停不彻底", "closure_notice_url": "https://gov.example.cn/n"},
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_transition"
    db_session.refresh(f)
    assert f.status is FindingStatus.open
    # Without a linked account there is nothing to close.
    loose = make_finding(FindingKind.closed_but_active, unit=county)
    response = api.post(
        f"/api/v1/findings/{loose.id}/actions/resolve",
        json={"remedy": "close", "reason": "关停不彻底", "closure_notice_url": "https://gov.example.cn/n"},
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "remedy_not_applicable"


def test_plain_resolve_body_still_works(api_as, auditor_user, county):
    f = make_finding(FindingKind.unregistered, unit=county, platform="weibo", uid="w-plain")
    response = api_as(auditor_user).post(f"/api/v1/findings/{f.id}/actions/resolve", json={"reason": "已另行处理"})
    assert response.status_code == 200 and response.json["status"] == "resolved"
    assert "remedy" not in response.json["decision"] and response.json["account_id"] is None


# ----------------------------------------------------------------------------- pages


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_register_from_the_page(client, api_as, make_user, auditor_user, bureau, db_session):
    import_list(api_as(auditor_user), "微博,fy-edu-9,丰源教育,丰源县教育局,是,,,\n")
    f = unregistered(db_session, "fy-edu-9")
    login(client, auditor_user)
    page = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert 'id="remedy-register"' in page and "登记入台账" in page and 'value="丰源教育"' in page
    assert f'<option value="{bureau.id}" selected>' in page

    before = counts(db_session)
    response = client.post(
        f"/findings/{f.id}/act",
        data={"action": "resolve", "remedy": "register", "name": "丰源教育", "unit_id": str(bureau.id), "reason": ""},
    )
    assert response.status_code == 302
    assert "请填写原因" in client.get(f"/findings/{f.id}").get_data(as_text=True)
    bad = client.post(
        f"/findings/{f.id}/act",
        data={"action": "resolve", "remedy": "register", "unit_id": "abc", "reason": "补登"},
    )
    assert bad.status_code == 302
    assert "主办单位" in client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert counts(db_session) == before

    client.post(
        f"/findings/{f.id}/act",
        data={
            "action": "resolve",
            "remedy": "register",
            "name": "丰源教育",
            "unit_id": str(bureau.id),
            "reason": "补登",
        },
    )
    db_session.refresh(f)
    assert f.status is FindingStatus.resolved and f.account_id is not None
    page = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert "已登记入台账" in page and 'id="remedy-account"' in page and 'id="remedy-register"' not in page

    # Operators see the finding read-only: no remedy forms, and posting does nothing.
    operator = make_user(Role.operator, unit=bureau)
    f2 = make_finding(FindingKind.unregistered, unit=bureau, platform="weibo", uid="w-op", name="丰源教育二")
    login(client, operator)
    assert 'id="remedy-register"' not in client.get(f"/findings/{f2.id}").get_data(as_text=True)
    client.post(f"/findings/{f2.id}/act", data={"action": "resolve", "remedy": "register", "reason": "补登"})
    db_session.refresh(f2)
    assert f2.status is FindingStatus.open and f2.account_id is None


def test_close_from_the_page(client, auditor_user, county, make_account, db_session):
    acct = make_account(county, "weibo", uid="fy-page-zombie")
    f = make_finding(FindingKind.inactive_14d, unit=county, account=acct, since="2026-01-01")
    login(client, auditor_user)
    page = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert 'id="remedy-close"' in page and 'name="closure_notice_url"' in page
    client.post(f"/findings/{f.id}/act", data={"action": "resolve", "remedy": "close", "reason": "关停"})
    assert "停更公告链接" in client.get(f"/findings/{f.id}").get_data(as_text=True)
    db_session.refresh(acct)
    assert acct.status is AccountStatus.active
    client.post(
        f"/findings/{f.id}/act",
        data={
            "action": "resolve",
            "remedy": "close",
            "reason": "关停",
            "closure_notice_url": "https://gov.example.cn/notice/9",
            "closure_notice_on": "",
        },
    )
    db_session.refresh(acct)
    db_session.refresh(f)
    assert acct.status is AccountStatus.closing and f.status is FindingStatus.resolved
    assert "已发起注销" in client.get(f"/findings/{f.id}").get_data(as_text=True)
