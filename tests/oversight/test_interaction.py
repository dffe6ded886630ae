"""互动回应 over HTTP against the sandbox: reading, replying (audited), handled elsewhere,
overdue findings with their negative twin, the no-channel finding, scope and bad input."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from demo import _sandbox_credentials
from oversight.interaction import service
from oversight.interaction.cli import poll_one
from oversight.interaction.models import InteractionItem
from oversight.models import Finding, FindingKind, FindingStatus
from publishers.credential_admin import set_credentials
from registry.models import Platform
from tests.conftest import PASSWORD

OVERDUE, NO_CHANNEL = FindingKind.interaction_overdue, FindingKind.no_interaction_channel


@pytest.fixture
def site(make_unit, make_user, api_as, sandbox, make_account):
    unit = make_unit("互动测试县人民政府")
    other = make_unit("互动测试县另一单位")
    users = {
        "operator": make_user(Role.operator, unit=unit),
        "other_operator": make_user(Role.operator, unit=other),
        "auditor": make_user(Role.auditor),
    }
    return {"unit": unit, "users": users, "api": lambda who: api_as(users[who]), "sandbox": sandbox}


def sandbox_post(sandbox, platform, uid, text="示范县冬季供暖保障通知"):
    sandbox.call("POST", "/_sandbox/accounts", json={"platform": platform, "uid": uid, "posts": [{"text": text}]})
    return next(p for p in sandbox.posts(platform) if p["uid"] == uid)["post_id"]


def comment(sandbox, platform, uid, post_id, text="请问暖气什么时候来？", **kw):
    body = {"platform": platform, "uid": uid, "post_id": post_id, "text": text, "author": "热心网友", **kw}
    return sandbox.call("POST", "/_sandbox/comments", json=body)["comment"]


def findings_of(db_session, account, kind, *statuses):
    stmt = sa.select(Finding).where(Finding.account_id == account.id, Finding.kind == kind)
    if statuses:
        stmt = stmt.where(Finding.status.in_(statuses))
    return db_session.scalars(stmt).all()


def items_of(db_session, account):
    return db_session.scalars(sa.select(InteractionItem).where(InteractionItem.account_id == account.id)).all()


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize("platform", ["weibo", "douyin"])
def test_poll_reads_comments_into_the_inbox(db_session, site, make_account, platform):
    account = make_account(site["unit"], platform)
    post_id = sandbox_post(site["sandbox"], platform, account.platform_uid)
    comment(site["sandbox"], platform, account.platform_uid, post_id)

    outcome = poll_one(account.id)
    assert outcome.new_items == 1 and outcome.comments_readable is True
    assert poll_one(account.id).new_items == 0  # read again: nothing doubled

    body = site["api"]("operator").get("/api/v1/interaction/items?state=unanswered").get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["text"] == "请问暖气什么时候来？" and item["kind"] == "comment"
    assert item["author_name"] in ("热心网友", None)
    assert item["post_ref"] == post_id
    assert item["waited_label"].startswith("已等待") and item["answered"] is False
    assert item["can_reply_via_api"] is True
    assert not findings_of(db_session, account, NO_CHANNEL)


# ----------------------------------------------------------------------------- replying


def test_reply_goes_through_the_platform_and_is_audited(db_session, site, make_account):
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    c = comment(site["sandbox"], "weibo", account.platform_uid, post_id)
    poll_one(account.id)
    item = items_of(db_session, account)[0]

    r = site["api"]("operator").post(
        f"/api/v1/interaction/items/{item.id}/reply", json={"text": "您好，本周五起供暖。"}
    )
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["answered"] is True and out["reply_text"] == "您好，本周五起供暖。" and out["handled_elsewhere"] is False

    on_platform = site["sandbox"].call("GET", "/_sandbox/comments", params={"platform": "weibo"})["comments"]
    replies = next(x for x in on_platform if x["entry_id"] == c["entry_id"])["replies"]
    assert [x["text"] for x in replies] == ["您好，本周五起供暖。"]
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "interaction:reply", AuditEntry.object_id == str(item.id)
        )
    )
    again = site["api"]("operator").post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "再答一次"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_answered"


def _push(client, account, sandbox, token, **kw):
    sent = sandbox.call(
        "POST",
        "/_sandbox/messages",
        json={"platform": "wechat", "uid": account.platform_uid, "text": "想咨询办理居住证", **kw},
    )
    timestamp, nonce = "1700000000", "42"
    signature = hashlib.sha1(  # noqa: S324 - the protocol's hash
        "".join(sorted([token, timestamp, nonce])).encode()
    ).hexdigest()
    return client.post(
        f"/interaction/push/wechat/{account.id}?signature={signature}&timestamp={timestamp}&nonce={nonce}",
        data=sent["push"]["xml"].encode(),
        content_type="text/xml",
    )


@pytest.fixture
def wechat_account(site, make_account):
    account = make_account(site["unit"], "wechat")
    creds = _sandbox_credentials(Platform.wechat, account.platform_uid)
    set_credentials(account.id, {**creds, "push_token": "push-secret"})
    return account


def test_wechat_message_by_push_and_customer_service_reply(db_session, client, site, wechat_account):
    r = _push(client, wechat_account, site["sandbox"], "push-secret")
    assert r.status_code == 200 and r.get_data(as_text=True) == "success"
    item = items_of(db_session, wechat_account)[0]
    assert item.kind.value == "message" and item.source == "push" and item.author_ref.startswith("o")

    r = site["api"]("operator").post(
        f"/api/v1/interaction/items/{item.id}/reply", json={"text": "请携带身份证到政务大厅"}
    )
    assert r.status_code == 200, r.get_json()
    sent = site["sandbox"].call("GET", "/_sandbox/messages", params={"platform": "wechat"})["messages"]
    assert sent[0]["replies"][0]["text"] == "请携带身份证到政务大厅"
    poll_one(wechat_account.id)  # push configured: messages count as a readable channel
    assert not findings_of(db_session, wechat_account, NO_CHANNEL)


def test_push_with_a_wrong_signature_is_refused(db_session, client, site, wechat_account):
    r = _push(client, wechat_account, site["sandbox"], "wrong-token")
    assert r.status_code == 403
    assert items_of(db_session, wechat_account) == []


def test_reply_refused_where_platform_cannot_then_handled_elsewhere(db_session, client, site, wechat_account):
    old = (utcnow() + timedelta(hours=8) - timedelta(days=3)).isoformat(timespec="seconds")
    assert _push(client, wechat_account, site["sandbox"], "push-secret", created_at=old).status_code == 200
    item = items_of(db_session, wechat_account)[0]
    api = site["api"]("operator")

    r = api.post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "您好"})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "reply_not_possible" and "48 小时" in err["message"]
    assert db_session.get(InteractionItem, item.id).replied_at is None

    r = api.post(f"/api/v1/interaction/items/{item.id}/handled", json={"reason": "已在公众平台后台人工回复"})
    assert r.status_code == 200
    out = r.get_json()
    assert out["answered"] and out["handled_elsewhere"] and out["handled_reason"] == "已在公众平台后台人工回复"
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "interaction:handled_elsewhere", AuditEntry.object_id == str(item.id)
        )
    )


# ----------------------------------------------------------------------------- findings


def test_unanswered_past_the_limit_is_a_finding_and_answered_is_not(db_session, site, make_account):
    late = make_account(site["unit"], "weibo")
    answered = make_account(site["unit"], "weibo")
    for account in (late, answered):
        post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
        comment(site["sandbox"], "weibo", account.platform_uid, post_id)
        poll_one(account.id)
    item = items_of(db_session, answered)[0]
    assert (
        site["api"]("operator")
        .post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "已转交供热公司"})
        .status_code
        == 200
    )

    later = utcnow() + timedelta(days=12)  # > 5 working days whatever the holidays
    assert service.evaluate(late, later).get(OVERDUE.value) == "created"
    assert service.evaluate(answered, later).get(OVERDUE.value) is None
    f = findings_of(db_session, late, OVERDUE)[0]
    assert f.status is FindingStatus.open and f.unit_id == site["unit"].id
    assert "工作日未回复" in f.evidence["message"] and f.evidence["item_ids"] == [items_of(db_session, late)[0].id]
    assert not findings_of(db_session, answered, OVERDUE)

    # Answering the late one (on the platform, recorded) resolves the finding.
    late_item = items_of(db_session, late)[0]
    service.mark_handled(late_item, site["users"]["operator"], "已电话回复网友")
    assert findings_of(db_session, late, OVERDUE)[0].status is FindingStatus.resolved


def test_reply_limits_are_settings(app, db_session, site, make_account, monkeypatch):
    """DOMAIN.md §7.3: the working days allowed for a reply and the days after which it is severe are
    settings (``INTERACTION_REPLY_WORKDAYS``, ``INTERACTION_SEVERE_DAYS``), not constants."""
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    comment(site["sandbox"], "weibo", account.platform_uid, post_id)
    poll_one(account.id)
    later = utcnow() + timedelta(days=12)  # > 5 working days whatever the holidays, < 30

    monkeypatch.setitem(app.config, "INTERACTION_REPLY_WORKDAYS", 30)
    assert service.evaluate(account, later).get(OVERDUE.value) is None
    assert not findings_of(db_session, account, OVERDUE)

    monkeypatch.setitem(app.config, "INTERACTION_REPLY_WORKDAYS", 5)
    assert service.evaluate(account, later).get(OVERDUE.value) == "created"
    (f,) = findings_of(db_session, account, OVERDUE)
    assert f.evidence["threshold_workdays"] == 5 and f.evidence["severe"] is False
    assert "超过 5 个工作日未回复" in f.evidence["message"] and "互动回应差" not in f.evidence["message"]

    monkeypatch.setitem(app.config, "INTERACTION_SEVERE_DAYS", 10)
    service.evaluate(account, later)
    db_session.expire_all()
    (f,) = findings_of(db_session, account, OVERDUE)
    assert f.evidence["severe"] is True and "超过 10 天，互动回应差" in f.evidence["message"]


def test_account_without_any_channel_is_a_finding_until_one_is_recorded(db_session, site, make_account):
    toutiao = make_account(site["unit"], "toutiao")
    poll_one(toutiao.id)
    f = findings_of(db_session, toutiao, NO_CHANNEL)
    assert len(f) == 1 and f[0].status is FindingStatus.open and "单项否决" in f[0].evidence["message"]

    api = site["api"]("operator")
    r = api._call(
        "PUT",
        f"/api/v1/interaction/accounts/{toutiao.id}/channel",
        json={"messages_open": True, "note": "后台私信已开启"},
    )
    assert r.status_code == 200 and r.get_json()["has_channel"] is True
    assert findings_of(db_session, toutiao, NO_CHANNEL)[0].status is FindingStatus.resolved

    # The unit says comments are closed and there is no message channel: a finding again.
    r = api._call(
        "PUT",
        f"/api/v1/interaction/accounts/{toutiao.id}/channel",
        json={"comments_open": False, "messages_open": False},
    )
    assert r.get_json()["has_channel"] is False
    assert findings_of(db_session, toutiao, NO_CHANNEL, FindingStatus.open)


# ----------------------------------------------------------------------------- scope and input


def test_scope_other_units_operator_and_auditor(db_session, site, make_account):
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    comment(site["sandbox"], "weibo", account.platform_uid, post_id)
    poll_one(account.id)
    item = items_of(db_session, account)[0]

    other = site["api"]("other_operator")
    assert other.get("/api/v1/interaction/items").get_json()["total"] == 0
    assert other.get(f"/api/v1/interaction/items/{item.id}").status_code == 404
    assert other.post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "越权"}).status_code == 404
    assert other.get(f"/api/v1/interaction/accounts/{account.id}/channel").status_code == 404

    auditor = site["api"]("auditor")
    assert auditor.get("/api/v1/interaction/items").get_json()["total"] >= 1
    r = auditor.post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "网信办代答"})
    assert r.status_code == 403
    assert db_session.get(InteractionItem, item.id).replied_at is None


def test_bad_input_is_refused_and_changes_nothing(db_session, site, make_account):
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    comment(site["sandbox"], "weibo", account.platform_uid, post_id)
    poll_one(account.id)
    item = items_of(db_session, account)[0]
    api = site["api"]("operator")

    r = api.post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": ""})
    assert r.status_code == 422 and r.get_json()["error"]["message"]
    assert api.post(f"/api/v1/interaction/items/{item.id}/reply", json={"text": "长" * 141}).status_code == 422
    assert api.post(f"/api/v1/interaction/items/{item.id}/handled", json={"reason": "好"}).status_code == 422
    assert api.get("/api/v1/interaction/items?state=bogus").status_code == 422
    assert (
        api._call(
            "PUT", f"/api/v1/interaction/accounts/{account.id}/channel", json={"comments_open": "也许"}
        ).status_code
        == 422
    )
    assert api.post("/api/v1/interaction/items/999999/handled", json={"reason": "不存在的"}).status_code == 404
    fresh = db_session.get(InteractionItem, item.id)
    assert fresh.replied_at is None and not fresh.handled_elsewhere


def test_inbox_page_lists_unanswered_first_with_age(db_session, client, site, make_account):
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    comment(site["sandbox"], "weibo", account.platform_uid, post_id, text="第一条")
    poll_one(account.id)
    assert (
        client.post("/login", data={"username": site["users"]["operator"].username, "password": PASSWORD}).status_code
        == 302
    )
    page = client.get("/interaction/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "第一条" in text and "已等待" in text and "通过平台回复" in text
    assert "已等待 不到 1 小时" in text and "已等待 0 小时" not in text  # just read in
    # five days on: in days, as the 5-working-day limit is counted, not "已等待 120 小时"
    [item] = items_of(db_session, account)
    item.received_at = utcnow() - timedelta(hours=121)
    db_session.commit()
    text = client.get("/interaction/").get_data(as_text=True)
    assert "已等待 5 天 1 小时" in text and "120 小时" not in text


def test_cli_poll_one_account(app, db_session, site, make_account):
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    comment(site["sandbox"], "weibo", account.platform_uid, post_id)
    result = app.test_cli_runner().invoke(args=["interaction", "poll", "--account", str(account.id)])
    assert result.exit_code == 0, result.output
    assert "新增评论/私信 1 条" in result.output
    bad = app.test_cli_runner().invoke(args=["interaction", "poll", "--account", "999999"])
    assert bad.exit_code != 0 and "不存在" in bad.output


def test_inbox_page_reply_and_handled_forms(db_session, client, site, make_account):
    account = make_account(site["unit"], "weibo")
    post_id = sandbox_post(site["sandbox"], "weibo", account.platform_uid)
    comment(site["sandbox"], "weibo", account.platform_uid, post_id, text="甲")
    comment(site["sandbox"], "weibo", account.platform_uid, post_id, text="乙")
    poll_one(account.id)
    first, second = sorted(items_of(db_session, account), key=lambda i: i.text)
    operator = site["users"]["operator"]
    assert client.post("/login", data={"username": operator.username, "password": PASSWORD}).status_code == 302

    r = client.post(f"/interaction/items/{first.id}/reply", data={"text": "已收到", "next": "/interaction/?state=all"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/interaction/?state=all")
    assert db_session.get(InteractionItem, first.id).reply_text == "已收到"
    r = client.post(f"/interaction/items/{second.id}/handled", data={"reason": ""}, follow_redirects=True)
    assert "处理说明" in r.get_data(as_text=True)
    assert db_session.get(InteractionItem, second.id).replied_at is None


def test_channel_page_form_records_the_channel_audited_and_scoped(
    app, db_session, client, site, make_account, monkeypatch
):
    toutiao = make_account(site["unit"], "toutiao")
    poll_one(toutiao.id)
    assert findings_of(db_session, toutiao, NO_CHANNEL, FindingStatus.open)
    operator = site["users"]["operator"]
    assert client.post("/login", data={"username": operator.username, "password": PASSWORD}).status_code == 302
    url = f"/interaction/accounts/{toutiao.id}/channel"
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    # Without the CSRF token: refused, nothing recorded.
    refused = client.post(url, data={"messages_open": "1"})
    assert refused.status_code == 400
    assert service.channel_dict(toutiao)["messages_open"] is None

    page = client.get(url).get_data(as_text=True)
    assert "没有（互动回应差，单项否决）" in page and 'id="channel-form"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page[page.index('id="channel-form"') :]).group(1)
    r = client.post(
        url, data={"csrf_token": token, "comments_open": "", "messages_open": "1", "note": "后台私信已开启"}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(url)
    db_session.expire_all()
    assert service.channel_dict(toutiao)["messages_open"] is True
    assert findings_of(db_session, toutiao, NO_CHANNEL)[0].status is FindingStatus.resolved
    audit = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "interaction:channel")).all()
    assert len(audit) == 1
    shown = client.get(url).get_data(as_text=True)
    assert "互动渠道已登记" in shown and "后台私信已开启" in shown and "有</strong>" in shown

    # Bad input: refused in Chinese, nothing changes.
    r = client.post(url, data={"csrf_token": token, "messages_open": "也许"}, follow_redirects=True)
    assert "只能选择" in r.get_data(as_text=True)
    db_session.expire_all()
    assert service.channel_dict(toutiao)["messages_open"] is True
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)

    # Another unit's operator: 404; the auditor reads but cannot record.
    for who, status in (("other_operator", 404), ("auditor", 200)):
        client.get("/logout")
        user = site["users"][who]
        assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
        assert client.get(url).status_code == status
    assert 'id="channel-form"' not in client.get(url).get_data(as_text=True)
    client.post(url, data={"messages_open": "0"})
    db_session.expire_all()
    assert service.channel_dict(toutiao)["messages_open"] is True
    assert len(db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "interaction:channel")).all()) == 1
