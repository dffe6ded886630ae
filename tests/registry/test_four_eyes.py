"""Four-eyes rule (四眼原则): nobody approves an application they made.

The approving steps are ``approve`` (opening), ``approve_change`` and the closure filing
(``confirm_closed`` from ``closed_on_platform``). The person who applied — and, for a closure,
who reported the account closed on the platform — is refused with 403 ``own_application`` and
a Chinese message; the status stays, no event or audit entry is written. Another approver may
decide; withdrawing one's own application (``reject``) and the system (CLI) are not refused.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from registry import service
from registry.models import Account, AccountEvent, AccountStatus
from tests.conftest import PASSWORD
from tests.registry.test_lifecycle import PAYLOAD, assert_refused, counts, place


def act(people, who: str, account: Account, action: str, **payload):
    body = {**PAYLOAD.get(action, {}), **payload}
    return people["client"](who).post(f"/api/v1/accounts/{account.id}/actions/{action}", json=body)


def assert_own_application(response, label: str) -> None:
    assert response.status_code == 403, response.json
    error = response.json["error"]
    assert error["code"] == "own_application"
    assert "四眼原则" in error["message"] and label in error["message"] and "其他审批人" in error["message"]


def apply_open(people, db_session, who: str) -> Account:
    unit = people["unit"]
    response = people["client"](who).post(
        "/api/v1/accounts",
        json={"platform": "wechat", "name": f"{unit.name}微信", "unit_id": unit.id, "verified_subject": unit.name},
    )
    assert response.status_code == 201, response.json
    return db_session.get(Account, response.json["id"])


@pytest.mark.parametrize("applicant", ["auditor", "admin"])
def test_applicant_cannot_approve_the_opening(people, db_session, applicant):
    account = apply_open(people, db_session, applicant)
    before = counts(db_session, account)
    response = act(people, applicant, account, "approve")
    assert_own_application(response, "开设申请")
    assert "批准开设" in response.json["error"]["message"]
    assert_refused(db_session, account, "applying", before)
    response = act(people, "auditor2", account, "approve")
    assert response.status_code == 200, response.json
    assert response.json["account"]["status"] == "active"
    assert response.json["event"]["approver_id"] == people["users"]["auditor2"].id


def test_operator_application_is_approved_as_before(people, db_session):
    account = apply_open(people, db_session, "operator")
    assert act(people, "auditor", account, "approve").status_code == 200


def test_applicant_cannot_approve_the_change(people, db_session):
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "request_change").status_code == 200
    before = counts(db_session, account)
    assert_own_application(act(people, "auditor", account, "approve_change"), "变更申请")
    assert_refused(db_session, account, "changing", before)
    assert db_session.get(Account, account.id).pending_change == PAYLOAD["request_change"]["changes"]
    response = act(people, "admin", account, "approve_change")
    assert response.status_code == 200, response.json
    assert response.json["account"]["name"] == PAYLOAD["request_change"]["changes"]["name"]


def test_an_earlier_application_does_not_count(people, db_session):
    """Only the pending application's applicant is excluded, not whoever applied in an earlier round."""
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "request_change").status_code == 200
    assert act(people, "auditor2", account, "approve_change").status_code == 200
    assert act(people, "operator", account, "request_change", changes={"contact_phone": "0571-1"}).status_code == 200
    assert act(people, "auditor", account, "approve_change").status_code == 200


def test_withdrawing_ones_own_application_is_allowed(people, db_session):
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "request_change").status_code == 200
    response = act(people, "auditor", account, "reject", reason="撤回本人的变更申请")
    assert response.status_code == 200 and response.json["account"]["status"] == "active"


@pytest.fixture
def closing(people, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2026, 3, 2))
    return place(db_session, people["unit"], "active")


def test_closure_requester_cannot_record_the_closure_filing(people, db_session, closing):
    account = closing
    notice = {"closure_notice_on": "2026-01-05"}
    assert act(people, "auditor", account, "request_close", **notice).status_code == 200
    # the platform closure is a report, not an approval: the operator (or anyone) may make it
    assert act(people, "operator", account, "confirm_closed", closed_on="2026-03-02").status_code == 200
    before = counts(db_session, account)
    response = act(people, "auditor", account, "confirm_closed", filing_date="2026-03-02")
    assert_own_application(response, "关停申请")
    assert "确认关停" in response.json["error"]["message"]
    assert_refused(db_session, account, "closed_on_platform", before)
    response = act(people, "auditor2", account, "confirm_closed", filing_date="2026-03-02")
    assert response.status_code == 200 and response.json["account"]["status"] == "closed"


def test_who_reported_the_platform_closure_cannot_file_it(people, db_session, closing):
    account = closing
    assert act(people, "operator", account, "request_close", closure_notice_on="2026-01-05").status_code == 200
    assert act(people, "auditor", account, "confirm_closed", closed_on="2026-03-02").status_code == 200
    before = counts(db_session, account)
    assert_own_application(act(people, "auditor", account, "confirm_closed"), "关停申请")
    assert_refused(db_session, account, "closed_on_platform", before)
    assert act(people, "auditor2", account, "confirm_closed").status_code == 200


def test_steps_that_approve_nothing_are_not_affected(people, db_session):
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "suspend").status_code == 200
    assert act(people, "auditor", account, "reactivate").status_code == 200


def test_the_system_is_not_refused(people, db_session):
    account = apply_open(people, db_session, "auditor")
    event = service.advance(account, "approve", None, filing_number="CLI-1")
    assert account.status is AccountStatus.active and event.approver_id is None


def test_applicant_ids_follow_the_pending_application(people, db_session, closing):
    account = closing
    users = people["users"]
    act(people, "operator", account, "request_close", closure_notice_on="2026-01-05")
    act(people, "auditor", account, "reject", reason="不同意关停")
    act(people, "admin", account, "request_close", closure_notice_on="2026-01-05")
    act(people, "auditor2", account, "confirm_closed", closed_on="2026-03-02")
    statuses = (AccountStatus.closing, AccountStatus.closed_on_platform)
    assert service.applicant_ids(account, statuses) == {users["admin"].id, users["auditor2"].id}
    actions = db_session.scalars(
        sa.select(AccountEvent.action).where(AccountEvent.account_id == account.id).order_by(AccountEvent.id)
    ).all()
    assert actions == ["request_close", "reject", "request_close", "confirm_closed:platform"]


def test_the_page_shows_the_refusal(people, client, db_session):
    account = apply_open(people, db_session, "auditor")
    before = counts(db_session, account)
    response = client.post("/login", data={"username": people["users"]["auditor"].username, "password": PASSWORD})
    assert response.status_code == 302
    response = client.post(f"/registry/accounts/{account.id}/actions/approve", data={}, follow_redirects=True)
    assert "四眼原则" in response.get_data(as_text=True)
    assert_refused(db_session, account, "applying", before)
