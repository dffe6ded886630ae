"""The pages: the office issues a task through the form (errors shown in Chinese, nothing written),
the unit's operator finds it under 本单位转载任务, turns it into a content or says 不适用; times
in Beijing time, no internal codes on the pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from auth.models import Role
from common.timefmt import CN_TZ
from moderation.models import Content
from reposts.models import RepostTarget, RepostTargetStatus, RepostTask
from tests.conftest import PASSWORD

SOURCE_URL = "https://www.gov.cn/zhengce/2026-12/02/content_7001999.htm"


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_office_issues_through_the_form_and_the_unit_answers(app, db_session, make_unit, make_user, make_account):
    county = make_unit("页面测试县人民政府")
    edu = make_unit("页面测试县教育局", parent=county)
    health = make_unit("页面测试县卫生健康局", parent=county)
    make_account(edu, "weibo")
    office = make_user(Role.auditor, unit=make_unit("页面测试县委网信办"))
    operator = make_user(Role.operator, unit=edu)

    client = app.test_client()
    login(client, office)
    form = client.get("/reposts/new").get_data(as_text=True)
    assert "下达转载任务" in form and "指定稿源文章" in form and 'type="datetime-local"' in form

    deadline = (datetime.now(CN_TZ) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "source_kind": "url",
        "source_url": SOURCE_URL,
        "source_title": "",
        "source_name": "中国政府网",
        "scope": "units",
        "unit_ids": [str(edu.id), str(health.id)],
        "platforms": ["weibo"],
        "deadline_mode": "time",
        "deadline": deadline,
    }
    count = db_session.scalar(sa.select(sa.func.count(RepostTask.id)))
    refused = client.post("/reposts/new", data=data)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "请填写原文标题" in text and SOURCE_URL in text  # the form keeps what was typed
    assert db_session.scalar(sa.select(sa.func.count(RepostTask.id))) == count

    done = client.post("/reposts/new", data={**data, "source_title": "关于做好岁末年初安全生产工作的通知"})
    assert done.status_code == 302
    task = db_session.scalars(sa.select(RepostTask).order_by(RepostTask.id.desc())).first()
    board = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已下达转载任务，共 2 个单位" in board
    assert deadline.replace("T", " ") in board  # Beijing time as typed
    visible = re.sub(r"<[^>]+>", " ", board)
    assert "pending" not in visible and "weibo" not in visible and "待完成" in visible  # no raw codes shown
    listing = client.get("/reposts/").get_data(as_text=True)
    assert "关于做好岁末年初安全生产工作的通知" in listing

    # the unit's operator: 本单位转载任务, 不适用 refused without a reason, then 一键转为稿件
    unit_client = app.test_client()
    login(unit_client, operator)
    assert unit_client.get("/reposts/").status_code == 302  # to 本单位转载任务
    mine = unit_client.get("/reposts/mine").get_data(as_text=True)
    assert (
        "关于做好岁末年初安全生产工作的通知" in mine and "一键转为稿件" in mine and "页面测试县卫生健康局" not in mine
    )
    assert unit_client.get(f"/reposts/{task.id}/board.xlsx").status_code == 403
    unit_client.post(f"/reposts/{task.id}/units/{edu.id}/not-applicable", data={"reason": ""})
    target = db_session.scalar(
        sa.select(RepostTarget).where(RepostTarget.task_id == task.id, RepostTarget.unit_id == edu.id)
    )
    assert target.status is RepostTargetStatus.pending
    assert "请写明理由" in unit_client.get("/reposts/mine").get_data(as_text=True)
    converted = unit_client.post(f"/reposts/{task.id}/units/{edu.id}/convert")
    assert converted.status_code == 302 and converted.headers["Location"].endswith("/edit")
    content = db_session.get(Content, target.content_id)
    assert content is not None and "来源：中国政府网" in content.body_text
    editor = unit_client.get(converted.headers["Location"]).get_data(as_text=True)
    assert "已转为稿件草稿" in editor and "来源：中国政府网" in editor
    assert "查看已转的稿件" in unit_client.get("/reposts/mine").get_data(as_text=True)
    # the header's 待办 lists it
    todo = unit_client.get("/todo/").get_data(as_text=True)
    assert "待完成的转载任务" in todo


def test_settings_page_and_the_units_switch(app, db_session, make_unit, make_user):
    unit = make_unit("设置测试县教育局")
    office = make_user(Role.auditor, unit=make_unit("设置测试县委网信办"))
    operator = make_user(Role.operator, unit=unit)
    client = login(app.test_client(), office)
    assert "转载简化审核设置" in client.get("/reposts/settings").get_data(as_text=True)
    client.post(f"/reposts/settings/{unit.id}", data={"allowed": "1", "note": ""})
    assert "允许简化审核须写明依据" in client.get("/reposts/settings").get_data(as_text=True)
    client.post(f"/reposts/settings/{unit.id}", data={"allowed": "1", "note": "县网信办通知"})
    unit_client = login(app.test_client(), operator)
    page = unit_client.get("/reposts/mine").get_data(as_text=True)
    assert "网信办已允许本单位使用简化审核" in page and "启用简化审核" in page
    unit_client.post("/reposts/settings/mine", data={"enabled": "1"})
    assert "当前：已启用" in unit_client.get("/reposts/mine").get_data(as_text=True)
    assert unit_client.get("/reposts/settings").status_code == 403
