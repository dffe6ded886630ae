"""Confirming a finding that has no unit (an unregistered account found by discovery, 体外运行):
the office names the 责任单位, the finding records it (audited) and the unit's 整改 work order is
issued as for any finding; without a unit it is only confirmed (no order, no deadline) until the
office names the unit later (assign_unit). Bad input changes nothing. API and page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit import service as audit_service
from audit.models import AuditEntry
from auth import scoping
from auth.models import Role
from common.timefmt import today_cn
from common.workdays import add_workdays
from oversight import finding_units, findings
from oversight.findings import FindingInput
from oversight.models import FindingKind, FindingStatus
from oversight.workorders import service as workorders
from oversight.workorders.models import WorkOrderStatus
from tests.conftest import PASSWORD


@pytest.fixture
def county(make_unit):
    return make_unit("定责县人民政府", region="定责县")


@pytest.fixture
def bureau(make_unit, county):
    return make_unit("定责县文旅局", parent=county, region="定责县")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.auditor)


def unregistered(unit=None, **evidence):
    """An open 体外运行 finding as discovery writes it; ``unit``: the one reconciliation resolved."""
    report = findings.upsert_many(
        [
            FindingInput(
                kind=FindingKind.unregistered,
                fingerprint=f"test:{uuid.uuid4().hex}",
                evidence={"message": "发现未备案账号“定责文旅”", "platform": "douyin", "uid": "dz1", **evidence},
                unit_id=getattr(unit, "id", None),
            )
        ]
    )
    return report.created[0]


def confirm_entries(db_session, finding, action="finding:status:confirm"):
    """Committed and still pending ``action`` audit entries of ``finding``."""
    object_id = str(finding.id)
    where = (AuditEntry.action == action, AuditEntry.object_id == object_id)
    committed = db_session.scalars(sa.select(AuditEntry).where(*where)).all()
    pending = [e for e in audit_service.pending() if e.action == action and e.object_id == object_id]
    return [*committed, *pending]


def assert_unchanged(db_session, finding):
    db_session.refresh(finding)
    assert finding.status is FindingStatus.open and finding.unit_id is None and finding.due_on is None
    assert workorders.order_of(finding) is None and not confirm_entries(db_session, finding)


# ----------------------------------------------------------------------------- API


def issued_to(api, finding, action, bureau, days, requirement):
    """``action`` naming ``bureau`` with a 整改期限 ``days`` on: the bureau's order is issued."""
    due = today_cn() + timedelta(days=days)
    r = api.post(
        f"/api/v1/findings/{finding.id}/actions/{action}",
        json={"unit_id": bureau.id, "due_on": due.isoformat(), "reason": requirement},
    )
    assert r.status_code == 200, r.json
    assert r.json["unit_id"] == bureau.id and r.json["unit_name"] == "定责县文旅局"
    assert r.json["status"] == "confirmed" and r.json["due_on"] == due.isoformat()
    order = workorders.order_of(finding)
    assert order.unit_id == bureau.id and order.due_on == due and order.status is WorkOrderStatus.issued
    assert order.events[0].text.startswith(f"整改要求：{requirement}。请于 {due.isoformat()}")
    return r


def test_api_confirm_names_the_unit_and_issues_its_order(api_as, db_session, auditor, bureau):
    finding = unregistered()
    issued_to(api_as(auditor), finding, "confirm", bureau, 30, "限期注销或登记入台账")
    (entry,) = confirm_entries(db_session, finding)
    assert entry.actor_id == auditor.id
    assert entry.before["unit_id"] is None and entry.after["unit_id"] == bureau.id


def test_api_confirm_without_a_unit_makes_no_order_and_sets_no_deadline(api_as, db_session, auditor):
    finding = unregistered()
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/confirm", json={})
    assert r.status_code == 200 and r.json["status"] == "confirmed"
    assert r.json["unit_id"] is None and r.json["due_on"] is None and not r.json["overdue"]
    assert workorders.order_of(finding) is None


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"due_on": "DUE"}, "设定整改期限时请选择责任单位"),
        ({"unit_id": 99_999_999}, "责任单位不存在或不在您的管辖范围内"),
        ({"unit_id": "INACTIVE"}, "已停用"),
        ({"unit_id": "abc"}, None),
    ],
)
def test_api_bad_unit_is_refused_and_changes_nothing(api_as, db_session, auditor, make_unit, body, said):
    finding = unregistered()
    closed = make_unit("定责县已撤并单位")
    closed.is_active = False
    db_session.flush()
    replace = {"DUE": (today_cn() + timedelta(days=10)).isoformat(), "INACTIVE": closed.id}
    body = {k: replace.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/confirm", json=body)
    assert r.status_code == 422
    error = r.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert "unit_id" in error["details"].get("json", error["details"])  # the schema's errors sit under "json"
    if said:
        assert said in error["message"]
    assert_unchanged(db_session, finding)


def test_api_a_finding_with_a_unit_keeps_it(api_as, db_session, auditor, county, bureau):
    finding = unregistered(county)
    other = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/confirm", json={"unit_id": bureau.id})
    assert other.status_code == 422 and "已对应单位“定责县人民政府”" in other.json["error"]["message"]
    db_session.refresh(finding)
    assert finding.status is FindingStatus.open and workorders.order_of(finding) is None
    same = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/confirm", json={"unit_id": county.id})
    assert same.status_code == 200 and workorders.order_of(finding).unit_id == county.id


def test_unit_outside_the_offices_scope_is_refused(api_as, db_session, auditor, county, make_unit, monkeypatch):
    """Every 网信办 account sees every unit today; were one scoped to a county, a unit of another
    county could neither be offered nor named."""
    finding = unregistered()
    elsewhere = make_unit("邻县人民政府")
    monkeypatch.setattr(scoping, "visible_unit_ids", lambda user: {None, county.id})
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/confirm", json={"unit_id": elsewhere.id})
    assert r.status_code == 422 and "不在您的管辖范围内" in r.json["error"]["message"]
    assert_unchanged(db_session, finding)
    assert [u.id for u in finding_units.choices(auditor)] == [county.id]


def test_only_the_office_confirms(api_as, db_session, make_user, bureau):
    finding = unregistered()
    operator = make_user(Role.operator, unit=bureau)
    reviewer = make_user(Role.reviewer_1, unit=bureau)
    for user in (operator, reviewer):
        r = api_as(user).post(f"/api/v1/findings/{finding.id}/actions/confirm", json={"unit_id": bureau.id})
        assert r.status_code in (403, 404) and set(r.json["error"]) == {"code", "message", "details"}
    assert_unchanged(db_session, finding)


# ----------------------------------------------------------------------------- page


def login(client, user):
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_page_offers_the_units_and_issues_the_order(client, db_session, auditor, county, bureau):
    finding = unregistered(candidate_units=[{"id": bureau.id, "name": bureau.name}])
    db_session.commit()
    login(client, auditor)
    page = client.get(f"/findings/{finding.id}").get_data(as_text=True)
    select = re.search(r'(?s)<select id="resp-unit".*?</select>', page).group(0)
    assert "不选：只确认，不生成整改工单" in select and "未生成整改工单" not in page
    candidates, everyone = select.split("全部单位")
    assert "比对出的候选单位" in candidates and "定责县文旅局" in candidates and "定责县人民政府" in everyone
    assert "只确认线索，不生成整改工单、不设整改期限" in page
    assert "设定期限须同时选择责任单位" in page

    due = today_cn() + timedelta(days=15)
    client.post(f"/findings/{finding.id}/act", data={"action": "confirm", "due_on": due.isoformat()})
    assert "设定整改期限时请选择责任单位" in client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert_unchanged(db_session, finding)

    r = client.post(
        f"/findings/{finding.id}/act",
        data={"action": "confirm", "due_on": due.isoformat(), "unit_id": str(bureau.id), "reason": "限期登记"},
    )
    assert r.status_code == 302
    db_session.refresh(finding)
    order = workorders.order_of(finding)
    assert finding.unit_id == order.unit_id == bureau.id and finding.due_on == order.due_on == due
    shown = client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert "整改工单已发给“定责县文旅局”" in shown and f"/workorders/{order.id}" in shown
    assert 'id="resp-unit"' not in shown


def test_page_confirm_without_a_unit_says_no_order_is_made(client, db_session, auditor):
    finding = unregistered()
    db_session.commit()
    login(client, auditor)
    client.post(f"/findings/{finding.id}/act", data={"action": "confirm", "unit_id": ""})
    db_session.refresh(finding)
    assert finding.status is FindingStatus.confirmed and finding.due_on is None
    assert workorders.order_of(finding) is None
    assert "未生成整改工单" in client.get(f"/findings/{finding.id}").get_data(as_text=True)


# ----------------------------------------------------------------------------- naming the unit later


def confirmed_without_unit(api_as, auditor, reason=None):
    finding = unregistered()
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/confirm", json={"reason": reason})
    assert r.status_code == 200 and r.json["unit_id"] is None and "assign_unit" in r.json["actions"]
    return finding


def assign_entries(db_session, finding):
    return confirm_entries(db_session, finding, "finding:unit:assign")


def assert_still_without_unit(db_session, finding):
    db_session.refresh(finding)
    assert finding.status is FindingStatus.confirmed and finding.unit_id is None and finding.due_on is None
    assert workorders.order_of(finding) is None and not assign_entries(db_session, finding)


def test_api_assign_unit_later_issues_the_units_order(api_as, db_session, auditor, bureau):
    finding = confirmed_without_unit(api_as, auditor, reason="核实账号归属")
    r = issued_to(api_as(auditor), finding, "assign_unit", bureau, 20, "限期登记入台账")
    assert r.json["actions"] == ["dismiss", "resolve"]  # no second unit
    due = today_cn() + timedelta(days=20)
    (entry,) = assign_entries(db_session, finding)
    assert entry.actor_id == auditor.id
    assert entry.before["unit_id"] is None and entry.before["due_on"] is None
    assert entry.after["unit_id"] == bureau.id and entry.after["due_on"] == due.isoformat()
    assert entry.before["status"] == entry.after["status"] == "confirmed"
    again = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json={"unit_id": bureau.id})
    assert again.status_code == 409 and "已对应单位“定责县文旅局”" in again.json["error"]["message"]
    assert len(assign_entries(db_session, finding)) == 1


def test_api_assign_unit_defaults_as_confirm_does(api_as, db_session, auditor, bureau):
    finding = confirmed_without_unit(api_as, auditor, reason="核实账号归属")
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json={"unit_id": bureau.id})
    assert r.status_code == 200, r.json
    due = add_workdays(today_cn(), findings.deadline_workdays())
    assert r.json["due_on"] == due.isoformat() and r.json["reason"] == "核实账号归属"
    order = workorders.order_of(finding)
    assert order.due_on == due and order.events[0].text.startswith("整改要求：核实账号归属。")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({}, "请选择责任单位"),
        ({"unit_id": None}, "请选择责任单位"),
        ({"unit_id": 99_999_999}, "责任单位不存在或不在您的管辖范围内"),
        ({"unit_id": "INACTIVE"}, "已停用"),
        ({"unit_id": "abc"}, None),
        ({"unit_id": "BUREAU", "due_on": "PAST"}, "整改期限不能早于今天"),
        ({"unit_id": "BUREAU", "due_on": "FAR"}, "整改期限不能超过 180 天"),
    ],
)
def test_api_assign_unit_bad_input_changes_nothing(api_as, db_session, auditor, bureau, make_unit, body, said):
    finding = confirmed_without_unit(api_as, auditor)
    closed = make_unit("定责县已撤并单位")
    closed.is_active = False
    db_session.flush()
    replace = {
        "INACTIVE": closed.id,
        "BUREAU": bureau.id,
        "PAST": (today_cn() - timedelta(days=1)).isoformat(),
        "FAR": (today_cn() + timedelta(days=181)).isoformat(),
    }
    body = {k: replace.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json=body)
    assert r.status_code == 422
    error = r.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert {"unit_id", "due_on"} & set(error["details"].get("json", error["details"]))
    if said:
        assert said in error["message"]
    assert_still_without_unit(db_session, finding)


def test_api_assign_unit_only_on_a_confirmed_finding_without_unit_or_order(api_as, db_session, auditor, county):
    """Open (confirm is the way), dismissed, or with a unit and its order: 409, nothing changed."""
    api = api_as(auditor)
    still_open = unregistered()
    dismissed = unregistered()
    api.post(f"/api/v1/findings/{dismissed.id}/actions/dismiss", json={"reason": "误报"})
    with_unit = unregistered(county)
    api.post(f"/api/v1/findings/{with_unit.id}/actions/confirm", json={})
    order = workorders.order_of(with_unit)
    for finding, said in (
        (still_open, "当前状态为“待处理”"),
        (dismissed, "当前状态为“已排除”"),
        (with_unit, "已对应单位“定责县人民政府”"),
    ):
        before = (finding.status, finding.unit_id, finding.due_on)
        r = api.post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json={"unit_id": county.id})
        assert r.status_code == 409 and r.json["error"]["code"] == "finding_state", r.json
        assert said in r.json["error"]["message"]
        assert "assign_unit" not in api.get(f"/api/v1/findings/{finding.id}").json["actions"]
        db_session.refresh(finding)
        assert (finding.status, finding.unit_id, finding.due_on) == before
        assert not assign_entries(db_session, finding)
    assert workorders.order_of(still_open) is None and workorders.order_of(with_unit).id == order.id


def test_api_assign_unit_refused_when_an_order_exists(api_as, db_session, auditor, bureau, monkeypatch):
    """An order without a unit on the finding (data from before 责任单位 existed): no second unit."""
    finding = confirmed_without_unit(api_as, auditor)
    existing = workorders.order_of
    monkeypatch.setattr(workorders, "order_of", lambda f: existing(f) or type("O", (), {"id": 7})())
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json={"unit_id": bureau.id})
    assert r.status_code == 409 and "已有整改工单 #7" in r.json["error"]["message"]
    monkeypatch.setattr(workorders, "order_of", existing)
    assert_still_without_unit(db_session, finding)


def test_api_assign_unit_outside_scope_and_by_other_roles(
    api_as, db_session, auditor, make_user, county, bureau, make_unit, monkeypatch
):
    finding = confirmed_without_unit(api_as, auditor)
    for user in (make_user(Role.operator, unit=bureau), make_user(Role.reviewer_1, unit=bureau)):
        r = api_as(user).post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json={"unit_id": bureau.id})
        assert r.status_code in (403, 404) and set(r.json["error"]) == {"code", "message", "details"}
    elsewhere = make_unit("邻县人民政府")
    monkeypatch.setattr(scoping, "visible_unit_ids", lambda user: {None, county.id})
    r = api_as(auditor).post(f"/api/v1/findings/{finding.id}/actions/assign_unit", json={"unit_id": elsewhere.id})
    assert r.status_code == 422 and "不在您的管辖范围内" in r.json["error"]["message"]
    assert_still_without_unit(db_session, finding)


def test_page_names_the_unit_later_and_links_the_order(client, db_session, auditor, county, bureau):
    finding = unregistered(candidate_units=[{"id": bureau.id, "name": bureau.name}])
    db_session.commit()
    login(client, auditor)
    client.post(f"/findings/{finding.id}/act", data={"action": "confirm", "reason": "核实账号归属"})
    page = client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert "需要整改时可在本页“指定责任单位并下发整改”" in page  # the flash after confirming
    assert "尚未生成整改工单" in page and 'name="action" value="assign_unit"' in page
    select = re.search(r'(?s)<select id="assign-unit-id".*?</select>', page).group(0)
    candidates, everyone = select.split("全部单位")
    assert "定责县文旅局" in candidates and "定责县人民政府" in everyone and not re.search(r"/workorders/\d", page)
    assert 'value="assign_unit">指定责任单位' not in page  # not a button of the 处理 form

    client.post(f"/findings/{finding.id}/act", data={"action": "assign_unit", "unit_id": ""})
    assert "请选择责任单位" in client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert_still_without_unit(db_session, finding)

    due = today_cn() + timedelta(days=12)
    r = client.post(
        f"/findings/{finding.id}/act",
        data={"action": "assign_unit", "unit_id": str(bureau.id), "due_on": due.isoformat(), "list_status": "active"},
    )
    assert r.status_code == 302 and "status=active" in r.headers["Location"]
    db_session.refresh(finding)
    order = workorders.order_of(finding)
    assert finding.unit_id == order.unit_id == bureau.id and finding.due_on == order.due_on == due
    assert order.events[0].text.startswith("整改要求：核实账号归属。")
    shown = client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert "已指定责任单位并下发整改：整改工单已发给“定责县文旅局”" in shown
    assert f"/workorders/{order.id}" in shown
    assert "尚未生成整改工单" not in shown and 'id="assign-unit-id"' not in shown
    (entry,) = assign_entries(db_session, finding)
    assert entry.actor_id == auditor.id and entry.after["due_on"] == due.isoformat()
