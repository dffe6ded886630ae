"""Replies made on the platform itself (the Weibo or Douyin app, not govmedia) count as answers:
the poll reads the account's own replies (Weibo ``comments/by_me``, Douyin
``item/comment/reply/list``) and records the comment answered; a reply by a member of the public
in the thread is no answer, and an unanswered comment past the limit still raises the finding."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from oversight.interaction import service
from oversight.interaction.cli import poll_one
from oversight.interaction.models import InteractionItem
from oversight.models import Finding, FindingKind

OVERDUE = FindingKind.interaction_overdue


def sandbox_post(sandbox, platform, uid, text="示范县冬季供暖保障通知"):
    sandbox.call("POST", "/_sandbox/accounts", json={"platform": platform, "uid": uid, "posts": [{"text": text}]})
    return next(p for p in sandbox.posts(platform) if p["uid"] == uid)["post_id"]


def comment(sandbox, platform, uid, post_id, text):
    body = {"platform": platform, "uid": uid, "post_id": post_id, "text": text, "author": "热心网友"}
    return sandbox.call("POST", "/_sandbox/comments", json=body)["comment"]


def reply_in_app(sandbox, platform, entry, text, **kw):
    body = {"platform": platform, "id": entry["entry_id"], "text": text, **kw}
    return sandbox.call("POST", "/_sandbox/comments/reply", json=body)["comment"]


def item(db_session, account, entry):
    return db_session.scalar(
        sa.select(InteractionItem).where(
            InteractionItem.account_id == account.id, InteractionItem.platform_item_id == entry["entry_id"]
        )
    )


@pytest.mark.parametrize("platform", ["weibo", "douyin"])
def test_reply_made_in_the_app_counts_and_the_unanswered_one_is_still_overdue(
    db_session, sandbox, make_unit, make_account, platform
):
    account = make_account(make_unit("平台回复测试县人民政府"), platform)
    uid = account.platform_uid
    post_id = sandbox_post(sandbox, platform, uid)
    answered = comment(sandbox, platform, uid, post_id, "请问暖气什么时候来？")
    ignored = comment(sandbox, platform, uid, post_id, "路口积雪没人清")
    assert poll_one(account.id).new_items == 2
    assert item(db_session, account, answered).replied_at is None

    # The operator answers the first in the app; a member of the public "answers" the second.
    reply_in_app(sandbox, platform, answered, "本周五起供暖。")
    reply_in_app(sandbox, platform, ignored, "我也想知道", by="public", author="路人甲")
    outcome = poll_one(account.id)
    assert outcome.comments_readable is True and outcome.error is None

    first, second = item(db_session, account, answered), item(db_session, account, ignored)
    assert first.replied_at is not None and first.handled_elsewhere and first.reply_text == "本周五起供暖。"
    assert second.replied_at is None  # a stranger's reply is no answer
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "interaction:replied_on_platform", AuditEntry.object_id == str(first.id)
        )
    )

    # Past the limit only the unanswered comment is overdue (negative twin: the answered one is not).
    later = utcnow() + timedelta(days=12)
    assert service.evaluate(account, later).get(OVERDUE.value) == "created"
    (finding,) = db_session.scalars(
        sa.select(Finding).where(Finding.account_id == account.id, Finding.kind == OVERDUE)
    ).all()
    assert finding.evidence["item_ids"] == [second.id]

    # Answered in the app too: the next poll resolves the finding.
    reply_in_app(sandbox, platform, ignored, "已通知环卫处理。")
    poll_one(account.id)
    db_session.refresh(second)
    assert second.replied_at is not None and second.reply_text == "已通知环卫处理。"
    assert service.evaluate(account, later) == {}
    db_session.refresh(finding)
    assert finding.status.value == "resolved"


@pytest.mark.parametrize("platform", ["weibo", "douyin"])
def test_comment_answered_in_the_app_before_the_first_poll_arrives_answered(
    db_session, sandbox, make_unit, make_account, platform
):
    account = make_account(make_unit("平台回复测试县另一单位"), platform)
    uid = account.platform_uid
    post_id = sandbox_post(sandbox, platform, uid)
    entry = comment(sandbox, platform, uid, post_id, "办事大厅周六开门吗？")
    reply_in_app(sandbox, platform, entry, "周六上午开放。")
    assert poll_one(account.id).new_items == 1
    stored = item(db_session, account, entry)
    assert stored.replied_at is not None and stored.handled_elsewhere
    assert service.evaluate(account, utcnow() + timedelta(days=30)).get(OVERDUE.value) is None


def test_a_reply_through_govmedia_is_not_mistaken_for_an_app_reply(
    db_session, sandbox, make_unit, make_account, api_as, make_user
):
    unit = make_unit("平台回复测试县第三单位")
    operator = make_user(Role.operator, unit=unit)
    account = make_account(unit, "weibo")
    post_id = sandbox_post(sandbox, "weibo", account.platform_uid)
    entry = comment(sandbox, "weibo", account.platform_uid, post_id, "电话打不通")
    poll_one(account.id)
    stored = item(db_session, account, entry)
    r = api_as(operator).post(f"/api/v1/interaction/items/{stored.id}/reply", json={"text": "已更正电话。"})
    assert r.status_code == 200, r.get_json()
    poll_one(account.id)  # by_me now lists govmedia's own reply: nothing changes
    db_session.refresh(stored)
    assert stored.handled_elsewhere is False and stored.reply_text == "已更正电话。"
