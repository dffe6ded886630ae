# ruff: noqa: F811 - the unit fixture is imported and then requested
"""认证主体 of a 公众号 through the office's 第三方平台 (api_get_authorizer_info, the call the
documentation supports; getaccountbasicinfo lists only an authorizer_access_token): the sandbox
pushes an encrypted component_verify_ticket to govmedia's 授权事件接收 URL, the adapter turns it
into a component token and reads ``principal_name``. Twins: a push with a bad signature is refused
and stores nothing; without the account's authorisation the adapter falls back (and, with the
fallback failing, the profile simply has no 主体)."""

from __future__ import annotations

import pytest

from oversight.inspection import service
from oversight.models import FindingKind
from platforms import channels, wechat_component
from platforms.credentials import get_credentials
from tests.oversight.test_inspection import findings, plant, unit  # noqa: F401 - fixture

COMPONENT = {
    "component_appid": "wxcomponent0001",
    "component_appsecret": "sandbox-component-secret",
    "component_token": "govmedia-component-token",
    "component_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
#: the sandbox's ``push-ticket`` request for COMPONENT (WeChat pushes a ticket every 10 minutes)
TICKET_PUSH = {
    "component_appid": COMPONENT["component_appid"],
    "component_appsecret": COMPONENT["component_appsecret"],
    "token": COMPONENT["component_token"],
    "aes_key": COMPONENT["component_aes_key"],
}

# The official page's response sample (…/oplatform/openApi/authorization-management/
# api_getauthorizerinfo), the fields this code reads.
DOCUMENTED = {
    "authorizer_info": {
        "nick_name": "微信SDK Demo Special",
        "head_img": "http://wx.qlogo.cn/mmopen/GPy",
        "service_type_info": {"id": 2},
        "verify_type_info": {"id": 0},
        "user_name": "gh_eb5e3a772040",
        "principal_name": "腾讯计算机系统有限公司",
        "alias": "paytest01",
        "business_info": {"open_store": 0, "open_scan": 0, "open_pay": 0, "open_card": 0, "open_shake": 0},
        "qrcode_url": "URL",
        "signature": "时间的水缓缓流去",
    },
    "authorization_info": {"authorizer_appid": "wxf8b4f85f3a794e77", "func_info": [{"funcscope_category": {"id": 1}}]},
}


def test_documented_sample_parses():
    info = wechat_component.parse_authorizer_info(DOCUMENTED)
    assert info == wechat_component.AuthorizerInfo(
        name="微信SDK Demo Special",
        subject="腾讯计算机系统有限公司",
        verified=True,
        user_name="gh_eb5e3a772040",
        alias="paytest01",
    )
    unverified = {"authorizer_info": {**DOCUMENTED["authorizer_info"], "verify_type_info": {"id": -1}}}
    assert wechat_component.parse_authorizer_info(unverified).verified is False


@pytest.fixture
def component(app, sandbox, monkeypatch):
    adapter = channels.adapter_for("wechat")
    for key, value in COMPONENT.items():
        monkeypatch.setitem(adapter.options, key, value)
    return adapter


def push_ticket(sandbox, client, *, tamper=False):
    pushed = sandbox.call("POST", "/_sandbox/wechat/component/push-ticket", json=TICKET_PUSH)
    query = dict(pushed["query"])
    if tamper:
        query["msg_signature"] = "0" * 40
    return pushed, client.post("/interaction/push/wechat/component", query_string=query, data=pushed["body"])


def test_subject_through_the_component_and_its_twins(
    app,
    db_session,
    sandbox,
    unit,
    make_account,
    component,
    client,
):
    account = make_account(unit, "wechat", name=unit.name)
    plant(sandbox, "wechat", account.platform_uid, name=unit.name, subject="某县文化传媒有限公司")
    app_id = get_credentials(account.id)["app_id"]
    service.inspect_account(account.id)  # the account's own token logs in once (the sandbox learns its AppID)
    # getaccountbasicinfo on the account's own token fails from now on: only the component can tell the 主体.
    sandbox.call(
        "POST",
        "/_sandbox/faults",
        json={
            "platform": "wechat",
            "endpoint": "account/getaccountbasicinfo",
            "error": "content_rejected",
            "count": 50,
        },
    )

    # A forged push is refused and stores no ticket.
    _, refused = push_ticket(sandbox, client, tamper=True)
    assert refused.status_code == 403
    assert wechat_component.subject_of(component, app_id) is None

    # The real push: ticket kept; but the 公众号 has not authorised the component yet → no 主体.
    _, accepted = push_ticket(sandbox, client)
    assert accepted.status_code == 200 and accepted.get_data(as_text=True) == "success"
    assert wechat_component.subject_of(component, app_id) is None  # 61003, not authorised

    sandbox.call(
        "POST",
        "/_sandbox/wechat/component/authorize",
        json={"component_appid": COMPONENT["component_appid"], "authorizer_appid": app_id},
    )
    info = wechat_component.subject_of(component, app_id)
    assert info is not None and info.subject == "某县文化传媒有限公司" and info.verified is True
    outcome = service.inspect_account(account.id)
    assert outcome.result == "checked"
    (f,) = findings(db_session, account, FindingKind.subject_mismatch)
    assert f.evidence["subject"] == "某县文化传媒有限公司"
