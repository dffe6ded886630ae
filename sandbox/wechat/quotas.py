"""WeChat quotas, account search and basic information: ``openapi/quota/get``, ``clear_quota``, ``_search``,
``account/getaccountbasicinfo``."""

from __future__ import annotations

from flask import Response, jsonify

from sandbox.common import search_accounts
from sandbox.endpoint import Call
from sandbox.wechat.core import (
    PLATFORM,
    WECHAT,
    WxError,
    _ok,
    _quota_key,
    bp,
)


@bp.route("/cgi-bin/openapi/quota/get", methods=["GET", "POST"])
@WECHAT.endpoint()
def quota_get(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    name = str(body.get("cgi_path") or "").strip()
    name = name.removeprefix("/cgi-bin/").removeprefix("cgi-bin/").strip("/")
    limit = state.config["wechat_daily_quota"].get(name)
    if limit is None:
        raise WxError(76021)
    used = state.count(_quota_key(state, account.uid, name))
    return _ok(quota={"daily_limit": limit, "used": used, "remain": max(limit - used, 0)})


@bp.route("/cgi-bin/clear_quota", methods=["GET", "POST"])
@WECHAT.endpoint()
def clear_quota(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    app = state.apps.get((PLATFORM, str(body.get("appid") or "")))
    if app is None or app.uid != account.uid:
        raise WxError(40013)
    month_key = f"wechat:clear_quota:{account.uid}:{state.month_key()}"
    if state.count(month_key) >= int(state.config["wechat_clear_quota_per_month"]):
        raise WxError(48006)
    state.bump(month_key)
    today = state.day_key()
    for key in [k for k in state.counters if k.startswith(f"wechat:quota:{account.uid}:")]:
        if key.endswith(today):
            del state.counters[key]
    return _ok()


@bp.route("/_search/accounts", methods=["GET"])
@WECHAT.endpoint(method="GET", params=False, auth=False)
def search(call: Call) -> Response:
    return search_accounts(PLATFORM)


@bp.route("/cgi-bin/account/getaccountbasicinfo", methods=["GET", "POST"])
@WECHAT.endpoint()
def account_basic_info(call: Call) -> Response:
    """The account's basic information as the official page lists it (getAccountBasicInfo, 权限集
    3 for 公众号): ``principal_name`` (主体名称), ``nickname``, ``wx_verify_info``. The sandbox
    answers it for any token of the account; a planted account's ``subject`` is its 主体."""

    account = call.account
    return jsonify(
        {
            "errcode": 0,
            "errmsg": "ok",
            "appid": account.credentials.get("app_id") or account.uid,
            "account_type": 2,
            "principal_type": 2,
            "principal_name": account.subject,
            "nickname": account.name,
            "wx_verify_info": {"qualification_verify": bool(account.verified), "naming_verify": bool(account.verified)},
            "customer_type": 2 if account.verified else 0,
        }
    )
