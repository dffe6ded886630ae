"""The account lifecycle state machine through the API: every allowed and every refused move.

The expected table below is written out independently of registry.service.TRANSITIONS, so a
change to the service that is not also a change to the spec fails here.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from oversight import ledger_checks
from oversight.models import Finding, FindingKind, FindingStatus
from registry import service
from registry.models import Account, AccountEvent, AccountStatus, Platform

APPLICANT = ("operator", "auditor", "admin")
APPROVER = ("auditor", "admin")
ROLES = ("operator", "reviewer_1", "auditor", "admin")
STATUSES = [s.value for s in AccountStatus]
ACTIONS = [
    "approve",
    "request_change",
    "approve_change",
    "request_close",
    "confirm_closed",
    "suspend",
    "reactivate",
    "reject",
]

# (action, from) → (to, roles allowed)
SPEC: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("approve", "applying"): ("active", APPROVER),
    ("reject", "applying"): ("rejected", APPROVER),
    ("request_change", "active"): ("changing", APPLICANT),
    ("approve_change", "changing"): ("active", APPROVER),
    ("reject", "changing"): ("active", APPROVER),
    ("request_close", "active"): ("closing", APPLICANT),
    ("request_close", "suspended"): ("closing", APPLICANT),
    ("reject", "closing"): ("active", APPROVER),
    ("confirm_closed", "closing"): ("closed_on_platform", APPLICANT),
    ("confirm_closed", "closed_on_platform"): ("closed", APPROVER),
    ("suspend", "active"): ("suspended", APPROVER),
    ("reactivate", "suspended"): ("active", APPROVER),
}

PAYLOAD: dict[str, dict[str, Any]] = {
    "approve": {"filing_number": "SFX-BA-001"},
    "reject": {"reason": "材料不全，请补充"},
    "request_change": {"changes": {"name": "变更后的账号名称"}, "reason": "机构改革"},
    "approve_change": {},
    "request_close": {"reason": "职能调整，集体研究决定关停", "closure_notice_url": "https://gov.example.cn/notice/1"},
    "confirm_closed": {},
    "suspend": {"reason": "内容违规，暂停运行"},
    "reactivate": {"reason": "整改完成"},
}

ALLOWED_CASES = [(a, s, role) for (a, s), (_to, roles) in SPEC.items() for role in roles]
FORBIDDEN_ROLE_CASES = [(a, s, role) for (a, s), (_to, roles) in SPEC.items() for role in ROLES if role not in roles]
# Wrong state: each role that may take the action somewhere, on every status where it may not.
WRONG_STATE_CASES = [
    (a, s, role)
    for a, s in itertools.product(ACTIONS, STATUSES)
    if (a, s) not in SPEC
    for role in sorted({r for (act, _src), (_to, roles) in SPEC.items() if act == a for r in roles})
]


def test_spec_matches_service_table():
    table = {
        (t.action.value, t.source.value): (t.target.value, sorted(r.value for r in t.roles))
        for t in service.TRANSITIONS.values()
    }
    assert table == {k: (to, sorted(roles)) for k, (to, roles) in SPEC.items()}


@pytest.fixture
def world(make_unit, make_user, api_as):
    """Unit A with an operator and a reviewer, unit B with an operator, an auditor and an admin."""
    unit_a = make_unit("甲县人民政府")
    unit_b = make_unit("乙县人民政府")
    users = {
        "operator": make_user(Role.operator, unit=unit_a),
        "reviewer_1": make_user(Role.reviewer_1, unit=unit_a),
        "auditor": make_user(Role.auditor),
        "admin": make_user(Role.admin),
        "other_operator": make_user(Role.operator, unit=unit_b),
    }
    return {"unit_a": unit_a, "unit_b": unit_b, "users": users, "client": lambda who: api_as(users[who])}


def place(db_session, unit, status: str, **kw: Any) -> Account:
    """An account already in ``status``, with what that status implies."""
    today = service.today()
    fields: dict[str, Any] = {
        "platform": Platform.weibo,
        "platform_uid": f"uid-{status}-{unit.id}-{kw.pop('n', 0)}",
        "name": f"{unit.name}发布",
        "unit_id": unit.id,
        "status": AccountStatus(status),
        "verified_subject": unit.name,
    }
    if status == "applying":
        fields["filing_due_on"] = today + timedelta(days=7)
    if status == "changing":
        fields["pending_change"] = {"name": "拟改名称", "contact_phone": "0571-88886666"}
        fields["filing_due_on"] = today + timedelta(days=7)
    if status == "closing":
        fields.update(closure_notice_on=today - timedelta(days=60), closure_notice_url="https://gov.example.cn/n")
    if status in ("closed_on_platform", "closed"):
        fields.update(closure_notice_on=today - timedelta(days=90), closed_on=today - timedelta(days=2))
    if status == "closed_on_platform":
        fields["filing_due_on"] = today + timedelta(days=3)
    fields.update(kw)
    account = Account(**fields)
    db_session.add(account)
    db_session.flush()
    return account


def counts(db_session, account: Account) -> tuple[int, int]:
    events = db_session.scalar(sa.select(sa.func.count(AccountEvent.id)).where(AccountEvent.account_id == account.id))
    audits = db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.object_type == "accounts", AuditEntry.object_id == str(account.id)
        )
    )
    return events, audits


def assert_refused(db_session, account: Account, status: str, before: tuple[int, int]) -> None:
    db_session.expire_all()
    fresh = db_session.get(Account, account.id)
    assert fresh.status.value == status
    assert counts(db_session, fresh) == before


@pytest.mark.parametrize(("action", "source", "role"), ALLOWED_CASES)
def test_allowed_transition(world, db_session, action, source, role):
    account = place(db_session, world["unit_a"], source)
    events_before, audits_before = counts(db_session, account)
    response = world["client"](role).post(f"/api/v1/accounts/{account.id}/actions/{action}", json=PAYLOAD[action])
    assert response.status_code == 200, response.json
    target = SPEC[(action, source)][0]
    assert response.json["account"]["status"] == target
    db_session.expire_all()
    fresh = db_session.get(Account, account.id)
    assert fresh.status.value == target
    assert counts(db_session, fresh) == (events_before + 1, audits_before + 1)
    event = db_session.scalars(sa.select(AccountEvent).where(AccountEvent.account_id == account.id)).one()
    assert event.action.split(":")[0] == action
    assert (event.from_status, event.to_status) == (source, target)
    assert event.actor_id == world["users"][role].id
    if role in APPROVER and SPEC[(action, source)][1] == APPROVER:
        assert event.approver_id == world["users"][role].id
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == "accounts", AuditEntry.object_id == str(account.id))
    ).one()
    assert entry.action == f"account:status:{action}"
    assert entry.before["status"] == source and entry.after["status"] == target


@pytest.mark.parametrize(("action", "source", "role"), FORBIDDEN_ROLE_CASES)
def test_wrong_role_is_403(world, db_session, action, source, role):
    account = place(db_session, world["unit_a"], source)
    before = counts(db_session, account)
    response = world["client"](role).post(f"/api/v1/accounts/{account.id}/actions/{action}", json=PAYLOAD[action])
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] == "forbidden"
    assert_refused(db_session, account, source, before)


@pytest.mark.parametrize(("action", "source", "role"), WRONG_STATE_CASES)
def test_wrong_state_is_409(world, db_session, action, source, role):
    account = place(db_session, world["unit_a"], source)
    before = counts(db_session, account)
    response = world["client"](role).post(f"/api/v1/accounts/{account.id}/actions/{action}", json=PAYLOAD[action])
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "invalid_transition"
    assert response.json["error"]["details"]["status"] == source
    assert_refused(db_session, account, source, before)


@pytest.mark.parametrize(("action", "source"), list(SPEC))
def test_wrong_unit_is_404(world, db_session, action, source):
    account = place(db_session, world["unit_a"], source)
    before = counts(db_session, account)
    client = world["client"]("other_operator")
    response = client.post(f"/api/v1/accounts/{account.id}/actions/{action}", json=PAYLOAD[action])
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert_refused(db_session, account, source, before)


def test_unknown_action_is_404(world, db_session):
    account = place(db_session, world["unit_a"], "active")
    response = world["client"]("auditor").post(f"/api/v1/accounts/{account.id}/actions/delete", json={})
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_action"


@pytest.mark.parametrize(
    ("action", "source"), [("reject", "applying"), ("suspend", "active"), ("request_close", "active")]
)
def test_reason_required_is_422_and_nothing_changes(world, db_session, action, source):
    account = place(db_session, world["unit_a"], source)
    before = counts(db_session, account)
    payload = {k: v for k, v in PAYLOAD[action].items() if k != "reason"}
    response = world["client"]("admin").post(f"/api/v1/accounts/{account.id}/actions/{action}", json=payload)
    assert response.status_code == 422
    assert "reason" in response.json["error"]["details"]
    assert_refused(db_session, account, source, before)


def test_nothing_is_deleted(world, db_session):
    account = place(db_session, world["unit_a"], "active")
    response = world["client"]("admin").client.delete(
        f"/api/v1/accounts/{account.id}", headers=world["client"]("admin").headers
    )
    assert response.status_code == 405
    assert db_session.get(Account, account.id) is not None


# ----------------------------------------------------------------------------- change, close


def test_change_request_then_approval_applies_the_diff(world, db_session):
    account = place(db_session, world["unit_a"], "active", contact_phone="0571-1")
    operator, auditor = world["client"]("operator"), world["client"]("auditor")
    changes = {"name": "甲县发布（新）", "contact_phone": "0571-2", "verified": True}
    response = operator.post(f"/api/v1/accounts/{account.id}/actions/request_change", json={"changes": changes})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["account"]["status"] == "changing"
    assert body["account"]["pending_change"] == changes
    assert body["account"]["name"] == "甲县人民政府发布"  # not applied yet
    assert body["event"]["changes"]["name"] == ["甲县人民政府发布", "甲县发布（新）"]
    assert body["account"]["filing_due_on"] is not None
    response = auditor.post(f"/api/v1/accounts/{account.id}/actions/approve_change", json={"filing_date": "2026-01-05"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["account"]["status"] == "active"
    assert body["account"]["name"] == "甲县发布（新）"
    assert body["account"]["contact_phone"] == "0571-2" and body["account"]["verified"] is True
    assert body["account"]["pending_change"] is None and body["account"]["filing_due_on"] is None
    assert body["event"]["changes"]["contact_phone"] == ["0571-1", "0571-2"]
    assert body["event"]["filing_date"] == "2026-01-05"
    assert body["event"]["approver_id"] == world["users"]["auditor"].id


def test_rejected_change_is_discarded(world, db_session):
    account = place(db_session, world["unit_a"], "changing")
    response = world["client"]("auditor").post(
        f"/api/v1/accounts/{account.id}/actions/reject", json={"reason": "名称不规范"}
    )
    assert response.status_code == 200
    assert response.json["account"]["status"] == "active"
    assert response.json["account"]["name"] == "甲县人民政府发布"
    assert response.json["account"]["pending_change"] is None
    assert response.json["event"]["changes"]["pending_change"][0]["name"] == "拟改名称"


def test_change_request_must_change_something(world, db_session):
    account = place(db_session, world["unit_a"], "active")
    response = world["client"]("operator").post(
        f"/api/v1/accounts/{account.id}/actions/request_change", json={"changes": {"name": account.name}}
    )
    assert response.status_code == 422
    assert db_session.get(Account, account.id).status is AccountStatus.active


def test_change_to_a_taken_uid_is_409(world, db_session):
    other = place(db_session, world["unit_b"], "active")
    account = place(db_session, world["unit_a"], "active")
    response = world["client"]("operator").post(
        f"/api/v1/accounts/{account.id}/actions/request_change",
        json={"changes": {"platform_uid": other.platform_uid}},
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "uid_taken"


def test_close_in_two_steps(world, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2026, 3, 2))
    account = place(db_session, world["unit_a"], "active")
    operator, auditor = world["client"]("operator"), world["client"]("auditor")
    response = operator.post(
        f"/api/v1/accounts/{account.id}/actions/request_close",
        json={**PAYLOAD["request_close"], "closure_notice_on": "2026-01-05"},
    )
    assert response.status_code == 200, response.json
    assert response.json["account"]["closable_on"] == service.closable_on(account).isoformat()
    response = operator.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={"closed_on": "2026-03-02"})
    assert response.status_code == 200, response.json
    body = response.json["account"]
    assert body["status"] == "closed_on_platform" and body["closed_on"] == "2026-03-02"
    assert body["filing_due_on"] == "2026-03-09"  # 5 working days after closing
    # the second step (the closure filing) is the 网信办's
    assert operator.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={}).status_code == 403
    response = auditor.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={"filing_date": "2026-03-02"})
    assert response.status_code == 200
    body = response.json["account"]
    assert body["status"] == "closed" and body["closure_filed_on"] == "2026-03-02" and body["filing_due_on"] is None
    actions = [
        e.action
        for e in db_session.scalars(
            sa.select(AccountEvent).where(AccountEvent.account_id == account.id).order_by(AccountEvent.id)
        )
    ]
    assert actions == ["request_close", "confirm_closed:platform", "confirm_closed:filed"]


def test_closure_notice_counts_working_days(world, db_session, monkeypatch):
    """National Day 2025: 10-01..10-08 off, 09-28 (Sun) and 10-11 (Sat) worked (调休)."""
    monkeypatch.setattr(service, "today", lambda: date(2025, 12, 1))
    account = place(db_session, world["unit_a"], "closing", closure_notice_on=date(2025, 9, 26))
    before = counts(db_session, account)
    client = world["client"]("operator")
    # Monday–Friday counting would allow 2025-10-17; holidays push it to 2025-10-23.
    response = client.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={"closed_on": "2025-10-22"})
    assert response.status_code == 409, response.json
    error = response.json["error"]
    assert error["code"] == "closure_notice_period"
    assert error["details"]["possible_on"] == "2025-10-23"
    assert "2025-10-23" in error["message"]
    assert_refused(db_session, account, "closing", before)
    response = client.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={"closed_on": "2025-10-23"})
    assert response.status_code == 200, response.json
    assert response.json["account"]["status"] == "closed_on_platform"


def test_closure_notice_uses_the_setting(world, db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "CLOSURE_NOTICE_WORKDAYS", 2)
    monkeypatch.setattr(service, "today", lambda: date(2026, 3, 4))
    account = place(db_session, world["unit_a"], "closing", closure_notice_on=date(2026, 3, 2))  # Monday
    client = world["client"]("auditor")
    response = client.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={"closed_on": "2026-03-03"})
    assert response.status_code == 409 and response.json["error"]["details"]["possible_on"] == "2026-03-04"
    response = client.post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={})
    assert response.status_code == 200


def test_future_dates_are_refused(world, db_session):
    account = place(db_session, world["unit_a"], "applying")
    future = (service.today() + timedelta(days=3)).isoformat()
    response = world["client"]("auditor").post(
        f"/api/v1/accounts/{account.id}/actions/approve", json={"filing_date": future}
    )
    assert response.status_code == 422 and "filed_on" in response.json["error"]["details"]
    assert db_session.get(Account, account.id).status is AccountStatus.applying


# ----------------------------------------------------------------------------- rules and flags


def _open(client, unit, **kw):
    body = {"platform": "wechat", "name": f"{unit.name}微信", "unit_id": unit.id, "verified_subject": unit.name}
    body.update(kw)
    return client.post("/api/v1/accounts", json=body)


def test_open_creates_applying_with_filing_deadline(world, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2026, 9, 29))
    response = _open(world["client"]("operator"), world["unit_a"], platform_uid="gh_a1")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "applying" and body["is_primary"] is True
    assert body["filing_due_on"] == "2026-10-12"  # 5 working days across National Day 2026
    events = db_session.scalars(sa.select(AccountEvent).where(AccountEvent.account_id == body["id"])).all()
    assert [e.action for e in events] == ["open"]
    assert events[0].changes["name"] == [None, "甲县人民政府微信"]


def test_second_account_on_a_platform_needs_a_reason_and_raises_a_finding(world, db_session):
    unit = world["unit_a"]
    first = place(db_session, unit, "active", platform=Platform.wechat)
    client = world["client"]("operator")
    refused = _open(client, unit, platform_uid="gh_second")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "duplicate_account"
    assert refused.json["error"]["details"]["existing_account_ids"] == [first.id]
    assert db_session.scalar(sa.select(sa.func.count(Account.id)).where(Account.unit_id == unit.id)) == 1
    response = _open(client, unit, platform_uid="gh_second", duplicate_reason="服务号与订阅号功能不同")
    assert response.status_code == 201
    assert response.json["is_primary"] is False
    finding = db_session.scalar(sa.select(Finding).where(Finding.fingerprint == f"duplicate:unit:{unit.id}:wechat"))
    assert finding is not None and finding.kind is FindingKind.duplicate and finding.status is FindingStatus.open
    assert finding.evidence["account_ids"] == [first.id, response.json["id"]]
    # rejecting the application leaves one account in use: the finding resolves itself
    world["client"]("auditor").post(
        f"/api/v1/accounts/{response.json['id']}/actions/reject", json={"reason": "不予开设"}
    )
    db_session.expire_all()
    assert db_session.get(Finding, finding.id).status is FindingStatus.resolved


def test_closed_account_does_not_count_as_duplicate(world, db_session):
    unit = world["unit_a"]
    place(db_session, unit, "closed", platform=Platform.wechat)
    assert _open(world["client"]("operator"), unit).status_code == 201


def test_subject_mismatch_flag(world, db_session):
    unit = world["unit_a"]
    client = world["client"]("operator")
    ok = _open(client, unit, verified_subject="甲县 政府")  # normalised: 人民政府 = 政府, spaces ignored
    assert ok.status_code == 201
    assert (
        db_session.scalar(sa.select(Finding).where(Finding.fingerprint == f"subject_mismatch:account:{ok.json['id']}"))
        is None
    )
    bad = _open(client, unit, platform="douyin", verified_subject="某某文化传媒有限公司")
    assert bad.status_code == 201
    fp = f"subject_mismatch:account:{bad.json['id']}"
    finding = db_session.scalar(sa.select(Finding).where(Finding.fingerprint == fp))
    assert finding is not None and finding.status is FindingStatus.open
    assert "某某文化传媒有限公司" in finding.evidence["message"]
    detail = client.get(f"/api/v1/accounts/{bad.json['id']}").json
    assert [f["kind"] for f in detail["findings"]] == ["subject_mismatch"]
    # fix it through a change: the finding resolves when the change is approved
    auditor = world["client"]("auditor")
    auditor.post(f"/api/v1/accounts/{bad.json['id']}/actions/approve", json={})
    client.post(
        f"/api/v1/accounts/{bad.json['id']}/actions/request_change", json={"changes": {"verified_subject": unit.name}}
    )
    auditor.post(f"/api/v1/accounts/{bad.json['id']}/actions/approve_change", json={})
    db_session.expire_all()
    assert db_session.get(Finding, finding.id).status is FindingStatus.resolved


def test_filing_overdue_flag_filter_and_finding(world, db_session, monkeypatch):
    unit = world["unit_a"]
    late = place(db_session, unit, "applying", n=1, filing_due_on=date(2026, 1, 5))
    on_time = place(db_session, unit, "applying", n=2, platform=Platform.douyin, filing_due_on=date(2026, 1, 20))
    monkeypatch.setattr(service, "today", lambda: date(2026, 1, 10))
    client = world["client"]("auditor")
    items = client.get(f"/api/v1/accounts?unit_id={unit.id}&overdue=true").json["items"]
    assert [a["id"] for a in items] == [late.id]
    assert items[0]["filing_overdue"] is True
    items = client.get(f"/api/v1/accounts?unit_id={unit.id}&overdue=false").json["items"]
    assert [a["id"] for a in items] == [on_time.id]
    assert ledger_checks.flag_overdue_filings() == (1, 0)
    finding = db_session.scalar(sa.select(Finding).where(Finding.kind == FindingKind.filing_overdue))
    assert finding.account_id == late.id
    client.post(f"/api/v1/accounts/{late.id}/actions/approve", json={"filing_date": "2026-01-09"})
    assert client.get(f"/api/v1/accounts/{late.id}").json["filing_overdue"] is False
    assert ledger_checks.flag_overdue_filings() == (0, 1)
    db_session.expire_all()
    assert db_session.get(Finding, finding.id).status is FindingStatus.resolved
    result = world["client"]("auditor").client.application.test_cli_runner().invoke(args=["monitoring", "flag-overdue"])
    assert result.exit_code == 0 and "备案逾期线索" in result.output


# ----------------------------------------------------------------------------- unit rename


def test_unit_rename_proposes_renaming_its_accounts(world, db_session):
    unit = world["unit_a"]
    weibo = place(db_session, unit, "active", name="甲县人民政府发布")
    other = place(db_session, unit, "active", n=2, platform=Platform.douyin, name="甲县文旅")
    closed = place(db_session, unit, "closed", n=3, platform=Platform.toutiao)
    admin = world["client"]("admin")
    assert (
        world["client"]("operator").patch(f"/api/v1/units/{unit.id}", json={"name": "甲市人民政府"}).status_code == 403
    )
    response = admin.patch(f"/api/v1/units/{unit.id}", json={"name": "甲市人民政府", "region": "甲市"})
    assert response.status_code == 200, response.json
    assert response.json["name"] == "甲市人民政府" and response.json["region"] == "甲市"
    proposals = {p["account_id"]: p["proposed_changes"] for p in response.json["rename_proposals"]}
    assert proposals == {
        weibo.id: {"verified_subject": "甲市人民政府", "name": "甲市人民政府发布"},
        other.id: {"verified_subject": "甲市人民政府"},
    }
    finding = db_session.scalar(sa.select(Finding).where(Finding.fingerprint == f"subject_mismatch:account:{weibo.id}"))
    assert finding.evidence["reason"] == "unit_renamed"
    assert finding.evidence["proposed_changes"]["name"] == "甲市人民政府发布"
    events = db_session.scalars(sa.select(AccountEvent).where(AccountEvent.action == "unit_renamed")).all()
    assert {e.account_id for e in events} == {weibo.id, other.id}
    assert closed.id not in {e.account_id for e in events}
    assert db_session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "unit:update")).after == {
        "name": "甲市人民政府",
        "region": "甲市",
    }
    # the operator acts on the proposal; approval clears the finding
    operator = world["client"]("operator")
    operator.post(f"/api/v1/accounts/{weibo.id}/actions/request_change", json={"changes": proposals[weibo.id]})
    admin.post(f"/api/v1/accounts/{weibo.id}/actions/approve_change", json={})
    db_session.expire_all()
    assert db_session.get(Finding, finding.id).status is FindingStatus.resolved


def test_unit_patch_validation(world, db_session, make_unit):
    admin = world["client"]("admin")
    taken = make_unit("已存在的单位")
    unit = world["unit_a"]
    assert admin.patch(f"/api/v1/units/{unit.id}", json={"name": taken.name}).status_code == 409
    assert admin.patch(f"/api/v1/units/{unit.id}", json={"parent_id": unit.id}).status_code == 422
    assert admin.patch("/api/v1/units/999999", json={"name": "不存在"}).status_code == 404
    unchanged = admin.patch(f"/api/v1/units/{unit.id}", json={"name": unit.name})
    assert unchanged.status_code == 200 and unchanged.json["rename_proposals"] == []


def test_closing_without_a_notice_date_cannot_be_confirmed(world, db_session):
    account = place(db_session, world["unit_a"], "closing", closure_notice_on=None)
    response = world["client"]("auditor").post(f"/api/v1/accounts/{account.id}/actions/confirm_closed", json={})
    assert response.status_code == 409 and response.json["error"]["code"] == "closure_notice_missing"
    assert db_session.get(Account, account.id).status is AccountStatus.closing
