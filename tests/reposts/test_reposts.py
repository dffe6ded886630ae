# ruff: noqa: F811 - the publishing fixtures (approve, author) are imported and then requested
"""转载任务 end to end in-process: issued by the office, answered by the unit, completion found by
a real delivery to the sandbox over HTTP and by the inspection of a post made in the platform's
app, lateness, 不适用 with (and without) a reason, the board and its export, the 通报 sheet, the
待办 and the reminders, and who may see and do what."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from docx import Document
from openpyxl import load_workbook

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.timefmt import CN_TZ, today_cn
from common.workdays import add_workdays
from moderation import review
from moderation.models import Content, ContentStatus
from notify.sources import collect
from oversight.inspection import service as inspection
from oversight.inspection.models import LivePost
from publishers.models import Delivery, DeliveryStatus
from reports import service as reports
from reports.bulletin_doc import bulletin_docx
from reposts import completion, lifecycle
from reposts.models import RepostTarget, RepostTargetStatus, RepostTask
from tests.conftest import PASSWORD
from tests.publishers.test_pipeline import approve, author, claim, drain  # noqa: F401 - fixtures

S = RepostTargetStatus
SOURCE_URL = "https://www.gov.cn/zhengce/2026-12/01/content_7001234.htm"
SOURCE_TITLE = "国务院办公厅关于进一步优化政务服务提升行政效能的意见"


@pytest.fixture
def county(make_unit):
    return make_unit("转载测试县人民政府")


@pytest.fixture
def unit(county):
    """The unit of the publishing fixtures' author (tests/publishers/test_pipeline.py): the county."""
    return county


@pytest.fixture
def units(make_unit, county):
    return {
        "edu": make_unit("转载测试县教育局", parent=county),
        "health": make_unit("转载测试县卫生健康局", parent=county),
        "town": make_unit("转载测试县城关镇", parent=county),
    }


@pytest.fixture
def office(make_user, make_unit):
    return make_user(Role.auditor, unit=make_unit("转载测试县委网信办"))


def _task(api_as, office, units, **extra):
    body = {
        "source_kind": "url",
        "source_url": SOURCE_URL,
        "source_title": SOURCE_TITLE,
        "source_name": "中国政府网",
        "unit_ids": [u.id for u in units],
        "platforms": ["weibo"],
        "deadline": (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat() + "+00:00",
        "note": "请各单位在官方微博转载",
        **extra,
    }
    response = api_as(office).post("/api/v1/reposts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _targets(db_session, task_id):
    return {
        (t.unit_id, t.platform.value): t
        for t in db_session.scalars(sa.select(RepostTarget).where(RepostTarget.task_id == task_id))
    }


def _actions(db_session, prefix="repost:"):
    stmt = sa.select(AuditEntry.action).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.id)
    return list(db_session.scalars(stmt))


def _three_reviews(make_user, content):
    """The three reviews by three different reviewers of the unit, as the review pages do."""
    for stage, role in ((1, Role.reviewer_1), (2, Role.reviewer_2), (3, Role.reviewer_3)):
        reviewer = make_user(role, unit=content.unit)
        review.advance(content, f"approve_{stage}", reviewer, version=content.version, acknowledge_warnings=True)


# ----------------------------------------------------------------------------- completion by a delivery


def test_task_from_creation_to_completion_by_a_delivery(
    db_session, sandbox, api_as, make_user, make_account, office, units, county
):
    edu = units["edu"]
    weibo = make_account(edu, "weibo")
    operator = make_user(Role.operator, unit=edu)
    task = _task(api_as, office, [edu, units["health"]])
    assert task["counts"] == {
        "pending": 2,
        "done": 0,
        "done_late": 0,
        "not_applicable": 0,
        "overdue": 0,
        "cancelled": 0,
        "total": 2,
    }

    # the unit's 待办 lists it, and the reminder run tells its operator
    todo = api_as(operator).get("/api/v1/todo").get_json()
    section = next(s for s in todo["sections"] if s["key"] == "reposts")
    assert section["count"] == 1 and SOURCE_TITLE in section["items"][0]["title"]

    events = [e for e in collect() if e.kind == "repost_issued" and e.unit_id == edu.id]
    assert len(events) == 1 and operator.id in events[0].user_ids and "中国政府网" in events[0].body

    # 一键转为稿件: a draft with the title, the link and the 来源 statement, aimed at the unit's Weibo
    response = api_as(operator).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert")
    assert response.status_code == 201, response.get_json()
    content = db_session.get(Content, response.get_json()["content_id"])
    assert content.status is ContentStatus.draft and content.unit_id == edu.id and content.author_id == operator.id
    assert content.title == SOURCE_TITLE
    assert "来源：中国政府网" in content.body_text and SOURCE_URL in content.body_html
    assert [a.id for a in content.targets] == [weibo.id]
    # a second click opens the same content, it does not make another
    again = api_as(operator).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert").get_json()
    assert again["content_id"] == content.id

    # the three reviews still apply; the scheduler sends it to the sandbox
    review.advance(content, "submit", operator)
    _three_reviews(make_user, content)
    assert content.status is ContentStatus.approved
    drain(db_session, claim(db_session))
    delivery = db_session.scalar(sa.select(Delivery).where(Delivery.content_id == content.id))
    assert delivery.status is DeliveryStatus.sent
    assert any(SOURCE_TITLE in p["text"] for p in sandbox.live_posts("weibo"))

    result = completion.sweep()
    db_session.commit()
    assert result.done == 1
    target = _targets(db_session, task["id"])[(edu.id, "weibo")]
    assert target.status is S.done and target.evidence["via"] == "delivery"
    assert target.evidence["delivery_id"] == delivery.id and target.completed_at == delivery.sent_at
    # the other unit did nothing: still to do
    assert _targets(db_session, task["id"])[(units["health"].id, "weibo")].status is S.pending
    detail = api_as(office).get(f"/api/v1/reposts/{task['id']}").get_json()
    assert detail["counts"]["done"] == 1 and detail["counts"]["pending"] == 1
    assert {"repost:create", "repost:convert", "repost:done"} <= set(_actions(db_session))
    # done: out of the unit's 待办
    todo = api_as(operator).get("/api/v1/todo").get_json()
    assert next(s for s in todo["sections"] if s["key"] == "reposts")["count"] == 0
    # a second sweep changes nothing
    assert completion.sweep().as_dict() == {"done": 0, "done_late": 0, "overdue": 0}


# ----------------------------------------------------------------------------- completion by the inspection


def _plant(sandbox, account):
    body = {"platform": "weibo", "uid": account.platform_uid, "verified": True, "status": "active"}
    sandbox.call("POST", "/_sandbox/accounts", json={**body, "name": account.name, "subject": account.unit.name})


def _app_post(sandbox, account, text):
    body = {"platform": "weibo", "uid": account.platform_uid, "text": text}
    return sandbox.call("POST", "/_sandbox/app/posts", json=body)["post"]


def test_task_completed_outside_govmedia_found_by_the_inspection(
    db_session, sandbox, api_as, make_user, make_account, office, units
):
    edu, health, town = units["edu"], units["health"], units["town"]
    accounts = {u.id: make_account(u, "weibo", name=u.name) for u in (edu, health, town)}
    for a in accounts.values():
        _plant(sandbox, a)
    task = _task(api_as, office, [edu, health, town])

    # edu forwards the link in the Weibo app; health copies the title with full-width punctuation and
    # spaces; town posts something unrelated (the negative twin)
    _app_post(sandbox, accounts[edu.id], f"【转发】优化政务服务 {SOURCE_URL.replace('https://www.', 'http://')}")
    _app_post(sandbox, accounts[health.id], "国务院办公厅关于进一步优化政务服务、提升行政效能的意见 ！全文见中国政府网")
    _app_post(sandbox, accounts[town.id], "城关镇开展冬季消防安全检查")
    for a in accounts.values():
        assert inspection.inspect_account(a.id).result == "checked"
    db_session.commit()

    result = completion.sweep()
    db_session.commit()
    targets = _targets(db_session, task["id"])
    assert result.done == 2
    assert targets[(edu.id, "weibo")].status is S.done and targets[(edu.id, "weibo")].evidence["via"] == "live_post"
    assert targets[(health.id, "weibo")].status is S.done
    assert targets[(town.id, "weibo")].status is S.pending


def test_a_post_from_before_the_task_does_not_count(db_session, sandbox, api_as, make_account, office, units):
    edu = units["edu"]
    account = make_account(edu, "weibo", name=edu.name)
    _plant(sandbox, account)
    _app_post(sandbox, account, f"早先转发过：{SOURCE_URL}")
    inspection.inspect_account(account.id)

    post = db_session.scalar(sa.select(LivePost).where(LivePost.account_id == account.id))
    post.published_at = post.first_seen_at = utcnow() - timedelta(hours=1)  # posted an hour before the task
    db_session.commit()
    task = _task(api_as, office, [edu])
    completion.sweep()
    assert _targets(db_session, task["id"])[(edu.id, "weibo")].status is S.pending


# ----------------------------------------------------------------------------- lateness and the 通报


def test_late_unit_is_overdue_then_done_late_and_in_the_bulletin(
    db_session, sandbox, api_as, make_user, make_account, office, units
):

    edu, health = units["edu"], units["health"]
    make_user(Role.operator, unit=edu)
    late_account = make_account(edu, "weibo", name=edu.name)
    on_time = make_account(health, "weibo", name=health.name)
    for a in (late_account, on_time):
        _plant(sandbox, a)
    task_json = _task(api_as, office, [edu, health])
    task = db_session.get(RepostTask, task_json["id"])

    _app_post(sandbox, on_time, f"转发 {SOURCE_URL}")  # health, before the deadline
    inspection.inspect_account(on_time.id)
    completion.sweep()
    db_session.commit()
    # the deadline passes: edu has done nothing
    task.deadline_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    assert completion.sweep().overdue == 1
    targets = _targets(db_session, task.id)
    assert targets[(edu.id, "weibo")].status is S.overdue
    assert targets[(health.id, "weibo")].status is S.done
    # the office sees it, the reminders say it

    assert any(e.kind == "repost_overdue" and e.unit_id == edu.id for e in collect())
    # edu reposts after the deadline: 逾期完成, still late
    _app_post(sandbox, late_account, f"补发：{SOURCE_TITLE}")
    inspection.inspect_account(late_account.id)
    assert completion.sweep().done_late == 1
    db_session.commit()
    assert targets[(edu.id, "weibo")].status is S.done_late

    # the quarter's bulletin counts edu as late, not health
    today = today_cn()
    period = reports.period(today - timedelta(days=30), today + timedelta(days=1))
    late = reports.bulletin_data(period)["reposts_late"]
    assert [(r["unit_name"], r["late"], r["missing"]) for r in late] == [(edu.name, 1, 0)]

    wb = load_workbook(io.BytesIO(reports.bulletin_xlsx(period)))
    sheet = wb["转载任务逾期单位"]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert values == [[1, edu.name, 1, 0, 1, 0, 0]]
    # …and the Word 通报 names it, with 附表4

    doc = Document(io.BytesIO(bulletin_docx(period)))
    text = "\n".join(para.text for para in doc.paragraphs)
    assert f"转载任务逾期完成或未完成的单位：{edu.name}。" in text and "转载任务逾期单位" in text
    assert [c.text for c in doc.tables[-1].rows[1].cells] == ["1", edu.name, "1", "0", "1", "0", "0"]


# ----------------------------------------------------------------------------- 不适用


def test_not_applicable_needs_a_reason_and_the_office_may_refuse_it(
    db_session, api_as, make_user, make_account, office, units
):
    edu = units["edu"]
    operator = make_user(Role.operator, unit=edu)
    task = _task(api_as, office, [edu], platforms=["weibo", "douyin"])
    url = f"/api/v1/reposts/{task['id']}/units/{edu.id}/not-applicable"
    before = len(_actions(db_session))

    for body in ({"reason": ""}, {"reason": " 无 "[1:2]}, {}):
        response = api_as(operator).post(url, json=body)
        assert response.status_code == 422, body
        assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert {t.status for t in _targets(db_session, task["id"]).values()} == {S.pending}
    assert len(_actions(db_session)) == before

    response = api_as(operator).post(url, json={"reason": "本单位未开设抖音账号", "platforms": ["douyin"]})
    assert response.status_code == 200, response.get_json()
    targets = _targets(db_session, task["id"])
    assert targets[(edu.id, "douyin")].status is S.not_applicable
    assert targets[(edu.id, "douyin")].reason == "本单位未开设抖音账号"
    assert targets[(edu.id, "weibo")].status is S.pending
    assert response.get_json()["counts"]["not_applicable"] == 1
    # twice: nothing left to mark on that platform
    assert api_as(operator).post(url, json={"reason": "再次说明", "platforms": ["douyin"]}).status_code == 409

    # the office does not accept it: back to the unit, with a reason, audited
    reopen = f"/api/v1/reposts/{task['id']}/units/{edu.id}/reopen"
    assert api_as(operator).post(reopen, json={"reason": "自己退回"}).status_code == 403
    assert api_as(office).post(reopen, json={"reason": ""}).status_code == 422
    assert api_as(office).post(reopen, json={"reason": "教育局已于上月开设抖音号"}).status_code == 200
    assert _targets(db_session, task["id"])[(edu.id, "douyin")].status is S.pending
    assert {"repost:not_applicable", "repost:reopen"} <= set(_actions(db_session))


def test_not_applicable_after_the_deadline_is_refused(db_session, api_as, make_user, office, units):
    edu = units["edu"]
    operator = make_user(Role.operator, unit=edu)
    task = _task(api_as, office, [edu])
    db_session.get(RepostTask, task["id"]).deadline_at = utcnow() - timedelta(hours=1)
    completion.sweep()
    db_session.commit()
    response = api_as(operator).post(
        f"/api/v1/reposts/{task['id']}/units/{edu.id}/not-applicable", json={"reason": "来不及了"}
    )
    assert response.status_code == 409
    assert _targets(db_session, task["id"])[(edu.id, "weibo")].status is S.overdue


# ----------------------------------------------------------------------------- the board


def test_board_counts_and_the_filed_workbook(db_session, client, api_as, make_user, office, units, county):
    edu, health, town = units["edu"], units["health"], units["town"]
    task = _task(api_as, office, [], unit_ids=[], parent_unit_id=county.id, platforms=["weibo", "wechat"])
    assert task["units"] == 3 and task["counts"]["total"] == 6
    targets = _targets(db_session, task["id"])
    now = utcnow()
    # arrange each state through the one lifecycle
    lifecycle.transition(targets[(edu.id, "weibo")], S.done)
    targets[(edu.id, "weibo")].completed_at = now
    lifecycle.transition(targets[(edu.id, "wechat")], S.not_applicable, reason="未开设公众号")
    targets[(edu.id, "wechat")].reason = "未开设公众号"
    lifecycle.transition(targets[(health.id, "weibo")], S.overdue)
    lifecycle.transition(targets[(health.id, "weibo")], S.done_late)
    lifecycle.transition(targets[(town.id, "weibo")], S.overdue)
    db_session.commit()

    board = api_as(office).get(f"/api/v1/reposts/{task['id']}").get_json()["board"]
    assert board["totals"] == {
        "pending": 2,
        "done": 1,
        "done_late": 1,
        "not_applicable": 1,
        "overdue": 1,
        "cancelled": 0,
        "total": 6,
    }
    assert board["per_platform"]["weibo"] == {
        "pending": 0,
        "done": 1,
        "done_late": 1,
        "not_applicable": 0,
        "overdue": 1,
        "cancelled": 0,
        "total": 3,
    }
    by_unit = {r["unit_name"]: {p: c["status_label"] for p, c in r["cells"].items()} for r in board["rows"]}
    assert by_unit[edu.name] == {"weibo": "已完成", "wechat": "不适用"}
    assert by_unit[town.name] == {"weibo": "逾期未完成", "wechat": "待完成"}

    response = api_as(office).get(f"/api/v1/reposts/{task['id']}/board.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb["完成情况"]
    assert ws["A1"].value.startswith("转载任务完成情况") and "制表单位：转载测试县委网信办" in ws["A2"].value
    header = [c.value for c in ws[3]]
    assert header == ["序号", "单位", "微博", "微信公众号", "已完成", "逾期完成", "逾期未完成", "不适用", "待完成"]
    rows = {r[1]: r[2:] for r in ws.iter_rows(min_row=4, max_row=7, values_only=True)}
    assert rows[edu.name] == ("已完成", "不适用", 1, 0, 0, 1, 0)
    assert rows["合计"][2:] == (1, 1, 1, 1, 2)
    assert wb["明细"].max_row == 3 + 6
    # the page shows the same figures
    page = _page_client(client, office).get(f"/reposts/{task['id']}").get_data(as_text=True)
    assert 'data-key="overdue">1<' in page and "逾期完成" in page and "未开设公众号" in page


def _page_client(client, user):
    """A signed-in page client (session cookie) for the pages."""
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


# ----------------------------------------------------------------------------- scope and roles


def test_scope_a_unit_sees_only_its_own_and_an_operator_cannot_issue(db_session, api_as, make_user, office, units):
    edu, health = units["edu"], units["health"]
    edu_op = make_user(Role.operator, unit=edu)
    health_op = make_user(Role.operator, unit=health)
    reviewer = make_user(Role.reviewer_1, unit=edu)

    body = {"source_kind": "url", "source_url": SOURCE_URL, "source_title": SOURCE_TITLE, "source_name": "中国政府网"}
    body |= {"unit_ids": [edu.id], "platforms": ["weibo"], "workdays": 3}
    count = db_session.scalar(sa.select(sa.func.count(RepostTask.id)))
    response = api_as(edu_op).post("/api/v1/reposts", json=body)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert db_session.scalar(sa.select(sa.func.count(RepostTask.id))) == count

    task = _task(api_as, office, [edu])
    other = _task(api_as, office, [health])
    mine = api_as(edu_op).get("/api/v1/reposts").get_json()
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    assert api_as(edu_op).get(f"/api/v1/reposts/{other['id']}").status_code == 404
    assert api_as(health_op).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert").status_code == 404
    assert api_as(edu_op).post(f"/api/v1/reposts/{task['id']}/units/{health.id}/convert").status_code == 404
    # a task naming two units: each operator sees only its own row
    both = _task(api_as, office, [edu, health])
    seen = api_as(edu_op).get(f"/api/v1/reposts/{both['id']}").get_json()
    assert {t["unit_id"] for t in seen["targets"]} == {edu.id}
    # reviewers neither see tasks nor answer them; the board export and the sweep are the office's
    assert api_as(reviewer).get("/api/v1/reposts").status_code == 403
    assert api_as(edu_op).get(f"/api/v1/reposts/{task['id']}/board.xlsx").status_code == 403
    assert api_as(edu_op).post(f"/api/v1/reposts/{task['id']}/sweep").status_code == 403
    # the office cannot answer for a unit
    assert api_as(office).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert").status_code == 403


def test_bad_input_is_refused_whole_and_changes_nothing(db_session, api_as, office, units):
    count = db_session.scalar(sa.select(sa.func.count(RepostTask.id)))
    bad = {
        "source_kind": "url",
        "source_url": "javascript:alert(1)",
        "source_title": "",
        "unit_ids": [units["edu"].id],
        "platforms": ["weibo"],
        "deadline": "2020-01-01T10:00:00",
    }
    response = api_as(office).post("/api/v1/reposts", json=bad)
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert {"source_url", "source_title", "source_name", "deadline"} <= set(details)
    assert api_as(office).post("/api/v1/reposts", json={**bad, "platforms": ["myspace"]}).status_code == 422
    assert db_session.scalar(sa.select(sa.func.count(RepostTask.id))) == count


def test_deadline_in_working_days_and_a_superior_content_as_source(
    db_session, api_as, make_user, make_account, office, units, county, approve
):
    source = approve([make_account(county, "weibo")], title="县政府关于做好冬季供暖保障工作的通知")
    task = _task(
        api_as,
        office,
        [units["edu"]],
        source_kind="content",
        source_content_id=source.id,
        source_url=None,
        source_title=None,
        source_name=None,
        deadline=None,
        workdays=2,
    )
    expected_day = add_workdays(today_cn(), 2)
    stored = db_session.get(RepostTask, task["id"])
    deadline_cn = stored.deadline_at.replace(tzinfo=__import__("datetime").UTC).astimezone(CN_TZ)
    assert deadline_cn.date() == expected_day and (deadline_cn.hour, deadline_cn.minute) == (23, 59)
    assert stored.source_name == county.name and stored.source_title == source.title
    assert task["workdays"] == 2 and isinstance(task["deadline_is_exact"], bool)
    operator = make_user(Role.operator, unit=units["edu"])
    content_id = (
        api_as(operator).post(f"/api/v1/reposts/{task['id']}/units/{units['edu'].id}/convert").get_json()["content_id"]
    )
    content = db_session.get(Content, content_id)
    assert "冬季防火" in content.body_text and f"来源：{county.name}" in content.body_text
    # a draft of the superior is not a source
    draft = approve([make_account(county, "wechat")], title="未终审的稿件", status=ContentStatus.draft)
    response = api_as(office).post(
        "/api/v1/reposts",
        json={"source_kind": "content", "source_content_id": draft.id, "unit_ids": [units["edu"].id]}
        | {"platforms": ["weibo"], "workdays": 2},
    )
    assert response.status_code == 422 and "source_content_id" in response.get_json()["error"]["details"]


# ----------------------------------------------------------------------------- the lighter-review setting


def test_lighter_review_needs_the_office_then_the_unit_and_is_audited(db_session, api_as, make_user, office, units):
    edu = units["edu"]
    operator = make_user(Role.operator, unit=edu)
    url = f"/api/v1/reposts/settings/{edu.id}"
    assert api_as(operator).put(url, json={"light_review_enabled": True}).status_code == 409
    assert api_as(operator).put(url, json={"light_review_allowed": True, "note": "自己批准"}).status_code == 403
    assert api_as(office).put(url, json={"light_review_allowed": True}).status_code == 422  # no note
    allowed = api_as(office).put(url, json={"light_review_allowed": True, "note": "县网信办〔2026〕12号"})
    assert allowed.status_code == 200 and allowed.get_json()["light_review_allowed"] is True
    enabled = api_as(operator).put(url, json={"light_review_enabled": True})
    assert enabled.status_code == 200 and enabled.get_json()["light_review_enabled"] is True
    # withdrawn by the office: the unit's choice goes off with it
    withdrawn = api_as(office).put(url, json={"light_review_allowed": False}).get_json()
    assert withdrawn == withdrawn | {"light_review_allowed": False, "light_review_enabled": False}
    assert _actions(db_session, "repost:setting") == [
        "repost:setting:allow",
        "repost:setting:enable",
        "repost:setting:allow",
    ]


# ----------------------------------------------------------------------------- the transition table


@pytest.mark.parametrize("pair", lifecycle.TABLE.pairs()[0], ids=lifecycle.TABLE.pair_id)
def test_every_move_in_the_table_is_made_and_audited(db_session, api_as, office, units, pair):
    task = _task(api_as, office, [units["edu"]])
    target = next(iter(_targets(db_session, task["id"]).values()))
    source, to = pair
    if source is not S.pending:  # reach the source state through the table itself
        lifecycle.transition(target, source)
    lifecycle.transition(target, to, reason="测试")
    db_session.commit()
    assert target.status is to
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == "repost_targets").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.after["status"] == to.value


@pytest.mark.parametrize("pair", lifecycle.TABLE.pairs()[1], ids=lifecycle.TABLE.pair_id)
def test_every_move_not_in_the_table_is_refused(db_session, api_as, office, units, pair):
    task = _task(api_as, office, [units["edu"]])
    target = next(iter(_targets(db_session, task["id"]).values()))
    source, to = pair
    if source is not S.pending:
        path = {S.done: [S.done], S.done_late: [S.overdue, S.done_late], S.overdue: [S.overdue]}
        for step in path.get(source, [source]):
            lifecycle.transition(target, step)
    with pytest.raises(lifecycle.IllegalTransition):
        lifecycle.transition(target, to)
    assert target.status is source
