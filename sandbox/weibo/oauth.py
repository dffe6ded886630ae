"""Weibo OAuth2: ``oauth2/authorize`` (the consent page), ``access_token``, ``get_token_info``."""

from __future__ import annotations

import secrets

from flask import Response, jsonify
from flask.typing import ResponseReturnValue

from sandbox.endpoint import Call
from sandbox.oauth_pages import authorize_page, take_code
from sandbox.state import Token
from sandbox.weibo.core import (
    PLATFORM,
    WEIBO,
    WbError,
    _uid_value,
    bp,
)


@bp.route("/oauth2/authorize", methods=["GET", "POST"])
@WEIBO.endpoint(method=None, params=False, auth=False)
def authorize(call: Call) -> ResponseReturnValue:
    return authorize_page(PLATFORM, client_field="client_id")


@bp.route("/oauth2/access_token", methods=["GET", "POST"])
@WEIBO.endpoint(auth=False)
def access_token(call: Call) -> Response:
    state, params = call.state, call.params
    for name in ("client_id", "client_secret", "grant_type", "code", "redirect_uri"):
        if not params.get(name):
            raise WbError(21323, text=f"invalid_request: miss {name}")
    if params["grant_type"] != "authorization_code":
        raise WbError(21328)
    uid = take_code(state, PLATFORM, str(params["code"]), str(params["client_id"]), str(params["redirect_uri"]))
    if uid is None:
        raise WbError(21325)
    account = state.ensure_account(PLATFORM, uid)
    ttl = int(state.config["weibo_token_ttl"])
    token = state.add_token(
        Token(
            value="2.00" + secrets.token_hex(16),
            platform=PLATFORM,
            uid=account.uid,
            kind="weibo",
            issued_at=state.now(),
            expires_at=state.now() + ttl,
            client_key=str(params["client_id"]),
        )
    )
    return jsonify(
        {
            "access_token": token.value,
            "expires_in": ttl,
            "remind_in": str(ttl),
            "uid": account.uid,
            "isRealName": "true",
        }
    )


@bp.route("/oauth2/get_token_info", methods=["GET", "POST"])
@WEIBO.endpoint()
def get_token_info(call: Call) -> Response:
    state, account, token = call.state, call.account, call.token  # Weibo's authentication returns the token
    expire_in = int(token.expires_at - state.now()) if token.expires_at is not None else 10 * 365 * 86400
    return jsonify(
        {
            "uid": _uid_value(account.uid),
            "appkey": token.client_key or "sandbox",
            "scope": "",
            "create_at": int(token.issued_at),
            "expire_in": expire_in,
        }
    )
