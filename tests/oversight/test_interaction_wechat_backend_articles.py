"""WeChat 留言 on articles govmedia did not send: a 群发 made in the 公众平台 backend has a
msg_data_id only the statistics API (``datacube/getarticleread``, msgid "<msg_data_id>_<n>")
reveals; the poll finds it there, reads its comments, replies through the API, and an unanswered
one past the limit is overdue. Negative twins: with the statistics search off the article is not
read at all; an answered comment raises nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from auth.models import Role
from common.db import utcnow
from oversight.interaction import service
from oversight.interaction.cli import poll_one
from oversight.interaction.models import InteractionItem
from oversight.models import Finding, FindingKind
from tests.reports.test_report_jobs import login

OVERDUE = FindingKind.interaction_overdue


def backend_mass(sandbox, uid, title, days_ago=2):
    sandbox.call("POST", "/_sandbox/accounts", json={"platform": "wechat", "uid": uid})
    body = {
        "platform": "wechat",
        "uid": uid,
        "title": title,
        "text": "全县供暖今起分片调试，请留意。",
        "mass": True,
        "created_at": time.time() - days_ago * 86400,
    }
    return sandbox.call("POST", "/_sandbox/app/posts", json=body)["post"]


def comment(sandbox, uid, post, text):
    body = {"platform": "wechat", "uid": uid, "post_id": post["post_id"], "text": text}
    return sandbox.call("POST", "/_sandbox/comments", json=body)["comment"]


def items_of(db_session, account):
    return list(
        db_session.scalars(
            sa.select(InteractionItem).where(InteractionItem.account_id == account.id).order_by(InteractionItem.id)
        )
    )


def test_backend_mass_article_found_through_statistics_and_its_comments_judged(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    unit = make_unit("留言统计测试县人民政府")
    account = make_account(unit, "wechat")
    uid = account.platform_uid
    post = backend_mass(sandbox, uid, "供暖调试通知")
    asked = comment(sandbox, uid, post, "我家暖气不热")
    waiting = comment(sandbox, uid, post, "调试到几号？")

    outcome = poll_one(account.id)
    assert outcome.comments_readable is True and outcome.new_items == 2, outcome.as_dict()
    first, second = items_of(db_session, account)
    data_id, index = first.post_ref.split(":")
    assert data_id.isdigit() and index == "0"  # msgid "<msg_data_id>_1" → the comment API's index 0
    assert first.platform_item_id.endswith(f":{asked['entry_id']}")

    operator = make_user(Role.operator, unit=unit)
    r = api_as(operator).post(f"/api/v1/interaction/items/{first.id}/reply", json={"text": "已派人上门查看。"})
    assert r.status_code == 200, r.get_json()
    on_platform = sandbox.call("GET", "/_sandbox/comments", params={"platform": "wechat", "uid": uid})["comments"]
    assert [x["text"] for x in next(c for c in on_platform if c["entry_id"] == asked["entry_id"])["replies"]] == [
        "已派人上门查看。"
    ]

    later = utcnow() + timedelta(days=12)
    assert service.evaluate(account, later).get(OVERDUE.value) == "created"
    (finding,) = db_session.scalars(
        sa.select(Finding).where(Finding.account_id == account.id, Finding.kind == OVERDUE)
    ).all()
    assert finding.evidence["item_ids"] == [second.id]  # the answered one raises nothing
    assert waiting["entry_id"] in second.platform_item_id


def test_without_the_statistics_search_a_backend_article_is_not_read(
    app, db_session, sandbox, make_unit, make_account, monkeypatch
):
    account = make_account(make_unit("留言统计测试县另一单位"), "wechat")
    post = backend_mass(sandbox, account.platform_uid, "停水通知")
    comment(sandbox, account.platform_uid, post, "几点来水？")
    monkeypatch.setitem(app.config, "INTERACTION_WECHAT_DATACUBE_DAYS", 0)
    outcome = poll_one(account.id)
    assert outcome.comments_readable is False and outcome.new_items == 0
    monkeypatch.setitem(app.config, "INTERACTION_WECHAT_DATACUBE_DAYS", 7)
    assert poll_one(account.id).new_items == 1


def test_an_article_read_only_long_ago_is_out_of_the_search_window(db_session, sandbox, make_unit, make_account):
    account = make_account(make_unit("留言统计测试县第三单位"), "wechat")
    post = backend_mass(sandbox, account.platform_uid, "旧通知", days_ago=30)
    comment(sandbox, account.platform_uid, post, "还有效吗？")
    outcome = poll_one(account.id)
    assert outcome.comments_readable is False and outcome.new_items == 0


def test_inbox_and_coverage_pages_say_what_cannot_be_read(client, make_unit, make_user):
    login(client, make_user(Role.auditor, unit=make_unit("留言统计测试县委网信办")))
    inbox = client.get("/interaction/").get_data(as_text=True)
    assert "近几天被阅读过的其他群发文章" in inbox and "读不到" in inbox and "“发布”（未群发）的文章" in inbox
    coverage = client.get("/inspection/coverage").get_data(as_text=True)
    assert "在公众平台后台手工<strong>群发</strong>的文章接口不列出" in coverage
