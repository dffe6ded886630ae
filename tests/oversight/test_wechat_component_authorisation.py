# ruff: noqa: F811 - the unit fixture is imported and then requested
"""A 公众号 authorises the office's 第三方平台 by scanning (no AppSecret): over HTTP against the
sandbox — the unit's operator starts it on the account page, the sandbox "administrator" picks the
公众号 on componentloginpage, the callback stores the grant; the inspection reads the account's
posts with the authorizer token, refreshes it after expiry; the ``unauthorized`` push removes the
grant and the account is 未授权 again. Twins: another 公众号 than the ledger's is refused and
nothing changes; a bad or used auth_code is a clear error; another unit's operator gets 404."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from oversight.inspection import coverage, service
from oversight.inspection.models import AccountInspection
from oversight.models import FindingKind
from platforms import channels, credentials, wechat_component
from publishers.models import DeliveryStatus
from tests.conftest import PASSWORD
from tests.oversight.test_inspection import app_post, findings, plant, posts, unit  # noqa: F401 - fixture
from tests.oversight.test_inspection_wechat_component import COMPONENT, component, push_ticket  # noqa: F401
from tests.publishers import test_pipeline
from tests.publishers.test_pipeline import claim, deliveries_of, drain


def _appid() -> str:
    return "wx" + uuid.uuid4().hex[:16]


def login(client, user):
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def actions(db_session, action, account_id):
    db_session.commit()
    return db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == str(account_id))
    ).all()


def stored(account_id):
    try:
        return credentials.get_credentials(account_id)
    except credentials.CredentialsUnavailable:
        return {}


@pytest.fixture
def ready(app, sandbox, component, client, monkeypatch):
    """The component configured, its ticket pushed, the authorisation pages on the sandbox."""
    monkeypatch.setitem(component.options, "component_login_base_url", f"{sandbox.url}/wechat")
    app.extensions.pop("govmedia_inspection", None)
    _, accepted = push_ticket(sandbox, client)
    assert accepted.status_code == 200
    return component


def start(client, account):
    """The operator presses “通过第三方平台授权”; returns the PC link and the page."""
    page = client.post(f"/publishing/accounts/{account.id}/wechat-component/start")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    found = re.search(r'href="([^"]*componentloginpage[^"]*)"', text)
    assert found, text
    return html.unescape(found.group(1)), text


def scan(pc_url, uid):
    """The 公众号 administrator confirms on the sandbox's componentloginpage; returns our callback."""
    parts = urlsplit(pc_url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert requests.get(pc_url, timeout=10).status_code == 200
    answer = requests.post(
        f"{parts.scheme}://{parts.netloc}{parts.path}", data={**params, "uid": uid}, allow_redirects=False, timeout=10
    )
    assert answer.status_code in (302, 303), answer.text
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


@pytest.fixture
def author(make_user, unit):
    return make_user(Role.operator, unit=unit)


@pytest.fixture
def approve(db_session, author):
    return test_pipeline.approve.__wrapped__(db_session, author)


def test_authorise_read_refresh_publish_and_withdraw(
    app, db_session, sandbox, ready, unit, make_account, make_user, client, approve
):
    appid = _appid()
    account = make_account(unit, "wechat", uid=appid, credentials=False, name=unit.name)
    plant(sandbox, "wechat", appid, app_id=appid, name=unit.name)
    post = app_post(sandbox, "wechat", appid, "第三方平台授权后的巡检读取")
    operator = make_user(Role.operator, unit=unit)
    db_session.commit()
    assert service.inspect_account(account.id).result == "not_checkable"
    assert findings(db_session, account, FindingKind.not_authorised)

    login(client, operator)
    account_page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert "通过第三方平台授权" in account_page
    pc_url, text = start(client, account)
    assert "/cgi-bin/componentloginpage?" in pc_url and f"biz_appid={appid}" in pc_url and "auth_type=1" in pc_url
    # No phone link (it would come back inside the administrator's WeChat, without our state) and no API start.
    assert "bindcomponent" not in text and "手机" in text and "这台电脑" in text
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert not [p for p in paths if "wechat-component" in p]
    assert client.post(f"/api/v1/accounts/{account.id}/wechat-component/start").status_code != 200
    done = client.get(scan(pc_url, appid))
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "授权成功" in body and "测试连接成功" in body, body
    grant = stored(account.id)
    assert grant["app_id"] == appid and grant["via"] == "component" and "app_secret" not in grant
    assert grant["refresh_token"] not in body
    assert actions(db_session, "account:wechat_component:authorized", account.id)
    assert "<dt>授权方式</dt><dd>未授权</dd>" in account_page
    after = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert "<dt>授权方式</dt><dd>已通过第三方平台授权（不保存 AppSecret）</dd>" in after
    assert grant["refresh_token"] not in after
    # authorised: the form offers 重新授权 (e.g. after the administrator changed the 权限集), not a first one
    assert "重新授权</button>" in after and "通过第三方平台授权</button>" not in after
    assert "通过第三方平台授权</button>" in account_page and "重新授权</button>" not in account_page

    outcome = service.inspect_account(account.id)
    assert outcome.result == "checked" and outcome.source == "own_api", outcome
    state = db_session.scalar(sa.select(AccountInspection).where(AccountInspection.account_id == account.id))
    assert state.source == "own_api" and state.not_checkable_reason is None
    assert not findings(db_session, account, FindingKind.not_authorised)
    assert outcome.posts_seen == 1 and list(posts(db_session, account)) == [post["post_id"]]

    # Two hours later the authorizer token has expired: the adapter refreshes it with the refresh token.
    adapter = channels.adapter_for("wechat")
    old = adapter.token_store.get(f"wechat:authorizer:token:{appid}")
    sandbox.call("POST", "/_sandbox/config", json={"clock_offset": 7300})
    assert service.inspect_account(account.id).result == "checked"
    assert adapter.token_store.get(f"wechat:authorizer:token:{appid}") not in (None, old)

    # The administrator changes the granted 权限集: ``updateauthorized`` brings a new grant.
    before = stored(account.id)["refresh_token"]
    update = sandbox.call(
        "POST",
        "/_sandbox/wechat/component/update-authorization",
        json={"component_appid": COMPONENT["component_appid"], "authorizer_appid": appid},
    )
    assert (
        client.post("/interaction/push/wechat/component", query_string=update["query"], data=update["body"]).status_code
        == 200
    )
    assert stored(account.id)["refresh_token"] not in (None, before)
    assert actions(db_session, "account:wechat_component:updated", account.id)
    assert service.inspect_account(account.id).result == "checked"

    # Publishing uses the same grant: a 三审-approved article goes out to the 公众号.
    content = approve([account])
    drain(db_session, claim(db_session))
    delivery = deliveries_of(db_session, content)["wechat"]
    assert delivery.status is DeliveryStatus.sent, delivery.last_error_message
    assert any(p["uid"] == appid for p in sandbox.posts("wechat"))

    # The office's coverage page counts the account as read through the account's own authorisation.
    office = make_user(Role.admin, unit=unit)
    assert seen_as(office, account) == ("checked", "own_api")

    # The administrator withdraws the authorisation in the 公众平台: WeChat pushes ``unauthorized``.
    pushed = sandbox.call(
        "POST",
        "/_sandbox/wechat/component/unauthorize",
        json={"component_appid": COMPONENT["component_appid"], "authorizer_appid": appid},
    )
    receipt = client.post("/interaction/push/wechat/component", query_string=pushed["query"], data=pushed["body"])
    assert receipt.status_code == 200 and receipt.get_data(as_text=True) == "success"
    assert stored(account.id) == {}
    assert actions(db_session, "account:wechat_component:unauthorized", account.id)
    withdrawn_page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert "<dt>授权方式</dt><dd>未授权</dd>" in withdrawn_page and "通过第三方平台授权</button>" in withdrawn_page
    assert service.inspect_account(account.id).result == "not_checkable"
    assert findings(db_session, account, FindingKind.not_authorised)
    assert seen_as(office, account) == ("not_checkable", "no_source")


def seen_as(user, account):
    """(state, reason) of the account on the coverage page: its platform's row and the blind list."""
    board = coverage.coverage(user, platform="wechat")
    blind = [b for b in board["blind"] if b["account_id"] == account.id]
    reasons = {(r["state"], r["reason"]) for r in board["by_reason"] if r["count"]}
    if blind:
        assert blind[0]["state"] == "not_checkable" and "授权" in blind[0]["needs"]
        return "not_checkable", next(r for s, r in reasons if s == "not_checkable")
    (state,) = {s for s, _ in reasons}
    return state, next(r for s, r in reasons if s == state)


def test_refused_refresh_needs_reauthorisation(app, db_session, sandbox, ready, unit, make_account, make_user, client):
    """The grant withdrawn without the push reaching us: the refresh is refused (61003) → CredentialsError."""
    appid = _appid()
    account = make_account(unit, "wechat", uid=appid, credentials=False)
    plant(sandbox, "wechat", appid, app_id=appid)
    operator = make_user(Role.operator, unit=unit)
    db_session.commit()
    login(client, operator)
    pc_url, _ = start(client, account)
    assert client.get(scan(pc_url, appid)).status_code == 200
    sandbox.call(
        "POST",
        "/_sandbox/wechat/component/unauthorize",
        json={"component_appid": COMPONENT["component_appid"], "authorizer_appid": appid},
    )
    adapter = channels.adapter_for("wechat")
    adapter.token_store.delete(f"wechat:authorizer:token:{appid}")
    outcome = service.inspect_account(account.id)
    assert outcome.result == "error" and outcome.error["code"] in (61003, "61003"), outcome
    assert wechat_component.GRANT_REFUSED[61003] in outcome.error["message"]


def test_another_accounts_appid_is_refused_and_nothing_changes(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    mine, other = _appid(), _appid()
    account = make_account(unit, "wechat", uid=mine, credentials=False)
    plant(sandbox, "wechat", mine, app_id=mine)
    plant(sandbox, "wechat", other, app_id=other, name="别的公众号")
    operator = make_user(Role.operator, unit=unit)
    db_session.commit()
    login(client, operator)
    pc_url, _ = start(client, account)
    refused = client.get(scan(pc_url, other))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "授权未完成" in text and f"AppID {other}" in text and "没有任何改变" in text
    assert stored(account.id) == {}
    assert actions(db_session, "account:wechat_component:refused", account.id)
    assert service.inspect_account(account.id).result == "not_checkable"


def test_bad_or_used_auth_code_and_scope(
    app, db_session, sandbox, ready, unit, make_unit, make_account, make_user, client
):
    appid = _appid()
    account = make_account(unit, "wechat", uid=appid, credentials=False)
    plant(sandbox, "wechat", appid, app_id=appid)
    operator = make_user(Role.operator, unit=unit)
    stranger = make_user(Role.operator, unit=make_unit("别的县人民政府"))
    auditor = make_user(Role.auditor, unit=unit)
    db_session.commit()

    login(client, stranger)
    assert client.post(f"/publishing/accounts/{account.id}/wechat-component/start").status_code == 404
    client.post("/logout")
    login(client, auditor)
    assert client.post(f"/publishing/accounts/{account.id}/wechat-component/start").status_code == 403
    assert "通过第三方平台授权</button>" not in client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    client.post("/logout")

    login(client, operator)
    pc_url, _ = start(client, account)
    callback = scan(pc_url, appid)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    forged = client.get(f"/publishing/wechat/component/callback?state={state}&auth_code=queryauthcode@@@forged")
    text = forged.get_data(as_text=True)
    assert forged.status_code == 400 and "授权码无效或已过期" in text
    assert stored(account.id) == {}
    assert actions(db_session, "account:wechat_component:failed", account.id)
    # The state is used up: the real callback now is refused too (start again).
    replay = client.get(callback)
    assert replay.status_code == 400 and "已经用过" in replay.get_data(as_text=True)
    assert stored(account.id) == {}
