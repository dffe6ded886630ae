"""Credential health, OAuth, WeChat 群发 and Douyin 代发 — against the sandbox over HTTP."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from apscheduler.util import ref_to_obj

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from platforms import channels, credentials, wechat_mass
from publishers import attempt, credential_health, douyin_rules, oauth, pipeline, sweeper, withdraw
from publishers.credential_admin import set_credentials
from publishers.models import Delivery, DeliveryStatus
from tasks import credentials as credential_tasks
from tasks import jobs
from tests.conftest import PASSWORD
from tests.publishers import test_pipeline
from tests.publishers.test_pipeline import claim, deliveries_of, drain


@pytest.fixture
def unit(make_unit):
    return make_unit("凭据测试县人民政府")


@pytest.fixture
def admin(make_user, unit):
    return make_user(Role.admin, unit=unit)


@pytest.fixture
def operator(make_user, unit):
    return make_user(Role.operator, unit=unit)


@pytest.fixture
def author(operator):
    return operator


@pytest.fixture
def approve(db_session, author):

    return test_pipeline.approve.__wrapped__(db_session, author)


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def actions(db_session, action):
    db_session.commit()  # audit entries are written when the transaction commits
    return db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


# ----------------------------------------------------------------------------- health


def test_health_and_connection_test(
    db_session, sandbox, unit, admin, operator, make_unit, make_user, make_account, api_as
):
    account = make_account(unit, "wechat")
    bare = make_account(unit, "weibo", credentials=False)
    health = api_as(operator).get(f"/api/v1/accounts/{bare.id}/credentials/health").get_json()
    assert health["state"] == "blocked" and health["can_publish"] is False
    assert "未配置平台凭据" in health["reasons"]

    # 测试连接: admins only, within the scope; one harmless read, audited, no secret in the answer.
    assert api_as(operator).post(f"/api/v1/accounts/{account.id}/credentials/test").status_code == 403
    stranger = make_user(Role.operator, unit=make_unit("别的单位"))
    assert api_as(stranger).post(f"/api/v1/accounts/{account.id}/credentials/test").status_code == 404
    answer = api_as(admin).post(f"/api/v1/accounts/{account.id}/credentials/test")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["check_ok"] is True and body["api_eligible"] is True and body["state"] == "ok"
    assert body["last_success_at"]
    assert "sandbox:" not in answer.get_data(as_text=True)
    assert actions(db_session, "account:credentials:test")
    # Nothing was published by the test.
    assert sandbox.posts("wechat") == []


def test_connection_failure_marks_reauth(db_session, sandbox, unit, admin, make_account, api_as):
    account = make_account(unit, "weibo", credentials=False)
    credential_admin_set(account.id, {"access_token": "2.00bogus-token-that-the-sandbox-never-issued"})
    body = api_as(admin).post(f"/api/v1/accounts/{account.id}/credentials/test").get_json()
    assert body["check_ok"] is False and body["needs_reauth"] is True and body["state"] == "blocked"


def credential_admin_set(account_id, values):

    set_credentials(account_id, values)


def test_expiry_warning_is_written_by_the_daily_check(db_session, app, unit, admin, make_account, api_as, client):
    account = make_account(unit, "douyin")
    values = credentials.get_credentials(account.id)
    soon = time.time() + 2 * 86400
    credential_admin_set(account.id, {**values, "refresh_expires_at": soon, "renewals": 5})
    counts = credential_health.scan_expiry()
    assert counts["warned"] >= 1
    warnings = {w["account_id"]: w for w in credential_health.open_warnings()}
    assert "刷新令牌将于" in warnings[account.id]["warning"] and "不能再续" in warnings[account.id]["warning"]
    assert actions(db_session, "account:credentials:warning")
    # The overview (admins) shows state, reasons and Beijing times; an unchanged scan writes nothing new.
    assert credential_health.scan_expiry()["warned"] == 0
    db_session.commit()
    page = login(client, admin).get("/publishing/credentials")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "凭据预警" in text and account.name in text and "可以发布（有预警）" in text
    overview = api_as(admin).get("/api/v1/credentials/overview").get_json()
    assert any(i["account_id"] == account.id and i["state"] == "warning" for i in overview["items"])


def test_credential_check_is_scheduled_daily(db_session, app, unit, make_account):

    got = {job_id: (path, trigger) for job_id, path, trigger in jobs.periodic_jobs(app)}
    path, trigger = got["credential-check"]
    assert trigger["trigger"] == "cron" and callable(ref_to_obj(path))
    account = make_account(unit, "weibo")
    values = credentials.get_credentials(account.id)
    credential_admin_set(account.id, {**values, "expires_at": time.time() - 60})
    db_session.commit()
    assert credential_tasks.scan_task.run()["warned"] >= 1
    (warning,) = [w for w in credential_health.open_warnings() if w["account_id"] == account.id]
    assert warning["level"] == "blocked" and "微博访问令牌已于" in warning["warning"]


def test_overview_is_admin_only(db_session, operator, api_as):
    assert api_as(operator).get("/api/v1/credentials/overview").status_code == 403


# ----------------------------------------------------------------------------- OAuth


def _authorize(sandbox_url_with_query: str, uid: str) -> str:
    """Play the account holder on the sandbox's consent page; returns our callback URL."""
    parts = urlsplit(sandbox_url_with_query)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    page = requests.get(sandbox_url_with_query, timeout=10)
    assert page.status_code == 200
    answer = requests.post(
        f"{parts.scheme}://{parts.netloc}{parts.path}", data={**params, "uid": uid}, allow_redirects=False, timeout=10
    )
    assert answer.status_code in (302, 303)
    return answer.headers["Location"]


@pytest.mark.parametrize("platform", ["weibo", "douyin"])
def test_oauth_from_the_account_page(db_session, sandbox, unit, admin, make_account, client, platform):
    account = make_account(unit, platform, credentials=False)
    db_session.commit()
    login(client, admin)
    start = client.get(f"/publishing/accounts/{account.id}/oauth/start")
    assert start.status_code == 302 and start.headers["Location"].startswith(sandbox.url)
    callback = _authorize(start.headers["Location"], account.platform_uid)
    parts = urlsplit(callback)
    done = client.get(f"{parts.path}?{parts.query}")
    assert done.status_code == 302
    stored = credentials.get_credentials(account.id)
    assert stored["access_token"]
    if platform == "douyin":
        assert stored["refresh_token"].startswith("rft.") and stored["refresh_expires_at"] > time.time()
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert stored["access_token"] not in page
    assert "已完成" in page or "可以发布" in page
    assert actions(db_session, "account:oauth:done") and actions(db_session, "account:credentials:set")
    # The state is used up: replaying the callback is refused.
    assert client.get(f"{parts.path}?{parts.query}").status_code == 400


def test_oauth_refusals(db_session, sandbox, unit, admin, operator, make_account, client):
    account = make_account(unit, "weibo", credentials=False)
    db_session.commit()
    login(client, operator)
    assert client.get(f"/publishing/accounts/{account.id}/oauth/start").status_code == 403
    client.post("/logout")
    login(client, admin)
    bad = client.get("/publishing/oauth/weibo/callback?code=sandbox.x&state=forged")
    assert bad.status_code == 400
    assert "state" in bad.get_data(as_text=True)
    assert "access_token" not in credentials_or_empty(account.id)


def credentials_or_empty(account_id):
    try:
        return credentials.get_credentials(account_id)
    except credentials.CredentialsUnavailable:
        return {}


def test_reconnect_keeps_the_refresh_token(db_session, unit, make_account):
    account = make_account(unit, "douyin")
    stored = credentials.get_credentials(account.id)
    merged = oauth.merge_keep(account.id, {k: v for k, v in stored.items() if k != "refresh_token"})
    assert merged["refresh_token"] == stored["refresh_token"]


def test_wechat_app_form_tests_at_once(db_session, sandbox, unit, admin, make_account, api_as):
    account = make_account(unit, "wechat", credentials=False)
    good = api_as(admin).put(
        f"/api/v1/accounts/{account.id}/wechat-app", json={"app_id": "wxgood0001", "app_secret": "sandbox:wxuid1"}
    )
    assert good.status_code == 200 and good.get_json()["check_ok"] is True
    assert "sandbox:wxuid1" not in good.get_data(as_text=True)
    bad = (
        api_as(admin)
        .put(f"/api/v1/accounts/{account.id}/wechat-app", json={"app_id": "wxgood0001", "app_secret": "wrong-secret"})
        .get_json()
    )
    assert bad["check_ok"] is False and bad["state"] == "blocked"


# ----------------------------------------------------------------------------- WeChat 群发


def _mass(sandbox):
    return sandbox.call("GET", "/_sandbox/wechat/mass")["mass"]


def test_mass_send_reaches_followers_and_withdraw_says_what_stays(
    db_session, sandbox, unit, operator, make_account, approve, api_as
):
    account = make_account(unit, "wechat")
    content = approve([account])
    chosen = api_as(operator).put(
        f"/api/v1/contents/{content.id}/targets/{account.id}/send-mode", json={"mode": "mass"}
    )
    assert chosen.status_code == 200 and chosen.get_json()["quota"]["per_day"] == 1
    ids = claim(db_session)
    drain(db_session, ids)
    delivery = deliveries_of(db_session, content)["wechat"]
    assert delivery.status is DeliveryStatus.sent and delivery.send_mode == "mass"
    assert delivery.platform_post_id.startswith("mass:")
    sent = _mass(sandbox)
    assert len(sent) == 1 and sent[0]["status"] == "SEND_SUCCESS"
    assert sent[0]["clientmsgid"] == wechat_mass.client_msg_id(delivery.idempotency_key)
    assert sandbox.posts("wechat") == [] or all(p.get("kind") == "mass" for p in sandbox.posts("wechat"))
    listed = api_as(operator).get(f"/api/v1/deliveries/{delivery.id}").get_json()
    assert listed["send_mode"] == "mass" and "消息卡片" in listed["withdraw_note"]
    # Withdraw: mass/delete; the message says delivered cards stay.
    withdraw.withdraw_content(content, "测试撤回", operator)
    db_session.commit()
    assert pipeline.run_withdraw(delivery.id).action == "done"
    db_session.refresh(delivery)
    assert delivery.status is DeliveryStatus.withdrawn
    assert "已送达粉丝的消息卡片仍保留" in delivery.last_error_message
    assert _mass(sandbox)[0]["status"] == "DELETE"


def test_mass_retry_never_pushes_twice(db_session, sandbox, unit, operator, make_account, approve, api_as):
    account = make_account(unit, "wechat")
    content = approve([account])
    api_as(operator).put(f"/api/v1/contents/{content.id}/targets/{account.id}/send-mode", json={"mode": "mass"})
    (delivery_id,) = claim(db_session)
    assert pipeline.run_delivery(delivery_id).action == "poll"
    delivery = db_session.get(Delivery, delivery_id)
    first = delivery.platform_post_id
    # The worker died after the platform accepted but before the answer was recorded.
    delivery.platform_post_id = None
    delivery.sending_started_at = utcnow() - timedelta(hours=1)
    db_session.commit()
    drain(db_session, [delivery_id])
    db_session.refresh(delivery)
    assert delivery.platform_post_id == first
    assert delivery.status is DeliveryStatus.sent
    assert len(_mass(sandbox)) == 1
    # Directly as well: the same clientmsgid twice gives the same msg_id, one push.
    creds = attempt.load_creds(account)
    adapter = channels.adapter_for("wechat")
    post = attempt.render_for(delivery)
    again = wechat_mass.send(adapter, creds, post, wechat_mass.client_msg_id(delivery.idempotency_key))
    assert again.post_id == first and again.raw_status == "clientmsgid_exist"
    assert len(_mass(sandbox)) == 1


def test_mass_quota_is_enforced_before_any_call(db_session, sandbox, unit, operator, make_account, approve, api_as):
    account = make_account(unit, "wechat")
    first = approve([account], title="第一篇群发稿件")
    second = approve([account], title="第二篇群发稿件")
    for content in (first, second):
        api_as(operator).put(f"/api/v1/contents/{content.id}/targets/{account.id}/send-mode", json={"mode": "mass"})
    drain(db_session, claim(db_session))
    results = {c.title: deliveries_of(db_session, c)["wechat"] for c in (first, second)}
    statuses = sorted(d.status.value for d in results.values())
    assert statuses == ["failed", "sent"]
    refused = next(d for d in results.values() if d.status is DeliveryStatus.failed)
    assert refused.last_error_code == "mass_quota_day" and "今日群发次数已用完" in refused.last_error_message
    assert len(_mass(sandbox)) == 1


def test_mass_protection_wait_is_a_pending_state(db_session, sandbox, unit, operator, make_account, approve, api_as):
    sandbox.configure(wechat_mass_protection=True)
    account = make_account(unit, "wechat")
    content = approve([account])
    api_as(operator).put(f"/api/v1/contents/{content.id}/targets/{account.id}/send-mode", json={"mode": "mass"})
    (delivery_id,) = claim(db_session)
    drain(db_session, [delivery_id], polls=3)
    delivery = db_session.get(Delivery, delivery_id)
    assert delivery.status is DeliveryStatus.sending
    assert "API群发保护" in delivery.last_error_message
    msg_id = _mass(sandbox)[0]["msg_id"]
    sandbox.call("POST", "/_sandbox/wechat/mass/confirm", json={"msg_id": msg_id, "approve": True})
    assert pipeline.run_poll(delivery_id).action == "done"
    db_session.refresh(delivery)
    assert delivery.status is DeliveryStatus.sent


def test_send_mode_refusals(db_session, unit, operator, make_unit, make_user, make_account, approve, api_as):
    wechat = make_account(unit, "wechat")
    weibo = make_account(unit, "weibo")
    content = approve([wechat, weibo])
    assert (
        api_as(operator)
        .put(f"/api/v1/contents/{content.id}/targets/{weibo.id}/send-mode", json={"mode": "mass"})
        .status_code
        == 422
    )
    assert (
        api_as(operator)
        .put(f"/api/v1/contents/{content.id}/targets/{wechat.id}/send-mode", json={"mode": "x"})
        .status_code
        == 422
    )
    stranger = make_user(Role.operator, unit=make_unit("另一单位"))
    assert (
        api_as(stranger)
        .put(f"/api/v1/contents/{content.id}/targets/{wechat.id}/send-mode", json={"mode": "mass"})
        .status_code
        == 404
    )


# ----------------------------------------------------------------------------- Douyin 代发


def test_scheduled_douyin_post_waits_for_a_person(
    db_session, sandbox, unit, operator, make_account, approve, api_as, client
):
    account = make_account(unit, "douyin")
    content = approve([account], publish_at=utcnow() - timedelta(minutes=1))
    drain(db_session, claim(db_session))
    delivery = deliveries_of(db_session, content)["douyin"]
    assert delivery.status is DeliveryStatus.held
    assert sandbox.posts("douyin") == []
    page = login(client, operator).get(f"/publishing/contents/{content.id}").get_data(as_text=True)
    assert f"发起发送到抖音账号“{account.name}”" in page
    started = api_as(operator).post(f"/api/v1/deliveries/{delivery.id}/start")
    assert started.status_code == 200 and started.get_json()["account_name"] == account.name
    drain(db_session, [delivery.id])
    db_session.refresh(delivery)
    assert delivery.status is DeliveryStatus.sent and delivery.started_by_id == operator.id
    assert len(sandbox.live_posts("douyin")) == 1


def test_own_account_may_post_unattended(db_session, sandbox, unit, admin, make_account, approve, api_as):
    account = make_account(unit, "douyin")
    refused = api_as(admin).put(f"/api/v1/accounts/{account.id}/publish-settings", json={"own_account": True})
    assert refused.status_code == 422  # the basis must be recorded
    ok = api_as(admin).put(
        f"/api/v1/accounts/{account.id}/publish-settings",
        json={"own_account": True, "own_account_note": "运维合同 2026-08"},
    )
    assert ok.status_code == 200 and ok.get_json()["own_account"] is True
    assert actions(db_session, "account:publish-settings")
    content = approve([account], publish_at=utcnow() - timedelta(minutes=1))
    drain(db_session, claim(db_session))
    assert deliveries_of(db_session, content)["douyin"].status is DeliveryStatus.sent


def test_sync_and_delete_settings(db_session, sandbox, unit, admin, operator, make_account, approve, api_as):
    account = make_account(unit, "douyin")
    assert (
        api_as(operator)
        .put(f"/api/v1/accounts/{account.id}/publish-settings", json={"sync_enabled": False})
        .status_code
        == 403
    )
    api_as(admin).put(f"/api/v1/accounts/{account.id}/publish-settings", json={"sync_enabled": False})
    off = approve([account], title="不同步的稿件")
    drain(db_session, claim(db_session))
    refused = deliveries_of(db_session, off)["douyin"]
    assert refused.status is DeliveryStatus.failed and refused.last_error_code == "douyin_sync_off"
    api_as(admin).put(
        f"/api/v1/accounts/{account.id}/publish-settings", json={"sync_enabled": True, "delete_enabled": False}
    )
    kept = approve([account], title="撤回时保留的稿件")
    drain(db_session, claim(db_session))
    delivery = deliveries_of(db_session, kept)["douyin"]
    assert delivery.status is DeliveryStatus.sent
    withdraw.withdraw_content(kept, "测试撤回", operator)
    db_session.commit()
    pipeline.run_withdraw(delivery.id)
    db_session.refresh(delivery)
    assert delivery.status is DeliveryStatus.sent and delivery.last_error_code == douyin_rules.KEPT_CODE
    assert len(sandbox.live_posts("douyin")) == 1

    assert delivery.id not in sweeper.sweep()[1]
