"""WeChat access tokens: ``/cgi-bin/token`` and ``/cgi-bin/stable_token``.

stable_token (https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken.html):
normal mode returns the valid token (renewed 5 minutes before expiry); force mode invalidates
it, at most 20 times a day, and a force call less than 30 s after the last one "does not
refresh" — it answers the current token unchanged. POST JSON only.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from sandbox.endpoint import Call
from sandbox.state import Token
from sandbox.wechat.core import PLATFORM, WECHAT, WxError, _issue_token, _quota, _resolve_app, bp

#: Force refreshes allowed per AppID and day, and the spacing between them (seconds).
FORCE_PER_DAY = 20
FORCE_SPACING = 30


@bp.route("/cgi-bin/token", methods=["GET", "POST"])
@WECHAT.endpoint(method="GET", params=False, auth=False)
def token(call: Call) -> Response:
    state = call.state
    if request.args.get("grant_type") != "client_credential":
        raise WxError(40002)
    account = _resolve_app(state, request.args.get("appid", ""), request.args.get("secret", ""))
    _quota(state, account, "token")
    state.revoke_tokens(PLATFORM, account.uid, "wechat_token")
    issued = _issue_token(state, account, "wechat_token")
    return jsonify({"access_token": issued.value, "expires_in": int(state.config["wechat_token_ttl"])})


def _answer(issued: Token, now: float) -> Response:
    return jsonify({"access_token": issued.value, "expires_in": int((issued.expires_at or now) - now)})


@bp.route("/cgi-bin/stable_token", methods=["GET", "POST"])
@WECHAT.endpoint(auth=False)
def stable_token(call: Call) -> Response:
    state, body = call.state, call.params
    if body.get("grant_type") != "client_credential":
        raise WxError(40002)
    force = body.get("force_refresh") in (True, "true", 1)
    account = _resolve_app(state, str(body.get("appid") or ""), str(body.get("secret") or ""))
    now = state.now()
    current = [
        t
        for t in state.tokens.values()
        if t.platform == PLATFORM
        and t.uid == account.uid
        and t.kind == "wechat_stable"
        and not t.revoked
        and (t.expires_at or 0) > now
    ]
    newest = max(current, key=lambda t: t.issued_at, default=None)
    if force:
        day_key = f"wechat:stable_force:{account.uid}:{state.day_key()}"
        last_key = f"wechat:stable_force_at:{account.uid}"
        if state.count(day_key) >= FORCE_PER_DAY:
            raise WxError(45009)
        if newest is not None and now - state.count(last_key) < FORCE_SPACING:
            return _answer(newest, now)  # "否则不会刷新": the current token, unchanged
        state.bump(day_key)
        state.counters[last_key] = int(now)
        state.revoke_tokens(PLATFORM, account.uid, "wechat_stable")
    elif newest is not None and (newest.expires_at or 0) - now > 300:
        return _answer(newest, now)
    return _answer(_issue_token(state, account, "wechat_stable"), now)
