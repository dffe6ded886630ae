"""The 第三方平台 authorisation of a 公众号 (platforms/wechat_component.py), on ``component.bp``.

- ``POST /wechat/cgi-bin/component/api_create_preauthcode?component_access_token=`` {component_appid}
  → {pre_auth_code, expires_in: 1800};
- ``GET|POST /wechat/cgi-bin/componentloginpage`` (PC, the QR page) and
  ``/wechat/wxaopen/safe/bindcomponent`` (the phone link): the 公众号 "administrator" picks the
  account (``biz_appid``'s account preselected — the sandbox does not enforce it, so govmedia's own
  AppID check can be tested) and confirms → ``redirect_uri?auth_code=&expires_in=600``; an unknown or
  expired pre_auth_code → 400 page;
- ``POST /wechat/cgi-bin/component/api_query_auth`` {component_appid, authorization_code} →
  ``authorization_info`` {authorizer_appid, authorizer_access_token, expires_in,
  authorizer_refresh_token, func_info}; an unknown/used code → 61009, expired → 61010;
- ``POST /wechat/cgi-bin/component/api_authorizer_token`` {component_appid, authorizer_appid,
  authorizer_refresh_token} → a new authorizer_access_token (the refresh token unchanged); not
  authorised → 61003, a wrong refresh token → 61023;
- ``POST /_sandbox/wechat/component/unauthorize`` {component_appid, authorizer_appid, url?,
  create_time?} (``create_time``: the push's CreateTime, unix seconds, to test replays): the
  公众号 withdraws its authorisation — its tokens stop working — and the encrypted ``unauthorized``
  push is returned (``body``, ``query``) or POSTed to ``url``;
- ``POST /_sandbox/wechat/component/update-authorization`` {component_appid, authorizer_appid, url?,
  create_time?}:
  the 公众号 changes the 权限集 it granted; the ``updateauthorized`` push carries a new auth code.

Authorizer tokens are ordinary sandbox WeChat tokens of the account (kind ``wechat_authorizer``),
so every existing WeChat endpoint accepts them.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue

from sandbox.common import get_state, json_body
from sandbox.oauth_pages import consent_page
from sandbox.state import Account, App, SandboxState
from sandbox.wechat.component import (
    Component,
    bad,
    bp,
    component_for_token,
    deliver,
    fail,
    mark_dirty,
    sealed_push,
    store,
)
from sandbox.wechat.core import PLATFORM, _issue_token

PRE_AUTH_TTL = 1800
AUTH_CODE_TTL = 600
#: 消息管理, 用户管理, 账号服务, 群发与通知, 素材管理, 菜单管理
FUNC_IDS = (1, 2, 3, 7, 11, 15)
KIND = "wechat_authorizer"


def appid_of(state: SandboxState, uid: str) -> str:
    """The AppID of a sandbox 公众号: the one it logged in with, else a stable one made up (and
    registered, so AppID and account stay tied)."""
    for (platform, appid), app in state.apps.items():
        if platform == PLATFORM and app.uid == uid:
            return appid
    account = state.account(PLATFORM, uid)
    appid = str(account.credentials.get("app_id") or "") if account is not None else ""
    if not appid:
        appid = uid if uid.startswith("wx") else "wx" + hashlib.md5(uid.encode()).hexdigest()[:16]  # noqa: S324
    state.apps.setdefault((PLATFORM, appid), App(PLATFORM, appid, secrets.token_hex(16), uid))
    state.dirty = True
    return appid


def _account_of(state: SandboxState, appid: str) -> Account | None:
    app = state.apps.get((PLATFORM, appid))
    return state.account(PLATFORM, app.uid) if app is not None else None


def _grant_token(state: SandboxState, account: Account) -> tuple[str, int]:
    state.revoke_tokens(PLATFORM, account.uid, KIND)
    token = _issue_token(state, account, KIND)
    return token.value, int(state.config["wechat_token_ttl"])


@bp.route("/wechat/cgi-bin/component/api_create_preauthcode", methods=["POST"])
def create_preauthcode() -> Response:
    comp = component_for_token()
    if comp is None:
        return fail(40001)
    code = "preauthcode@@@" + secrets.token_urlsafe(24)
    with store().lock:
        now = time.time()
        comp.pre_auth_codes = {k: v for k, v in comp.pre_auth_codes.items() if v > now}
        comp.pre_auth_codes[code] = now + PRE_AUTH_TTL
    mark_dirty()
    return jsonify({"pre_auth_code": code, "expires_in": PRE_AUTH_TTL})


def _login_page(error: str, params: Any, accounts: list[dict[str, str]], status: int = 200) -> ResponseReturnValue:
    return consent_page(
        PLATFORM, error=error, params=params, accounts=accounts, client_field="component_appid", status=status
    )


@bp.route("/wechat/cgi-bin/componentloginpage", methods=["GET", "POST"])
@bp.route("/wechat/wxaopen/safe/bindcomponent", methods=["GET", "POST"])
def login_page() -> ResponseReturnValue:
    params = request.values
    redirect_uri = params.get("redirect_uri", "")
    with store().lock:
        comp = store().components.get(params.get("component_appid", ""))
        expiry = comp.pre_auth_codes.get(params.get("pre_auth_code", "")) if comp is not None else None
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _login_page("redirect_uri 无效", {}, [], 400)
    if comp is None or expiry is None or expiry <= time.time():
        return _login_page("授权链接无效或已过期（pre_auth_code），请回到第三方平台重新生成授权链接", {}, [], 400)
    state = get_state()
    if request.method == "POST":
        uid = (params.get("uid_custom") or params.get("uid") or "").strip()
        if not uid:
            return _login_page("请选择要授权的公众号", params, [], 400)
        with state.lock:
            state.ensure_account(PLATFORM, uid)
            appid = appid_of(state, uid)
        return redirect(_authorised(comp, params.get("pre_auth_code", ""), appid, redirect_uri))
    with state.lock:
        accounts = sorted(state.platform_accounts(PLATFORM), key=lambda a: a.uid)
        rows = [{"uid": a.uid, "name": a.name, "status": a.status, "appid": appid_of(state, a.uid)} for a in accounts]
    biz = params.get("biz_appid", "")
    rows.sort(key=lambda r: r["appid"] != biz)  # the linked account first (preselected)
    return _login_page("", params, rows)


def _authorised(comp: Component, pre_auth_code: str, appid: str, redirect_uri: str) -> str:
    code = "queryauthcode@@@" + secrets.token_urlsafe(24)
    with store().lock:
        comp.pre_auth_codes.pop(pre_auth_code, None)
        comp.authorizers = [*(a for a in comp.authorizers if a != appid), appid]
        comp.auth_codes[code] = [appid, time.time() + AUTH_CODE_TTL]
    mark_dirty()
    separator = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{separator}{urlencode({'auth_code': code, 'expires_in': AUTH_CODE_TTL})}"


@bp.route("/wechat/cgi-bin/component/api_query_auth", methods=["POST"])
def query_auth() -> Response:
    body = json_body() or {}
    comp = component_for_token()
    if comp is None:
        return fail(40001)
    with store().lock:
        record = comp.auth_codes.pop(str(body.get("authorization_code") or ""), None)
    if record is None:
        return fail(61009)
    appid, expires_at = str(record[0]), float(record[1])
    if expires_at <= time.time():
        return fail(61010)
    state = get_state()
    with state.lock:
        account = _account_of(state, appid)
        if account is None or appid not in comp.authorizers:
            return fail(61003)
        token, ttl = _grant_token(state, account)
    refresh = "refreshtoken@@@" + secrets.token_urlsafe(24)
    with store().lock:
        comp.refresh_tokens = {k: v for k, v in comp.refresh_tokens.items() if v != appid}
        comp.refresh_tokens[refresh] = appid
    mark_dirty()
    return jsonify(
        {
            "authorization_info": {
                "authorizer_appid": appid,
                "authorizer_access_token": token,
                "expires_in": ttl,
                "authorizer_refresh_token": refresh,
                "func_info": [{"funcscope_category": {"id": i}} for i in FUNC_IDS],
            }
        }
    )


@bp.route("/wechat/cgi-bin/component/api_authorizer_token", methods=["POST"])
def authorizer_token() -> Response:
    body = json_body() or {}
    comp = component_for_token()
    if comp is None:
        return fail(40001)
    appid = str(body.get("authorizer_appid") or "")
    refresh = str(body.get("authorizer_refresh_token") or "")
    with store().lock:
        if appid not in comp.authorizers:
            return fail(61003)
        if comp.refresh_tokens.get(refresh) != appid:
            return fail(61023)
    state = get_state()
    with state.lock:
        account = _account_of(state, appid)
        if account is None:
            return fail(61003)
        token, ttl = _grant_token(state, account)
    mark_dirty()
    return jsonify({"authorizer_access_token": token, "expires_in": ttl, "authorizer_refresh_token": refresh})


@bp.route("/_sandbox/wechat/component/update-authorization", methods=["POST"])
def update_authorization() -> Response:
    body = json_body() or {}
    appid = str(body.get("authorizer_appid") or "")
    with store().lock:
        comp = store().components.get(str(body.get("component_appid") or ""))
        if comp is None or appid not in comp.authorizers or not (comp.token and comp.aes_key):
            return bad("该公众号尚未授权这个第三方平台")
        code = "queryauthcode@@@" + secrets.token_urlsafe(24)
        comp.auth_codes[code] = [appid, time.time() + AUTH_CODE_TTL]
    mark_dirty()
    push = sealed_push(
        comp,
        "updateauthorized",
        body.get("create_time"),
        AuthorizerAppid=appid,
        AuthorizationCode=code,
        AuthorizationCodeExpiredTime=str(int(time.time()) + AUTH_CODE_TTL),
    )
    return jsonify(deliver(push, body.get("url")))


@bp.route("/_sandbox/wechat/component/unauthorize", methods=["POST"])
def unauthorize() -> Response:
    body = json_body() or {}
    appid = str(body.get("authorizer_appid") or "")
    with store().lock:
        comp = store().components.get(str(body.get("component_appid") or ""))
        if comp is None or not appid or not (comp.token and comp.aes_key):
            return bad("先推送 ticket 注册第三方平台，并提供 authorizer_appid")
        comp.authorizers = [a for a in comp.authorizers if a != appid]
        comp.refresh_tokens = {k: v for k, v in comp.refresh_tokens.items() if v != appid}
    state = get_state()
    with state.lock:
        account = _account_of(state, appid)
        if account is not None:
            state.revoke_tokens(PLATFORM, account.uid, KIND)
    mark_dirty()
    push = sealed_push(comp, "unauthorized", body.get("create_time"), AuthorizerAppid=appid)
    return jsonify(deliver(push, body.get("url")))
