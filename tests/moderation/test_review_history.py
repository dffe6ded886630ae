"""我审核过的 (/review/history, GET /api/v1/review-history): a reviewer's own 通过/退回 decisions
with stage, comment, Beijing time and the content's state now, newest first, in their units."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from auth.models import Role
from common.db import utcnow
from moderation import review, service
from moderation.models import Review
from tests.moderation.test_pages import login


def _decided(team, make_content, db_session):
    """r1 passes one content (10:00 Beijing) and returns another with a comment (11:30); r2 then
    passes the first at 复审 — r1's list must not show r2's decision."""
    passed = make_content(title="通过的稿件")
    returned = make_content(title="退回的稿件")
    for content in (passed, returned):
        review.submit(content, team.operator)
    review.review(passed, team.r1, "approve")
    review.review(returned, team.r1, "reject", comment="第二段人名有误，请核实")
    review.review(passed, team.r2, "approve")
    at = {passed.id: datetime(2026, 12, 1, 2, 0), returned.id: datetime(2026, 12, 1, 3, 30)}  # UTC
    for row in db_session.query(Review).filter(Review.reviewer_id == team.r1.id):
        row.at = at[row.content_id]
    db_session.commit()
    return passed, returned


def test_history_page_lists_my_decisions_newest_first_with_the_contents_state(client, team, make_content, db_session):
    passed, returned = _decided(team, make_content, db_session)
    login(client, team.r1)
    home = client.get("/").get_data(as_text=True)
    assert ">我审核过的<" in home  # in the menu
    queue = client.get("/review").get_data(as_text=True)
    assert 'href="/review/history"' in queue  # and from the review page

    page = client.get("/review/history")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(r'<tr data-review="\d+" data-content="(\d+)">(.*?)</tr>', html, re.S)
    assert [int(cid) for cid, _ in rows] == [returned.id, passed.id]  # newest first, only r1's
    first, second = rows[0][1], rows[1][1]
    assert "退回的稿件" in first and "退回" in first and "第二段人名有误，请核实" in first
    assert "2026-12-01 11:30" in first and "已退回" in first  # Beijing time; the state now
    assert "通过的稿件" in second and ">通过<" in second and "初审" in second
    assert "2026-12-01 10:00" in second and "待终审" in second  # r2 passed it on since
    assert f'href="/contents/{passed.id}"' in second
    assert "共 2 条审核记录" in html

    stage_2 = client.get("/review/history?stage=2").get_data(as_text=True)
    assert "共 0 条审核记录" in stage_2 and "还没有审核记录" in stage_2


def test_history_shows_a_voided_decision_and_needs_a_reviewer_role(client, team, make_content, db_session):
    content = make_content(title="改过的稿件")
    review.submit(content, team.operator)
    review.review(content, team.r1, "approve")
    service.update_content(content, {"title": "改过的稿件（第二版）"}, team.operator)
    db_session.commit()
    login(client, team.r1)
    html = client.get("/review/history").get_data(as_text=True)
    assert "改过的稿件（第二版）" in html and "第 1 版，稿件修改后此结论已作废" in html and "草稿" in html

    client.get("/logout")
    login(client, team.operator)
    refused = client.get("/review/history")
    assert refused.status_code == 403 and "没有审核角色" in refused.get_data(as_text=True)


def test_history_api_pages_scopes_and_refuses(api_as, team, make_content, make_unit, make_user, db_session):
    passed, returned = _decided(team, make_content, db_session)
    r1 = api_as(team.r1)
    answer = r1.get("/api/v1/review-history?per_page=1")
    assert answer.status_code == 200
    body = answer.json
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 1
    item = body["items"][0]
    assert item["content_id"] == returned.id and item["title"] == "退回的稿件"
    assert item["stage"] == 1 and item["stage_label"] == "初审"
    assert item["decision"] == "reject" and item["decision_label"] == "退回"
    assert item["comment"] == "第二段人名有误，请核实" and item["at"] == "2026-12-01T03:30:00Z"
    assert item["content_status"] == "rejected" and item["content_status_label"] == "已退回"
    second = r1.get("/api/v1/review-history?per_page=1&page=2").json["items"]
    assert [i["content_id"] for i in second] == [passed.id]
    assert second[0]["content_status_label"] == "待终审"
    assert r1.get("/api/v1/review-history?stage=2").json["items"] == []
    assert [i["content_id"] for i in api_as(team.r2).get("/api/v1/review-history").json["items"]] == [passed.id]

    # another unit's reviewer sees none of it; a non-reviewer and a bad stage are refused as JSON
    outsider = api_as(make_user(Role.reviewer_1, unit=make_unit("乙县人民政府")))
    assert outsider.get("/api/v1/review-history").json == {"items": [], "total": 0, "page": 1, "per_page": 50}
    refused = api_as(team.operator).get("/api/v1/review-history")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "wrong_role"
    assert r1.get("/api/v1/review-history?stage=4").status_code == 422


def test_history_pages_at_thirty(client, team, make_content, db_session):
    now = utcnow()
    for n in range(31):
        content = make_content(title=f"批量稿件{n:02d}")
        review.submit(content, team.operator)
        review.review(content, team.r1, "reject", comment="请修改")
        content.reviews[-1].at = now - timedelta(minutes=100 - n)
    db_session.commit()
    login(client, team.r1)
    first = client.get("/review/history").get_data(as_text=True)
    assert "共 31 条审核记录" in first and "第 1 / 2 页" in first and "批量稿件30" in first
    assert "批量稿件00" not in first and "下一页" in first
    second = client.get("/review/history?page=2").get_data(as_text=True)
    assert "批量稿件00" in second and "批量稿件30" not in second and "上一页" in second
