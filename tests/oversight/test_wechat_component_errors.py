# ruff: noqa: F811 - the fixtures are imported and then requested
"""第三方平台 error codes as the admin meets them on the account page (测试连接), over HTTP against
the sandbox (faults with WeChat ``errcode``), real DB:

- 61007 (api is unauthorized to component: the 公众号 did not grant the 权限集) → re-authorise and
  tick the 权限集; the credentials need re-authorisation;
- 61004 (access clientip is not registered: our outbound IP is not in the office's 第三方平台
  whitelist), on a 第三方平台 call and on an ordinary one → the office's configuration, named as
  such; the account is NOT marked as needing re-authorisation;
- 48001 for a 公众号 authorised through the 第三方平台 → re-authorise with the 权限集, not 完成微信认证."""

from __future__ import annotations

import html
import uuid

import sqlalchemy as sa

from auth.models import Role
from platforms import channels
from platforms.models import AccountCredential
from tests.oversight.test_inspection import plant, unit  # noqa: F401 - fixture
from tests.oversight.test_inspection_wechat_component import component  # noqa: F401 - fixture
from tests.oversight.test_wechat_component_authorisation import login, ready, scan, start  # noqa: F401


def authorised(db_session, sandbox, client, unit, make_account, make_user):
    appid = "wx" + uuid.uuid4().hex[:16]
    account = make_account(unit, "wechat", uid=appid, credentials=False)
    plant(sandbox, "wechat", appid, app_id=appid)
    login(client, make_user(Role.admin, unit=unit))
    db_session.commit()
    pc_url, _ = start(client, account)
    assert client.get(scan(pc_url, appid)).status_code == 200
    return account, appid


def fault(sandbox, endpoint, errcode):
    body = {"platform": "wechat", "endpoint": endpoint, "error": "server_error", "errcode": errcode, "count": 1}
    sandbox.call("POST", "/_sandbox/faults", json=body)


def connection_test(client, db_session, account):
    """测试连接 on the account page; (the page's text, whether the credentials need re-authorisation)."""
    page = client.post(f"/publishing/accounts/{account.id}/credentials/test", follow_redirects=True)
    assert page.status_code == 200
    db_session.commit()
    row = db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id))
    return html.unescape(page.get_data(as_text=True)), row.needs_reauth


def test_61007_asks_to_reauthorise_with_the_scope(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    account, _ = authorised(db_session, sandbox, client, unit, make_account, make_user)
    fault(sandbox, "freepublish/batchget", 61007)
    text, needs_reauth = connection_test(client, db_session, account)
    assert "测试连接失败：公众号没有把该接口所需的权限集授权给本平台的第三方平台：请公众号管理员重新扫码授权" in text, (
        text
    )
    assert "勾选账号服务、群发与通知、素材管理等权限集" in text
    assert needs_reauth is True


def test_61004_is_the_offices_whitelist_not_the_accounts_grant(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    account, appid = authorised(db_session, sandbox, client, unit, make_account, make_user)
    # On the 第三方平台's own call (refreshing the authorizer token) …
    channels.adapter_for("wechat").token_store.delete(f"wechat:authorizer:token:{appid}")
    fault(sandbox, "component/api_authorizer_token", 61004)
    text, needs_reauth = connection_test(client, db_session, account)
    assert "测试连接失败：本平台服务器的出口 IP 不在网信办第三方平台的 IP 白名单中" in text, text
    assert "公众号不需要重新授权" in text and needs_reauth is False
    assert "需要重新授权或修正凭据" not in text
    # … and on an ordinary call made with the authorizer token.
    fault(sandbox, "freepublish/batchget", 61004)
    text, needs_reauth = connection_test(client, db_session, account)
    assert "IP 白名单" in text and needs_reauth is False
    # Fixed on the office's side: the next test passes, nothing to re-authorise.
    text, needs_reauth = connection_test(client, db_session, account)
    assert "测试连接成功" in text and needs_reauth is False


def test_48001_of_a_component_grant_advises_the_scope_not_verification(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    account, _ = authorised(db_session, sandbox, client, unit, make_account, make_user)
    fault(sandbox, "freepublish/batchget", 48001)
    text, _ = connection_test(client, db_session, account)
    assert (
        "测试连接失败：公众号没有给本平台该接口的权限：请公众号管理员重新扫码授权，并勾选群发与通知、素材管理等权限集"
        in text
    )
    assert "公众号没有给本平台发布接口的权限：请公众号管理员重新扫码授权" in text  # the 发布就绪状态's reason
    assert "完成微信认证" not in text
