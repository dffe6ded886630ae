"""Confirming a finding that has no unit (an unregistered account found by discovery, 体外运行):
the office names the 责任单位, the finding records it (audited) and the unit's 整改 work order is
issued as for any finding; without a unit it is only confirmed (no order, no deadline). Bad input
changes nothing. API and page."""

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


def confirm_entries(db_session, finding):
    """Committed and still pending ``finding:status:confirm`` audit entries of ``finding``."""
    action, object_id = "finding:status:confirm", str(finding.id)
    where = (AuditEntry.action == action, AuditEntry.object_id == object_id)
    committed = db_session.scalars(sa.select(AuditEntry).where(*where)).all()
    pending = [e for e in audit_service.pending() if e.action == action and e.object_id == object_id]
    return [*committed, *pending]


def assert_unchanged(db_session, finding):
    db_session.refresh(finding)
    assert finding.status is FindingStatus.open and finding.unit_id is None and finding.due_on is None
    assert workorders.order_of(finding) is None and not confirm_entries(db_session, finding)


# ----------------------------------------------------------------------------- API


def test_api_confirm_names_the_unit_and_issues_its_order(api_as, db_session, auditor, bureau):
    finding = unregistered()
    due = today_cn() + timedelta(days=30)
    r = api_as(auditor).post(
        f"/api/v1/findings/{finding.id}/actions/confirm",
        json={"unit_id": bureau.id, "due_on": due.isoformat(), "reason": "限期注销或登记入台账"},
    )
    assert r.status_code == 200, r.json
    assert r.json["unit_id"] == bureau.id and r.json["unit_name"] == "定责县文旅局"
    assert r.json["status"] == "confirmed" and r.json["due_on"] == due.isoformat()
    order = workorders.order_of(finding)
    assert order.unit_id == bureau.id and order.due_on == due and order.status is WorkOrderStatus.issued
    assert order.events[0].text.startswith("整改要求：限期注销或登记入台账。请于 " + due.isoformat())
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
