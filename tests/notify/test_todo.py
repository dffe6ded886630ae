"""The to-do centre: each role lands on its own work, within its scope; counts in the header."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from extensions import db
from moderation.models import Content, ContentStatus
from oversight import findings
from oversight.findings import FindingInput
from oversight.models import FindingKind
from oversight.workorders import service as workorders
from tests.conftest import PASSWORD


@pytest.fixture
def setup(make_unit, make_user, db_session):
    bureau = make_unit("待办县教育局")
    other = make_unit("待办邻县人民政府")
    people = {
        "operator": make_user(Role.operator, unit=bureau),
        "stranger": make_user(Role.operator, unit=other),
        "reviewer1": make_user(Role.reviewer_1, unit=bureau),
        "auditor": make_user(Role.auditor),
    }
    report = findings.upsert_many(
        [
            FindingInput(
                kind=FindingKind.duplicate,
                fingerprint=f"t:{uuid.uuid4().hex}",
                evidence={"message": "重复开设"},
                unit_id=bureau.id,
            )
            for _ in range(2)
        ]
    )
    answered, waiting = report.created
    findings.act(answered, "confirm", people["auditor"])
    findings.act(waiting, "confirm", people["auditor"])
    workorders.feedback(workorders.order_of(answered), people["operator"], "已整改")
    db_session.add_all(
        [
            Content(
                unit_id=bureau.id, author_id=people["operator"].id, title="被退回的稿件", status=ContentStatus.rejected
            ),
            Content(
                unit_id=bureau.id,
                author_id=people["operator"].id,
                title="等待初审的稿件",
                status=ContentStatus.review_1,
            ),
        ]
    )
    findings.upsert_many(
        [
            FindingInput(
                kind=FindingKind.zombie_90d,
                fingerprint=f"t:{uuid.uuid4().hex}",
                evidence={"message": "疑似僵尸号"},
                unit_id=bureau.id,
            )
        ]
    )
    db_session.commit()
    return people, workorders.order_of(waiting)


def counts(api_as, user):
    return api_as(user).get("/api/v1/todo/counts").get_json()["sections"]


def test_each_role_lands_on_its_own_work(api_as, setup):
    people, waiting = setup
    operator = counts(api_as, people["operator"])
    assert operator == {
        "rejected_drafts": 1,
        "deliveries": 0,
        "orders_to_answer": 1,
        "filings": 0,
        "unauthorised": 0,
        "reposts": 0,
        "unanswered": 0,
    }
    body = api_as(people["operator"]).get("/api/v1/todo").get_json()
    orders = next(s for s in body["sections"] if s["key"] == "orders_to_answer")
    assert orders["items"][0]["url"] == f"/workorders/{waiting.id}"
    assert counts(api_as, people["reviewer1"]) == {"review_1": 1}
    office = counts(api_as, people["auditor"])
    assert office["findings_open"] >= 1 and office["feedback_to_decide"] >= 1
    stranger = counts(api_as, people["stranger"])
    assert stranger == {
        "rejected_drafts": 0,
        "deliveries": 0,
        "orders_to_answer": 0,
        "filings": 0,
        "unauthorised": 0,
        "reposts": 0,
        "unanswered": 0,
    }


def test_todo_page_and_header_count(client, setup):
    people, waiting = setup
    assert (
        client.post("/login", data={"username": people["operator"].username, "password": PASSWORD}).status_code == 302
    )
    page = client.get("/todo/").get_data(as_text=True)
    assert "待办（2）" in page  # the header: one rejected draft, one order to answer
    assert "被退回的稿件" in page and f"整改工单 #{waiting.id}" in page
    # what waits first, each kind a section; the empty kinds in one line after them, not "暂无。" cards between
    assert 'id="section-rejected_drafts"' in page and 'id="section-deliveries"' not in page
    empty = page.split('id="todo-empty"', 1)[1].split("</p>", 1)[0]
    assert "暂无待处理：" in empty and "发布失败或待人工处理" in empty and "被退回的稿件" not in empty
    assert page.index('id="section-rejected_drafts"') < page.index('id="todo-empty"')
    response = client.post("/todo/preferences", data={"email": "not-an-email", "email_enabled": "1"})
    assert response.status_code == 302
    assert "邮箱格式不正确" in client.get("/todo/").get_data(as_text=True)


def test_the_operators_landing_page_says_what_waits_today(client, setup):
    """The operator lands on 稿件: above the list, what waits for them today (the sections with
    something in them, each linked to its part of 待办), the same counts as the header's."""
    people, _waiting = setup
    login = client.post("/login", data={"username": people["operator"].username, "password": PASSWORD})
    assert login.status_code == 302 and login.headers["Location"].endswith("/contents")
    page = client.get("/contents").get_data(as_text=True)
    summary = page.split('id="todo-summary"', 1)[1].split("</nav>", 1)[0]
    assert "待处理：" in summary and "待办（2）" in page
    assert '/todo/#section-rejected_drafts">被退回的稿件（1）</a>' in summary
    assert "待提交的整改反馈（1）" in summary and "发布失败" not in summary  # only what has something waiting


def test_preferences_api(api_as, setup):
    people, _ = setup
    me = api_as(people["operator"])
    assert me.get("/api/v1/notify/preferences").get_json() == {
        "email": None,
        "email_enabled": False,
        "robot_enabled": True,
        "email_digest": False,
    }
    bad = me._call("PUT", "/api/v1/notify/preferences", json={"email_enabled": True})
    assert bad.status_code == 422 and "邮箱" in bad.get_json()["error"]["message"]
    ok = me._call("PUT", "/api/v1/notify/preferences", json={"email": "a@gov.example.cn", "email_enabled": True})
    assert ok.get_json() == {
        "email": "a@gov.example.cn",
        "email_enabled": True,
        "robot_enabled": True,
        "email_digest": False,
    }
    # 每日汇总 needs e-mail on; the change is audited with before and after.
    bad = me._call("PUT", "/api/v1/notify/preferences", json={"email_digest": True})
    assert bad.status_code == 422 and "每日汇总" in bad.get_json()["error"]["message"]
    on = me._call(
        "PUT",
        "/api/v1/notify/preferences",
        json={"email": "a@gov.example.cn", "email_enabled": True, "email_digest": True},
    )
    assert on.status_code == 200 and on.get_json()["email_digest"] is True
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "notify:preferences").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.before["email_digest"] is False and entry.after["email_digest"] is True
    assert entry.object_id == str(people["operator"].id)
