# ruff: noqa: F811 - the fixtures (unit, fresh_rate_limiter) are imported and then requested
"""What a reading of an account's posts covers, against the sandbox over HTTP: a listing is the
whole account only when the platform proves it (Weibo ``total_number``, Douyin/Toutiao
``has_more``, WeChat ``total_count``); otherwise it covers what was published since its oldest
post, and only posts inside that window can be found removed. Each with its twin."""

from __future__ import annotations

import time

from common.db import utcnow
from oversight.inspection import service
from oversight.inspection.models import AccountInspection, PostState, ReadWindow
from tests.oversight.test_inspection import app_post, fresh_rate_limiter, plant, posts, unit  # noqa: F401 - fixtures

GONE = "平台列表中已不再出现"


def hours_ago(h: float) -> float:
    return time.time() - h * 3600


def reading(db_session, account):
    db_session.expire_all()
    return db_session.get(AccountInspection, account.id)


def test_weibo_short_timeline_does_not_remove_older_posts_and_its_twin_inside_the_window_is_removed(
    db_session, sandbox, unit, make_account
):
    """Weibo gives 5 of the 7 posts asked for 50: the listing is not the whole account
    (total_number 7), so the older post it no longer shows stays online; a post inside the
    window deleted in the app is still found removed."""
    account = make_account(unit, "weibo", name=unit.name)
    uid = account.platform_uid
    plant(sandbox, "weibo", uid, name=unit.name, subject=unit.name)
    old = app_post(sandbox, "weibo", uid, "十天前的一条", created_at=hours_ago(240))
    service.inspect_account(account.id)
    assert reading(db_session, account).read_window is ReadWindow.all  # 1 of 1: complete

    new = [app_post(sandbox, "weibo", uid, f"新的一条{i}", created_at=hours_ago(6 - i)) for i in range(6)]
    service.inspect_account(account.id)
    state = reading(db_session, account)
    assert state.read_window is ReadWindow.since and state.posts_seen == 5
    stored = posts(db_session, account)
    assert stored[old["post_id"]].state is PostState.live  # not listed, but older than the listing
    assert new[0]["post_id"] not in stored  # the 7th newest: not served by the timeline

    # Twin: deleted in the app, inside the window the next reading covers → removed.
    sandbox.call("POST", f"/_sandbox/posts/weibo/{new[3]['post_id']}/remove", json={"by": "user"})
    service.inspect_account(account.id)
    stored = posts(db_session, account)
    assert stored[new[3]["post_id"]].state is PostState.removed
    assert stored[new[3]["post_id"]].removed_reason == GONE
    assert stored[old["post_id"]].state is PostState.live
    assert all(stored[p["post_id"]].state is PostState.live for p in (new[0], new[1], new[2], new[4], new[5]))


def test_weibo_whole_timeline_is_complete_and_an_older_deleted_post_is_removed(db_session, sandbox, unit, make_account):
    """Twin of the above: the account has no more posts than the timeline serves (total_number ≤
    returned), so the listing is the whole account and an old post deleted in the app is removed."""
    account = make_account(unit, "weibo", name=unit.name)
    uid = account.platform_uid
    plant(sandbox, "weibo", uid, name=unit.name, subject=unit.name)
    old = app_post(sandbox, "weibo", uid, "十天前的一条", created_at=hours_ago(240))
    kept = app_post(sandbox, "weibo", uid, "昨天的一条", created_at=hours_ago(20))
    service.inspect_account(account.id)
    sandbox.call("POST", f"/_sandbox/posts/weibo/{old['post_id']}/remove", json={"by": "user"})
    service.inspect_account(account.id)
    assert reading(db_session, account).read_window is ReadWindow.all
    stored = posts(db_session, account)
    assert stored[old["post_id"]].state is PostState.removed and stored[old["post_id"]].removed_reason == GONE
    assert stored[kept["post_id"]].state is PostState.live


def test_douyin_listing_cut_by_the_limit_keeps_older_posts_and_has_more_false_removes(
    app, db_session, sandbox, unit, make_account, monkeypatch
):
    """Douyin pages while ``has_more``: stopped by INSPECTION_RECENT_POSTS (3 of 4 left) the listing is
    not complete and the older post stays; read to ``has_more`` false it is, and the older post
    deleted in the app is removed."""
    account = make_account(unit, "douyin", name=unit.name)
    uid = account.platform_uid
    plant(sandbox, "douyin", uid, name=unit.name, subject=unit.name)
    old = app_post(sandbox, "douyin", uid, "十天前的作品", created_at=hours_ago(240))
    service.inspect_account(account.id)
    for i in range(4):
        app_post(sandbox, "douyin", uid, f"新作品{i}", created_at=hours_ago(4 - i))
    monkeypatch.setitem(app.config, "INSPECTION_RECENT_POSTS", 3)
    sandbox.call("POST", f"/_sandbox/posts/douyin/{old['post_id']}/remove", json={"by": "user"})
    service.inspect_account(account.id)
    assert reading(db_session, account).read_window is ReadWindow.since
    assert posts(db_session, account)[old["post_id"]].state is PostState.live

    monkeypatch.setitem(app.config, "INSPECTION_RECENT_POSTS", 50)
    service.inspect_account(account.id)
    assert reading(db_session, account).read_window is ReadWindow.all
    stored = posts(db_session, account)
    assert stored[old["post_id"]].state is PostState.removed and stored[old["post_id"]].removed_reason == GONE
    assert sum(p.state is PostState.live for p in stored.values()) == 4


def test_wechat_listing_is_complete_by_total_count(app, db_session, sandbox, unit, make_account, monkeypatch):
    """WeChat's 发布 list: cut by the limit (2 of the 3 left) → not complete, the older article stays;
    all read (``total_count`` reached) → complete, the older article deleted is removed."""
    account = make_account(unit, "wechat", name=unit.name)
    uid = account.platform_uid
    plant(sandbox, "wechat", uid, name=unit.name, subject=unit.name)
    old = app_post(sandbox, "wechat", uid, "十天前的文章摘要", title="十天前的文章", created_at=hours_ago(240))
    service.inspect_account(account.id)
    for i in range(3):
        app_post(sandbox, "wechat", uid, f"新文章摘要{i}", title=f"新文章{i}", created_at=hours_ago(3 - i))
    sandbox.call("POST", f"/_sandbox/posts/wechat/{old['post_id']}/remove", json={"by": "user"})
    monkeypatch.setitem(app.config, "INSPECTION_RECENT_POSTS", 2)
    service.inspect_account(account.id)
    assert reading(db_session, account).read_window is ReadWindow.since
    assert posts(db_session, account)[old["post_id"]].state is PostState.live

    monkeypatch.setitem(app.config, "INSPECTION_RECENT_POSTS", 50)
    service.inspect_account(account.id, now=utcnow())
    assert reading(db_session, account).read_window is ReadWindow.all
    assert posts(db_session, account)[old["post_id"]].state is PostState.removed
