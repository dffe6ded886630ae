# ruff: noqa: F811 - the fixtures are imported and then requested
"""A 第三方平台 grant is merged into what the account already stores, over HTTP against the
sandbox (real DB): the 消息推送 Token (``push_token``, 互动回应) and an admin-set AppSecret
survive the authorisation, a refreshed token and the withdrawal; the withdrawal removes the
grant only (the row goes only when nothing is left) and a refreshed token written after it never
brings the grant back. The account page's 授权方式 says what really works."""

from __future__ import annotations

import hashlib
import uuid

from auth.models import Role
from oversight import probes
from oversight.inspection import service
from oversight.models import FindingKind
from platforms.types import Credentials
from publishers import attempt, credential_health
from publishers.credential_admin import set_credentials
from tests.oversight.test_inspection import findings, plant, unit  # noqa: F401 - fixture
from tests.oversight.test_inspection_wechat_component import COMPONENT, component  # noqa: F401 - fixture
from tests.oversight.test_wechat_component_authorisation import login, ready, scan, start, stored  # noqa: F401

WITHDRAW = "/_sandbox/wechat/component/unauthorize"


def _appid() -> str:
    return "wx" + uuid.uuid4().hex[:16]


def auth_row(client, account) -> str:
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    return page.split("<dt>授权方式</dt><dd>", 1)[1].split("</dd>", 1)[0]


def push_accepted(client, account, token) -> bool:
    """The 公众平台's 服务器配置 check of the account's push URL, signed with ``token``."""
    timestamp, nonce = "1700000000", "4242"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": "hello"}
    answer = client.get(f"/interaction/push/wechat/{account.id}", query_string=query)
    return answer.status_code == 200 and answer.get_data(as_text=True) == "hello"


def withdraw(sandbox, client, appid) -> None:
    pushed = sandbox.call(
        "POST", WITHDRAW, json={"component_appid": COMPONENT["component_appid"], "authorizer_appid": appid}
    )
    assert (
        client.post("/interaction/push/wechat/component", query_string=pushed["query"], data=pushed["body"]).status_code
        == 200
    )


def refreshed(account, values, refresh_token) -> None:
    """What the adapter reports after ``api_authorizer_token`` handed out a new refresh token."""
    grant = {k: v for k, v in values.items() if k != "push_token"}
    attempt._remember_credentials(
        Credentials.from_mapping({**grant, "refresh_token": refresh_token}, account_ref=str(account.id))
    )
    attempt.persist_refreshed_credentials()


def test_push_token_survives_grant_refresh_and_withdrawal(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    appid, token = _appid(), f"push-{uuid.uuid4().hex[:8]}"
    account = make_account(unit, "wechat", uid=appid, credentials=False)
    set_credentials(account.id, {"push_token": token})
    plant(sandbox, "wechat", appid, app_id=appid)
    login(client, make_user(Role.operator, unit=unit))
    db_session.commit()
    assert auth_row(client, account) == "未授权"
    assert "未配置平台凭据" in " ".join(credential_health.assess(account).reasons)
    assert service.inspect_account(account.id).result == "not_checkable"

    pc_url, _ = start(client, account)
    assert client.get(scan(pc_url, appid)).status_code == 200
    grant = stored(account.id)
    assert grant["push_token"] == token and grant["via"] == "component" and grant["app_id"] == appid
    assert auth_row(client, account) == "已通过第三方平台授权（不保存 AppSecret）"
    assert push_accepted(client, account, token)

    # A refreshed authorizer token with a new refresh token: written, the push Token kept.
    refreshed(account, grant, "refreshtoken@@@rotated")
    db_session.commit()
    assert stored(account.id) == {**grant, "refresh_token": "refreshtoken@@@rotated"}

    # The administrator withdraws: the grant goes, the push Token stays; the account is 未授权.
    withdraw(sandbox, client, appid)
    assert stored(account.id) == {"push_token": token}
    assert auth_row(client, account) == "未授权"
    assert push_accepted(client, account, token)
    assert service.inspect_account(account.id).result == "not_checkable"
    assert findings(db_session, account, FindingKind.not_authorised)
    observed = probes.fetch_activity(probes.prepare_probe(account.id))  # 监测: nothing to call with either
    assert observed.error["code"] == "no_credentials", observed.error

    # A refresh that was under way during the withdrawal does not bring the grant back.
    refreshed(account, grant, "refreshtoken@@@late")
    db_session.commit()
    assert stored(account.id) == {"push_token": token}


def test_admin_appsecret_survives_the_grant_and_its_withdrawal(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    appid, uid = _appid(), f"gh_{uuid.uuid4().hex[:12]}"
    own = plant(sandbox, "wechat", uid, app_id=appid)
    account = make_account(unit, "wechat", uid=uid, credentials=False)
    mine = {"app_id": appid, "app_secret": own["app_secret"], "push_token": "tok"}
    set_credentials(account.id, mine)
    login(client, make_user(Role.operator, unit=unit))
    db_session.commit()
    assert auth_row(client, account) == "公众号开发者凭据（AppID 和 AppSecret）"

    pc_url, _ = start(client, account)
    assert client.get(scan(pc_url, uid)).status_code == 200
    assert stored(account.id) == {**mine, "refresh_token": stored(account.id)["refresh_token"], "via": "component"}
    assert auth_row(client, account) == "已通过第三方平台授权（另存有管理员设置的 AppSecret）"

    withdraw(sandbox, client, appid)
    assert stored(account.id) == mine
    assert auth_row(client, account) == "公众号开发者凭据（AppID 和 AppSecret）"
    assert service.inspect_account(account.id).result == "checked"  # with the account's own AppSecret


def test_incomplete_grant_is_named_as_such(app, db_session, unit, make_account, make_user, client):
    account = make_account(unit, "wechat", uid=_appid(), credentials=False)
    set_credentials(account.id, {"app_id": account.platform_uid, "via": "component"})
    admin = make_user(Role.admin, unit=unit)
    login(client, admin)
    db_session.commit()
    assert auth_row(client, account) == "第三方平台授权不完整（缺少刷新令牌），请重新授权"
    health = credential_health.test_connection(account, admin)
    assert health.check_ok is False and "第三方平台授权不完整" in (health.check_message or "")
    assert "AppSecret" not in (health.check_message or "")
