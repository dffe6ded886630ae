"""ByteDance OAuth on both platforms: the consent page, ``access_token``, ``refresh_token``,
``renew_refresh_token``, ``client_token`` and ``userinfo`` (codes 100xx, the ``oauth`` style)."""

from __future__ import annotations

from flask import Response, request
from flask.typing import ResponseReturnValue

from sandbox.common import all_params, json_body
from sandbox.douyin.core import (
    PLATFORMS,
    SCOPES,
    BdError,
    _access_token,
    _check_client,
    _new_token,
    _refresh_token,
    _token_pair,
    _usable,
    reply,
    route,
)
from sandbox.endpoint import Call
from sandbox.oauth_pages import authorize_page, take_code


@route(("douyin",), "/platform/oauth/connect/", "authorize", ["GET", "POST"], auth=False)
@route(("toutiao",), "/oauth/authorize/", "authorize", ["GET", "POST"], auth=False)
def authorize(call: Call) -> ResponseReturnValue:
    return authorize_page(call.platform, client_field="client_key")


def _form(*names: str) -> dict[str, str]:
    values = {name: request.form.get(name, "") for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise BdError("missing_param", f"缺少参数{missing[0]}")
    return values


@route(PLATFORMS, "/oauth/access_token/", "access_token", ["POST"], auth=False)
def access_token(call: Call) -> Response:
    state, platform = call.state, call.platform
    form = _form("client_key", "client_secret", "code", "grant_type")
    if form["grant_type"] != "authorization_code":
        raise BdError("bad_param", "grant_type 必须是 authorization_code")
    _check_client(state, platform, form["client_key"], form["client_secret"])
    uid = take_code(state, platform, form["code"], form["client_key"], None)
    if uid is None:
        raise BdError("code_invalid")
    state.ensure_account(platform, uid)
    access, refresh = _token_pair(state, platform, uid, form["client_key"])
    return reply(
        platform,
        {
            "access_token": access.value,
            "expires_in": int(state.config["douyin_access_ttl"]),
            "open_id": uid,
            "refresh_token": refresh.value,
            "refresh_expires_in": int(state.config["douyin_refresh_ttl"]),
            "scope": SCOPES[platform],
        },
    )


@route(PLATFORMS, "/oauth/refresh_token/", "refresh_token", ["POST"], auth=False)
def refresh_token(call: Call) -> Response:
    state, platform = call.state, call.platform
    form = _form("client_key", "grant_type", "refresh_token")
    if form["grant_type"] != "refresh_token":
        raise BdError("bad_param", "grant_type 必须是 refresh_token")
    _check_client(state, platform, form["client_key"], None)
    refresh = _refresh_token(state, platform, form["refresh_token"])
    ttl = int(state.config["douyin_access_ttl"])
    access = _new_token(state, platform, refresh.uid, "access", ttl=ttl, client_key=form["client_key"])
    remaining = (
        int(refresh.expires_at - state.now())
        if refresh.expires_at is not None
        else int(state.config["douyin_refresh_ttl"])
    )
    return reply(
        platform,
        {
            "access_token": access.value,
            "expires_in": ttl,
            "open_id": refresh.uid,
            "refresh_token": refresh.value,
            "refresh_expires_in": remaining,
            "scope": SCOPES[platform],
        },
    )


@route(PLATFORMS, "/oauth/renew_refresh_token/", "renew_refresh_token", ["POST"], auth=False)
def renew_refresh_token(call: Call) -> Response:
    state, platform = call.state, call.platform
    form = _form("client_key", "refresh_token")
    _check_client(state, platform, form["client_key"], None)
    old = _refresh_token(state, platform, form["refresh_token"])
    if old.renewals >= int(state.config["douyin_max_renewals"]):
        raise BdError("renew_limit")
    old.revoked = True
    ttl = int(state.config["douyin_refresh_ttl"])
    new = _new_token(
        state, platform, old.uid, "refresh", ttl=ttl, client_key=form["client_key"], renewals=old.renewals + 1
    )
    return reply(platform, {"refresh_token": new.value, "expires_in": ttl})


@route(PLATFORMS, "/oauth/client_token/", "client_token", ["POST"], auth=False)
def client_token(call: Call) -> Response:
    state, platform = call.state, call.platform
    # The client_token page fixes content-type "application/json" (unlike access_token,
    # whose page insists on a form): a JSON object body is required, a form is refused.
    body = json_body()
    if body is None:
        raise BdError("bad_param", "请求体必须是 JSON（content-type: application/json）")
    form = {name: str(body.get(name) or "") for name in ("client_key", "client_secret", "grant_type")}
    missing = [name for name, value in form.items() if not value]
    if missing:
        raise BdError("bad_param", f"缺少参数{missing[0]}")
    if form["grant_type"] != "client_credential":
        raise BdError("bad_param", "grant_type 必须是 client_credential")
    _check_client(state, platform, form["client_key"], form["client_secret"])
    soon = state.now() + 300
    for token in state.tokens.values():
        if (
            token.platform == platform
            and token.kind == "client"
            and token.client_key == form["client_key"]
            and (token.expires_at or 0) > soon
        ):
            token.expires_at = soon
    ttl = int(state.config["douyin_client_ttl"])
    token = _new_token(state, platform, "", "client", ttl=ttl, client_key=form["client_key"])
    return reply(platform, {"access_token": token.value, "expires_in": ttl})


@route(PLATFORMS, "/oauth/userinfo/", "userinfo", ["GET", "POST"], auth=False)
def userinfo(call: Call) -> Response:
    state, platform = call.state, call.platform
    params = all_params()
    value = str(params.get("access_token") or request.headers.get("access-token", ""))
    open_id = str(params.get("open_id") or "")
    token = _access_token(state, platform, value)
    if not open_id:
        raise BdError("missing_param", "缺少参数open_id")
    if token.uid != open_id:
        raise BdError("mismatch")
    account = _usable(state.ensure_account(platform, open_id))
    return reply(
        platform,
        {
            "open_id": account.uid,
            "union_id": f"union-{account.uid}",
            "nickname": account.name,
            "avatar": "",
            "avatar_larger": "",
            "e_account_role": "EAccountK" if account.verified else "",
        },
    )


@route(("douyin",), "/dy_open_api/v1/user/cert_labels_info/", "cert_labels_info", ["GET"])
def cert_labels_info(call: Call) -> Response:
    """获取用户的抖音身份认证标识: ``{"err_no":0,"data":{"CertLabelInfo":{"LabelStyle","LabelText"}}}``
    (the page's printed sample). The sandbox shows a verified account's 认证主体 as the label text
    (LabelStyle 1; an unverified one: 0 and ""). ``douyin_cert_labels: false`` in the sandbox config
    stands for an app without the ``user.cert.labels_info`` capability: 28001018."""
    if not call.state.config["douyin_cert_labels"]:
        raise BdError("no_capability")
    account = call.account
    text = account.subject if account.verified and account.subject else ""
    return reply(call.platform, {"CertLabelInfo": {"LabelStyle": 1 if text else 0, "LabelText": text}})
