"""The OAuth authorisation-code flow of Weibo, Douyin and Toutiao, as a pure protocol client.

``authorize_url`` builds the platform page the admin's browser goes to; ``exchange_code``
swaps the returned ``code`` for tokens and answers with the fields ``Credentials`` stores.
Paths: Weibo ``/oauth2/authorize`` and ``POST /oauth2/access_token`` (form; no refresh token
for web apps: PROTOCOLS.md §2); Douyin ``/platform/oauth/connect/`` and Toutiao
``/oauth/authorize/``, both ``POST /oauth/access_token/`` (form; PROTOCOLS.md §3, §4.1).
Imports only the platform layer; nothing here logs a token.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import urlencode

from platforms._bytedance import data_of, extract_error
from platforms.base import ChannelAdapter
from platforms.errors import CredentialsError, TransientError

OAUTH_PLATFORMS = ("weibo", "douyin", "toutiao")

AUTHORIZE_PATHS = {
    "weibo": "/oauth2/authorize",
    "douyin": "/platform/oauth/connect/",
    "toutiao": "/oauth/authorize/",
}

DEFAULT_SCOPES = {
    "weibo": "",
    "douyin": "user_info,video.create.bind,video.data.bind,video.list.bind,renew_refresh_token",
    "toutiao": "user_info,toutiao.video.create,toutiao.video.data,renew_refresh_token",
}


def authorize_url(
    platform: str, base_url: str, client_id: str, redirect_uri: str, state: str, *, scope: str | None = None
) -> str:
    """The platform's authorisation page for this app, coming back to ``redirect_uri`` with ``state``."""
    if platform not in AUTHORIZE_PATHS:
        raise ValueError(f"{platform} 不使用 OAuth 授权")
    scope = DEFAULT_SCOPES[platform] if scope is None else scope
    if platform == "weibo":
        query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state}
        if scope:
            query["scope"] = scope
    else:
        query = {
            "client_key": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": scope,
            "state": state,
        }
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATHS[platform]}?{urlencode(query)}"


def exchange_code(
    adapter: ChannelAdapter, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Swap ``code`` for tokens; returns the credential fields to store (never logged)."""
    now = time.time()
    if adapter.platform == "weibo":
        resp = adapter._request(
            "POST",
            "/oauth2/access_token",
            data={
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        body = adapter._json(resp)
        token = body.get("access_token")
        if not token:
            code_value = body.get("error_code") or resp.status_code
            raise CredentialsError(
                adapter.platform, code_value, "授权码无效或已过期，请重新授权", platform_message=body.get("error")
            )
        values: dict[str, Any] = {"access_token": str(token)}
        with contextlib.suppress(TypeError, ValueError):
            values["expires_at"] = int(now + float(body.get("expires_in") or ""))
        return values
    resp = adapter._request(
        "POST",
        "/oauth/access_token/",
        data={
            "client_key": client_id,
            "client_secret": client_secret,
            "code": code,
            "grant_type": "authorization_code",
        },
    )
    body = adapter._json(resp)
    err = extract_error(body)
    if err is not None:
        raise CredentialsError(
            adapter.platform, err[0], "授权码无效或应用凭据错误，请重新授权", platform_message=err[1]
        )
    data = data_of(body)
    if not data.get("access_token") or not data.get("open_id"):
        raise TransientError(adapter.platform, "invalid_response", "换取令牌的响应缺少 access_token 或 open_id")
    values = {
        "client_key": client_id,
        "client_secret": client_secret,
        "access_token": str(data["access_token"]),
        "open_id": str(data["open_id"]),
        "refresh_token": str(data.get("refresh_token") or ""),
        "renewals": 0,
    }
    if data.get("expires_in"):
        values["expires_at"] = int(now + float(data["expires_in"]))
    if data.get("refresh_expires_in"):
        values["refresh_expires_at"] = int(now + float(data["refresh_expires_in"]))
    return {k: v for k, v in values.items() if v not in ("", None)}
