"""The four-eyes rule in what is offered: ``allowed_actions`` (API) and the buttons of the inbox
and the account page leave out the approvals the rule would refuse for this user, and a list
reads the applicants of all its accounts in one query (not one per row)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from common.errors import ApiError
from extensions import db
from registry import service
from registry.models import Account
from tests.conftest import PASSWORD
from tests.registry.test_four_eyes import act, apply_open
from tests.registry.test_lifecycle import place


def allowed(people, who: str, account: Account) -> list[str]:
    response = people["client"](who).get(f"/api/v1/accounts/{account.id}")
    assert response.status_code == 200, response.json
    return response.json["allowed_actions"]


def listed(people, who: str, **query) -> dict[int, list[str]]:
    response = people["client"](who).get("/api/v1/accounts", query_string={"per_page": 200, **query})
    assert response.status_code == 200, response.json
    return {item["id"]: item["allowed_actions"] for item in response.json["items"]}


def login(client, user):
    client.post("/logout")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def form_for(account: Account, action: str) -> str:
    return f"/registry/accounts/{account.id}/actions/{action}"


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


# ----------------------------------------------------------------------------- API


@pytest.mark.parametrize("applicant", ["auditor", "admin"])
def test_applicant_is_not_offered_the_opening_approval(people, db_session, applicant):
    account = apply_open(people, db_session, applicant)
    assert allowed(people, applicant, account) == ["reject"]  # withdrawing stays possible
    assert listed(people, applicant)[account.id] == ["reject"]
    assert sorted(allowed(people, "auditor2", account)) == ["approve", "reject"]
    assert sorted(listed(people, "auditor2")[account.id]) == ["approve", "reject"]
    assert allowed(people, "operator", account) == []


def test_operators_application_offers_approval_to_every_approver(people, db_session):
    account = apply_open(people, db_session, "operator")
    for who in ("auditor", "auditor2", "admin"):
        assert sorted(allowed(people, who, account)) == ["approve", "reject"]


def test_change_requester_is_not_offered_the_change_approval(people, db_session):
    account = place(db_session, people["unit"], "active")
    response = act(people, "auditor", account, "request_change")
    assert response.status_code == 200
    assert response.json["account"]["allowed_actions"] == ["reject"]  # the action's own answer too
    assert allowed(people, "auditor", account) == ["reject"]
    assert sorted(allowed(people, "admin", account)) == ["approve_change", "reject"]


def test_closure_filing_is_withheld_from_requester_and_reporter(people, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2026, 3, 2))
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "request_close", closure_notice_on="2026-01-05").status_code == 200
    # the platform closure is a report, not an approval: still offered to the requester
    assert "confirm_closed" in allowed(people, "auditor", account)
    assert act(people, "admin", account, "confirm_closed", closed_on="2026-03-02").status_code == 200
    for who in ("auditor", "admin"):
        assert allowed(people, who, account) == [], who
        assert listed(people, who, status="closed_on_platform")[account.id] == []
    assert allowed(people, "auditor2", account) == ["confirm_closed"]
    assert act(people, "auditor2", account, "confirm_closed").status_code == 200


def test_only_the_pending_application_counts(people, db_session):
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "request_change").status_code == 200
    assert act(people, "auditor2", account, "approve_change").status_code == 200
    assert act(people, "operator", account, "request_change", changes={"contact_phone": "0571-1"}).status_code == 200
    assert sorted(allowed(people, "auditor", account)) == ["approve_change", "reject"]
    assert sorted(listed(people, "auditor")[account.id]) == ["approve_change", "reject"]


def test_what_is_offered_is_what_is_allowed(people, db_session):
    """Every action offered succeeds the four-eyes check; every one withheld is refused by it."""
    account = apply_open(people, db_session, "auditor")
    for who in ("auditor", "auditor2"):
        user = people["users"][who]
        for action in service.AccountAction:
            offered = action.value in service.available_actions(account, user)
            try:
                service.ensure_can(account, action, user)
            except ApiError:
                refused = True
            else:
                refused = False
            assert offered is not refused, (who, action)


def test_pending_applicants_of_a_list(people, db_session):
    users = people["users"]
    opened = apply_open(people, db_session, "auditor")
    changing = place(db_session, people["unit"], "active", n=1)
    act(people, "admin", changing, "request_change")
    active = place(db_session, people["unit"], "active", n=2)
    found = service.pending_applicants([opened, changing, active])
    assert found == {opened.id: {users["auditor"].id}, changing.id: {users["admin"].id}}
    assert service.pending_applicants([active]) == {}


def test_the_list_reads_applicants_in_one_query(people, db_session, app):
    def list_statements() -> int:
        with statements() as seen:
            assert listed(people, "auditor")
        return len(seen)

    apply_open(people, db_session, "auditor")
    few = list_statements()
    for n in range(1, 6):
        account = place(db_session, people["unit"], "active", n=n)
        assert act(people, "auditor", account, "request_change").status_code == 200
    many = list_statements()
    assert many == few
    ids = listed(people, "auditor")
    assert len(ids) == 6 and all("approve" not in a and "approve_change" not in a for a in ids.values())


# ----------------------------------------------------------------------------- pages


def test_inbox_offers_approval_to_another_auditor_only(people, client, db_session):
    account = apply_open(people, db_session, "auditor")
    login(client, people["users"]["auditor"])
    page = client.get("/registry/inbox").get_data(as_text=True)
    assert account.name in page
    assert form_for(account, "approve") not in page and form_for(account, "reject") in page
    assert "四眼原则" in page and "须由其他审批人办理" in page
    login(client, people["users"]["auditor2"])
    page = client.get("/registry/inbox").get_data(as_text=True)
    assert form_for(account, "approve") in page and form_for(account, "reject") in page
    assert "四眼原则" not in page


def test_inbox_reads_applicants_in_one_query(people, client, db_session):
    login(client, people["users"]["auditor2"])

    def inbox_statements() -> int:
        with statements() as seen:
            assert client.get("/registry/inbox").status_code == 200
        return len(seen)

    def request_change(n: int) -> None:
        account = place(db_session, people["unit"], "active", n=n)
        assert act(people, "operator" if n % 2 else "admin", account, "request_change").status_code == 200

    apply_open(people, db_session, "auditor")
    request_change(1)
    few = inbox_statements()  # one query per section shown, not per row
    for n in range(2, 6):
        request_change(n)
    assert inbox_statements() == few


def test_account_page_offers_approval_to_another_auditor_only(people, client, db_session):
    account = place(db_session, people["unit"], "active")
    assert act(people, "auditor", account, "request_change").status_code == 200
    login(client, people["users"]["auditor"])
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert form_for(account, "approve_change") not in page and form_for(account, "reject") in page
    assert "四眼原则" in page and "“批准变更”须由其他审批人办理" in page
    login(client, people["users"]["admin"])
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert form_for(account, "approve_change") in page and "四眼原则" not in page
