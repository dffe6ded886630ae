"""Deadlines counted Monday–Friday (a year neither chinesecalendar nor EXTRA_HOLIDAYS_FILE
covers, common.workdays) are marked: ``filing_due_estimated`` / ``closable_on_estimated`` in the
API, “（按周一至周五估算）” with an explanatory title on the pages.

chinesecalendar 1.11.0 has data up to 2026: 2027 and 2031 are uncovered, 2026 is covered.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from auth.models import Role
from common import workdays
from registry import deadlines, service
from registry.models import Account
from tests.conftest import PASSWORD
from tests.registry.test_lifecycle import place

MARK = "（按周一至周五估算）"
# 2031-01-01 is a Wednesday; the office's notice makes 01-01..03 holidays and 01-04/05 workdays.
NOTICE_2031 = "date,kind\n2031-01-01,holiday\n2031-01-02,holiday\n2031-01-03,holiday\n2031-01-04,workday\n"


@pytest.fixture
def world(make_unit, make_user, api_as):
    unit_a = make_unit("甲县人民政府")
    users = {"operator": make_user(Role.operator, unit=unit_a), "auditor": make_user(Role.auditor)}
    return {"unit_a": unit_a, "users": users, "client": lambda who: api_as(users[who])}


@pytest.fixture
def holidays_2031(app, tmp_path, monkeypatch):
    path = tmp_path / "holidays.csv"
    path.write_text(NOTICE_2031, encoding="utf-8")
    monkeypatch.setitem(app.config, "EXTRA_HOLIDAYS_FILE", str(path))
    return str(path)


def detail(world, account: Account, who: str = "auditor") -> dict:
    response = world["client"](who).get(f"/api/v1/accounts/{account.id}")
    assert response.status_code == 200, response.json
    return response.json


def listed(world, who: str = "auditor") -> dict[int, dict]:
    response = world["client"](who).get("/api/v1/accounts", query_string={"per_page": 200})
    assert response.status_code == 200, response.json
    return {item["id"]: item for item in response.json["items"]}


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


# ----------------------------------------------------------------------------- service


def test_stored_deadlines_by_year(app):
    with app.test_request_context():
        assert deadlines.due_is_estimated(date(2031, 3, 7), 5)
        assert deadlines.due_is_estimated(date(2027, 1, 8), 5)
        assert not deadlines.due_is_estimated(date(2026, 6, 1), 5)
        assert not deadlines.due_is_estimated(date(2026, 12, 31), 5)
        assert not deadlines.due_is_estimated(None, 5)


def test_a_covered_year_after_an_uncovered_one(app, holidays_2031):
    with app.test_request_context():
        assert not deadlines.due_is_estimated(date(2031, 7, 1), 5)
        # counted back from 2031-01-07, five working days reach into 2030 (not covered): estimate
        assert deadlines.due_is_estimated(date(2031, 1, 7), 5)
        assert not deadlines.due_is_estimated(date(2031, 1, 7), 2)  # 01-07, 01-06, 01-05: all 2031
        assert workdays.deadline(date(2031, 1, 5), 2) == (date(2031, 1, 7), True)


def test_the_office_file_makes_the_year_exact(world, db_session, holidays_2031):
    account = place(db_session, world["unit_a"], "applying", filing_due_on=date(2031, 3, 7))
    assert detail(world, account)["filing_due_estimated"] is False


# ----------------------------------------------------------------------------- API


def test_api_marks_filing_deadlines_in_an_uncovered_year(world, db_session):
    unit = world["unit_a"]
    uncovered = place(db_session, unit, "applying", n=1, filing_due_on=date(2031, 3, 7))
    covered = place(db_session, unit, "applying", n=2, filing_due_on=date(2026, 6, 1))
    none = place(db_session, unit, "active", n=3)
    expected = {uncovered.id: True, covered.id: False, none.id: False}
    items = listed(world)
    for account_id, estimated in expected.items():
        assert items[account_id]["filing_due_estimated"] is estimated
    for account in (uncovered, covered, none):
        body = detail(world, account)
        body.pop("findings")
        assert body == items[account.id]  # the list keeps the detail shape
        assert body["filing_due_estimated"] is expected[account.id]


def test_opening_with_a_date_in_an_uncovered_year(world):
    client = world["client"]("operator")
    unit = world["unit_a"]
    response = client.post(
        "/api/v1/accounts",
        json={"platform": "wechat", "name": "甲县微信", "unit_id": unit.id, "opened_on": "2031-03-03"},
    )
    assert response.status_code == 201, response.json
    assert response.json["filing_due_on"] == "2031-03-10"  # Monday–Friday
    assert response.json["filing_due_estimated"] is True
    response = client.post(
        "/api/v1/accounts",
        json={"platform": "douyin", "name": "甲县抖音", "unit_id": unit.id, "opened_on": "2026-03-02"},
    )
    assert response.status_code == 201, response.json
    assert response.json["filing_due_estimated"] is False


def test_api_marks_the_end_of_a_notice_period_across_the_new_year(world, db_session):
    unit = world["unit_a"]
    late = place(db_session, unit, "closing", n=1, closure_notice_on=date(2026, 12, 20))
    early = place(db_session, unit, "closing", n=2, closure_notice_on=date(2026, 3, 2))
    body = detail(world, late)
    assert body["closable_on"].startswith("2027-") and body["closable_on_estimated"] is True
    body = detail(world, early)
    assert body["closable_on"] == "2026-03-23" and body["closable_on_estimated"] is False
    assert detail(world, place(db_session, unit, "active", n=3))["closable_on_estimated"] is False


def test_openapi_documents_the_flags(client):
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["AccountOut"]["properties"]
    assert schema["filing_due_estimated"]["type"] == "boolean"
    assert "EXTRA_HOLIDAYS_FILE" in schema["filing_due_estimated"]["description"]
    assert schema["closable_on_estimated"]["type"] == "boolean"


# ----------------------------------------------------------------------------- pages


def test_ledger_marks_estimated_deadlines_with_an_explanation(client, world, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2031, 4, 1))
    unit = world["unit_a"]
    overdue = place(db_session, unit, "applying", n=1, name="逾期估算号", filing_due_on=date(2031, 3, 7))
    due = place(db_session, unit, "applying", n=2, name="待备案估算号", filing_due_on=date(2031, 6, 2))
    exact = place(db_session, unit, "applying", n=3, name="准确时限号", filing_due_on=date(2026, 6, 1))
    login(client, world["users"]["auditor"])
    page = client.get("/registry").get_data(as_text=True)
    rows = {a.name: row_of(page, a.name) for a in (overdue, due, exact)}
    assert "备案逾期（时限 2031-03-07）" in rows["逾期估算号"] and MARK in rows["逾期估算号"]
    assert "待备案（2031-06-02 前）" in rows["待备案估算号"] and MARK in rows["待备案估算号"]
    assert "备案逾期（时限 2026-06-01）" in rows["准确时限号"] and MARK not in rows["准确时限号"]
    assert 'class="estimate" title="' in rows["逾期估算号"]
    assert "EXTRA_HOLIDAYS_FILE" in rows["逾期估算号"] and "节假日" in rows["逾期估算号"]


def row_of(page: str, name: str) -> str:
    start = page.index(f">{name}</a>")
    return page[start : page.index("</tr>", start)]


def test_account_page_marks_the_deadline_and_says_why(client, world, db_session):
    account = place(db_session, world["unit_a"], "applying", filing_due_on=date(2031, 3, 7))
    login(client, world["users"]["auditor"])
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    notice = page[page.index("待备案：") : page.index("</p>", page.index("待备案："))]
    assert "请于 2031-03-07" in notice and MARK in notice
    assert page.count(MARK) >= 2  # the notice and the field list
    assert 'id="estimate-help"' in page and "EXTRA_HOLIDAYS_FILE" in page
    exact = place(db_session, world["unit_a"], "applying", n=1, filing_due_on=date(2026, 6, 1))
    page = client.get(f"/registry/accounts/{exact.id}").get_data(as_text=True)
    assert MARK not in page and 'id="estimate-help"' not in page


def test_notice_period_end_is_marked_on_account_page_inbox_and_flash(client, world, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2026, 12, 28))
    unit = world["unit_a"]
    closing = place(db_session, unit, "closing", n=1, closure_notice_on=date(2026, 12, 20))
    login(client, world["users"]["auditor"])
    page = client.get(f"/registry/accounts/{closing.id}").get_data(as_text=True)
    closable = service.closable_on(closing).isoformat()
    assert f'{closable}<span class="estimate"' in page and "起可确认关停" in page
    inbox = client.get("/registry/inbox").get_data(as_text=True)
    row = row_of(inbox, closing.name)
    assert f'；{closable}<span class="estimate"' in row and MARK in row
    assert "停更公告期满，最早" in row  # the confirm form's hint
    active = place(db_session, unit, "active", n=2)
    response = client.post(
        f"/registry/accounts/{active.id}/close",
        data={
            "reason": "机构撤并",
            "closure_notice_on": "2026-12-28",
            "closure_notice_url": "https://gov.example.cn/t",
        },
        follow_redirects=True,
    )
    assert "起可确认关停" in response.get_data(as_text=True)
    assert MARK in response.get_data(as_text=True).split("已进入停更公告期", 1)[1].split("起可确认关停", 1)[0]


def test_export_explains_estimated_deadlines(world, db_session, make_account):
    estimated = make_account(
        world["unit_a"], "weibo", name="导出估算", credentials=False, filing_due_on=date(2027, 1, 8)
    )
    exact = make_account(world["unit_a"], "douyin", name="导出准确", credentials=False, filing_due_on=date(2026, 6, 8))
    db_session.commit()
    response = world["client"]("auditor").get("/api/v1/reports/accounts.csv", query_string={"q": "导出"})
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    by_id = {int(row["系统ID"]): row for row in table}
    assert by_id[estimated.id]["备案时限"] == "2027-01-08"
    assert by_id[estimated.id]["备案时限说明"] == "按周一至周五估算"
    assert by_id[exact.id]["备案时限说明"] == ""
