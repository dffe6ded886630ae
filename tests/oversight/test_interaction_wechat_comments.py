# ruff: noqa: F811 - the publishing fixtures (unit, author, approve) are imported and then requested
"""WeChat 留言 (comments on articles) against the sandbox over HTTP: the article is sent by 群发
through the pipeline (its msg_data_id kept on the delivery), the poll reads its comments into the
inbox, the reply goes through ``comment/reply/add`` (audited), a comment answered in the 公众平台
backend counts as answered, an unanswered one past the limit is a finding and an answered one is
not; a 发布 (freepublish) article has no msg_data_id and its comments are not read."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from audit.models import AuditEntry
from common.db import utcnow
from oversight.interaction import service
from oversight.interaction.cli import poll_one
from oversight.interaction.models import InteractionItem
from oversight.models import Finding, FindingKind
from publishers.models import DeliveryStatus
from tests.publishers.test_pipeline import approve, author, claim, deliveries_of, drain, unit  # noqa: F401

OVERDUE = FindingKind.interaction_overdue


def mass_send(db_session, approve, api_as, author, account, **kw):
    content = approve([account], **kw)
    r = api_as(author).put(f"/api/v1/contents/{content.id}/targets/{account.id}/send-mode", json={"mode": "mass"})
    assert r.status_code == 200, r.get_json()
    drain(db_session, claim(db_session))
    delivery = deliveries_of(db_session, content)["wechat"]
    assert delivery.status is DeliveryStatus.sent
    return delivery


def comment(sandbox, account, delivery, text, **kw):
    post_id = "mass-" + delivery.platform_post_id.removeprefix("mass:")
    body = {"platform": "wechat", "uid": account.platform_uid, "post_id": post_id, "text": text, **kw}
    return sandbox.call("POST", "/_sandbox/comments", json=body)["comment"]


def items_of(db_session, account):
    return list(
        db_session.scalars(
            sa.select(InteractionItem).where(InteractionItem.account_id == account.id).order_by(InteractionItem.id)
        )
    )


def overdue(db_session, account):
    return db_session.scalars(sa.select(Finding).where(Finding.account_id == account.id, Finding.kind == OVERDUE)).all()


def test_wechat_comments_of_a_mass_sent_article_read_replied_and_judged(
    db_session, sandbox, unit, author, make_account, approve, api_as
):
    account = make_account(unit, "wechat")
    delivery = mass_send(db_session, approve, api_as, author, account)
    assert delivery.platform_data_id and delivery.platform_data_id.isdigit()  # 群发's msg_data_id, kept
    first = comment(sandbox, account, delivery, "请问供暖什么时候开始？")
    second = comment(sandbox, account, delivery, "文章里的电话打不通")

    outcome = poll_one(account.id)
    assert outcome.comments_readable is True and outcome.new_items == 2
    assert poll_one(account.id).new_items == 0  # read again: nothing doubled
    a, b = items_of(db_session, account)
    assert a.kind.value == "comment" and a.post_ref == f"{delivery.platform_data_id}:0"
    assert a.platform_item_id == f"{delivery.platform_data_id}:0:{first['entry_id']}" and a.author_ref

    # Reply through the API: comment/reply/add on the platform, audited, answered.
    r = api_as(author).post(f"/api/v1/interaction/items/{a.id}/reply", json={"text": "本周五起供暖。"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["answered"] is True and r.get_json()["handled_elsewhere"] is False
    on_platform = sandbox.call("GET", "/_sandbox/comments", params={"platform": "wechat"})["comments"]
    assert [x["text"] for x in next(c for c in on_platform if c["entry_id"] == first["entry_id"])["replies"]] == [
        "本周五起供暖。"
    ]
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "interaction:reply", AuditEntry.object_id == str(a.id)
        )
    )

    # Past the limit: only the unanswered one is overdue (the answered one raises nothing).
    later = utcnow() + timedelta(days=12)
    assert service.evaluate(account, later).get(OVERDUE.value) == "created"
    (finding,) = overdue(db_session, account)
    assert finding.evidence["item_ids"] == [b.id]

    # The account answers the other in the 公众平台 backend: the next poll sees it, answered, the
    # finding resolves (audited as replied on the platform).
    sandbox.call(
        "POST", "/_sandbox/comments/reply", json={"platform": "wechat", "id": second["entry_id"], "text": "已修正"}
    )
    poll_one(account.id)
    db_session.refresh(b)
    assert b.replied_at is not None and b.handled_elsewhere and b.reply_text == "已修正"
    assert service.evaluate(account, later) == {}  # nothing overdue any more
    db_session.refresh(finding)
    assert finding.status.value == "resolved"
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "interaction:replied_on_platform")
    )


def test_comment_reply_errors_and_freepublish_articles(
    db_session, sandbox, unit, author, make_account, approve, api_as
):
    account = make_account(unit, "wechat")
    # A 发布 (freepublish) article only: no msg_data_id, so no comment is read through the API.
    approve([account])
    drain(db_session, claim(db_session))
    outcome = poll_one(account.id)
    assert outcome.comments_readable is False and outcome.new_items == 0

    delivery = mass_send(db_session, approve, api_as, author, account, title="第二篇：冬季出行提示")
    comment(sandbox, account, delivery, "路口积雪没人清")
    assert poll_one(account.id).new_items == 1
    (item,) = items_of(db_session, account)
    # The account lost the 留言 capability: the platform's 88000 becomes a clear refusal, nothing changes.
    sandbox.call("POST", "/_sandbox/wechat/comment-privilege", json={"uid": account.platform_uid, "enabled": False})
    r = api_as(author).post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "已通知环卫"})
    assert r.status_code == 409 and "留言功能" in r.get_json()["error"]["message"], r.get_json()
    db_session.refresh(item)
    assert item.replied_at is None
    # Reading then fails the same way: the channel records that comments cannot be read, and why.
    outcome = poll_one(account.id)
    assert outcome.comments_readable is False and str(outcome.error["code"]) == "88000"
