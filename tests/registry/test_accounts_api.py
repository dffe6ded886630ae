"""Accounts API: list/filter/search/paginate, detail, events, create, scoping, OpenAPI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from auth.models import Role
from registry.models import Account, AccountStatus, Platform


@pytest.fixture
def ledger(db_session, make_unit, make_user, api_as):
    unit_a = make_unit("甲县教育局")
    child_a = make_unit("甲县教育局第一中学", parent=unit_a)
    unit_b = make_unit("乙县公安局")

    def add(unit: Any, platform: str, uid: str, name: str, status: str = "active", **kw: Any) -> Account:
        account = Account(
            platform=Platform(platform),
            platform_uid=uid,
            name=name,
            unit_id=unit.id,
            status=AccountStatus(status),
            verified_subject=unit.name,
            **kw,
        )
        db_session.add(account)
        db_session.flush()
        return account

    accounts = {
        "a_weibo": add(unit_a, "weibo", "5551001", "甲县教育发布"),
        "a_wechat": add(unit_a, "wechat", "gh_jiaoyu_100%", "甲县教育", status="applying"),
        "child_douyin": add(child_a, "douyin", "dy_yizhong", "甲县一中"),
        "b_weibo": add(unit_b, "weibo", "5552001", "乙县公安"),
        "b_toutiao": add(unit_b, "toutiao", "tt_gongan", "乙县警方发布", status="suspended"),
    }
    users = {
        "op_a": make_user(Role.operator, unit=unit_a),
        "op_b": make_user(Role.operator, unit=unit_b),
        "reviewer_a": make_user(Role.reviewer_1, unit=unit_a),
        "auditor": make_user(Role.auditor),
    }
    return {
        "units": {"a": unit_a, "child_a": child_a, "b": unit_b},
        "accounts": accounts,
        "client": lambda who: api_as(users[who]),
        "users": users,
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def test_list_is_scoped(ledger):
    acc = ledger["accounts"]
    mine = {acc["a_weibo"].id, acc["a_wechat"].id, acc["child_douyin"].id}
    assert ids(ledger["client"]("op_a").get("/api/v1/accounts")) == mine
    assert ids(ledger["client"]("reviewer_a").get("/api/v1/accounts")) == mine
    everyone = ids(ledger["client"]("auditor").get("/api/v1/accounts?per_page=200"))
    assert everyone >= {a.id for a in acc.values()}


def test_filters_and_search(ledger):
    acc = ledger["accounts"]
    client = ledger["client"]("auditor")
    assert ids(client.get("/api/v1/accounts?platform=weibo&q=县")) == {acc["a_weibo"].id, acc["b_weibo"].id}
    assert ids(client.get(f"/api/v1/accounts?unit_id={ledger['units']['b'].id}")) == {
        acc["b_weibo"].id,
        acc["b_toutiao"].id,
    }
    assert ids(client.get("/api/v1/accounts?status=suspended&q=乙县")) == {acc["b_toutiao"].id}
    assert ids(client.get("/api/v1/accounts?q=警方")) == {acc["b_toutiao"].id}  # name
    assert ids(client.get("/api/v1/accounts?q=yizhong")) == {acc["child_douyin"].id}  # uid, case-insensitive
    assert ids(client.get("/api/v1/accounts?q=YIZHONG")) == {acc["child_douyin"].id}
    assert ids(client.get("/api/v1/accounts?q=100%")) == {acc["a_wechat"].id}  # % is literal
    assert ids(client.get("/api/v1/accounts?q=555_001")) == set()  # _ is literal


def test_invalid_filters_are_422_in_chinese(ledger):
    client = ledger["client"]("auditor")
    response = client.get("/api/v1/accounts?platform=myspace&status=gone")
    assert response.status_code == 422
    details = response.json["error"]["details"]["query"]
    assert details["platform"] == ["平台无效"] and details["status"] == ["状态无效"]


def test_pagination_envelope(ledger):
    client = ledger["client"]("op_a")
    first = client.get("/api/v1/accounts?per_page=2&page=1").json
    second = client.get("/api/v1/accounts?per_page=2&page=2").json
    assert set(first) == {"items", "total", "page", "per_page"}
    assert first["total"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
    assert client.get("/api/v1/accounts?per_page=201").status_code == 422


def test_detail_and_labels(ledger):
    account = ledger["accounts"]["a_wechat"]
    body = ledger["client"]("auditor").get(f"/api/v1/accounts/{account.id}").json
    assert body["platform_label"] == "微信公众号" and body["status_label"] == "申请中"
    assert body["unit_name"] == "甲县教育局"
    assert set(body["allowed_actions"]) == {"approve", "reject"}
    assert body["findings"] == []
    operator_view = ledger["client"]("op_a").get(f"/api/v1/accounts/{account.id}").json
    assert operator_view["allowed_actions"] == []


def test_operator_of_a_gets_404_on_everything_of_b(ledger):
    client = ledger["client"]("op_a")
    for key in ("b_weibo", "b_toutiao"):
        account = ledger["accounts"][key]
        assert client.get(f"/api/v1/accounts/{account.id}").status_code == 404
        assert client.get(f"/api/v1/accounts/{account.id}/events").status_code == 404
        for action in (
            "approve",
            "request_change",
            "approve_change",
            "request_close",
            "confirm_closed",
            "suspend",
            "reactivate",
            "reject",
        ):
            response = client.post(f"/api/v1/accounts/{account.id}/actions/{action}", json={"reason": "试图越权"})
            assert response.status_code == 404, (key, action)
    # nor can it apply in unit B, nor see B in filters
    response = client.post(
        "/api/v1/accounts", json={"platform": "douyin", "name": "越权申请", "unit_id": ledger["units"]["b"].id}
    )
    assert response.status_code == 404
    assert ids(client.get(f"/api/v1/accounts?unit_id={ledger['units']['b'].id}")) == set()
    export = client.get("/api/v1/reports/accounts.csv").data.decode("utf-8-sig")
    assert "乙县" not in export


def test_operator_of_parent_unit_reaches_child_unit(ledger):
    account = ledger["accounts"]["child_douyin"]
    response = ledger["client"]("op_a").post(
        f"/api/v1/accounts/{account.id}/actions/request_change", json={"changes": {"admin_name": "王老师"}}
    )
    assert response.status_code == 200


def test_create_validation_in_chinese(ledger):
    client = ledger["client"]("op_a")
    response = client.post(
        "/api/v1/accounts",
        json={
            "platform": "x",
            "name": "",
            "contact_email": "nope",
            "profile_url": "ftp://x",
            "opened_on": "2024-13-01",
        },
    )
    assert response.status_code == 422
    details = response.json["error"]["details"]["json"]
    assert details["platform"] == ["平台无效"]
    assert details["unit_id"] == ["此项为必填"]
    assert details["contact_email"] == ["邮箱格式不正确"]
    assert "http" in details["profile_url"][0]
    assert details["opened_on"] == ["日期格式应为 YYYY-MM-DD"]
    assert details["name"] == ["长度应为 2–200 个字"]


def test_create_roles(ledger):
    body = {"platform": "kuaishou", "name": "甲县教育快手", "unit_id": ledger["units"]["a"].id}
    assert ledger["client"]("reviewer_a").post("/api/v1/accounts", json=body).status_code == 403
    created = ledger["client"]("auditor").post("/api/v1/accounts", json=body)
    assert created.status_code == 201 and created.json["status"] == "applying"


def test_create_with_taken_uid_is_409(ledger):
    body = {"platform": "weibo", "platform_uid": "5552001", "name": "抢注", "unit_id": ledger["units"]["a"].id}
    response = ledger["client"]("auditor").post("/api/v1/accounts", json={**body, "duplicate_reason": "x"})
    assert response.status_code == 409 and response.json["error"]["code"] == "uid_taken"


def test_events_list_diffs_in_order(ledger):
    account = ledger["accounts"]["a_weibo"]
    operator, auditor = ledger["client"]("op_a"), ledger["client"]("auditor")
    operator.post(f"/api/v1/accounts/{account.id}/actions/request_change", json={"changes": {"name": "甲县教育"}})
    auditor.post(f"/api/v1/accounts/{account.id}/actions/approve_change", json={"reason": "同意"})
    response = operator.get(f"/api/v1/accounts/{account.id}/events")
    assert response.status_code == 200
    items = response.json["items"]
    assert [e["action"] for e in items] == ["request_change", "approve_change"]
    assert items[1]["changes"]["name"] == ["甲县教育发布", "甲县教育"]
    assert items[1]["approver_name"] == "测试用户" and items[1]["action_label"] == "批准变更"
    assert response.json["total"] == 2


def test_openapi_documents_the_registry(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/accounts",
        "/api/v1/accounts/{account_id}",
        "/api/v1/accounts/{account_id}/events",
        "/api/v1/accounts/{account_id}/actions/{action}",
        "/api/v1/registry/imports",
        "/api/v1/registry/template.xlsx",
        "/api/v1/reports/accounts.xlsx",
        "/api/v1/reports/accounts.csv",
        "/api/v1/units/{unit_id}",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/v1/units/{unit_id}"]
    params = {p["name"] for p in paths["/api/v1/accounts"]["get"]["parameters"]}
    assert {"platform", "unit_id", "status", "q", "overdue", "page", "per_page"} <= params
    assert "multipart/form-data" in paths["/api/v1/registry/imports"]["post"]["requestBody"]["content"]


def test_list_items_have_the_detail_shape(ledger, db_session):
    """The list is serialised without marshmallow (speed); it must match AccountOut exactly."""
    account = ledger["accounts"]["a_wechat"]
    account.opened_on = date(2024, 5, 6)
    account.filing_due_on = date(2024, 6, 1)
    account.last_post_at = datetime(2026, 1, 2, 3, 4, 5)
    db_session.flush()
    client = ledger["client"]("auditor")
    (listed,) = client.get("/api/v1/accounts?q=gh_jiaoyu").json["items"]
    detail = client.get(f"/api/v1/accounts/{account.id}").json
    detail.pop("findings")
    assert listed == detail
    assert listed["opened_on"] == "2024-05-06" and listed["last_post_at"] == "2026-01-02T03:04:05Z"
