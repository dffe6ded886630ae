"""Authorising an account the way users do it: OAuth from the account page, and the WeChat
AppID/AppSecret form with an immediate connection test.

OAuth (Weibo, Douyin, Toutiao): ``start`` makes a one-use random ``state`` bound to the admin,
the account and the platform (kept in the signed session, 10 minutes), and returns the
platform's authorisation page; ``finish`` (the callback) checks the state (CSRF), swaps the
code for tokens (``platforms.oauth``) and stores them encrypted through
``credential_admin.set_credentials`` — values never shown, logged or audited (field names only).
Both steps are audited. A reconnect keeps what the new grant does not replace (``merge_keep``).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import current_app, session, url_for

from audit import service as audit
from common.errors import ApiError, Invalid
from platforms import channels, credentials
from platforms import oauth as protocol
from platforms.errors import AdapterError
from platforms.types import Credentials
from publishers import credential_admin, credential_health
from registry.models import Account

STATE_TTL = 600
SESSION_KEY = "oauth_states"
#: kept from the stored credentials when a reconnect does not bring a new value
KEEP_FIELDS = ("refresh_token", "refresh_expires_at", "renewals")


class BadState(ApiError):
    """The callback's state is missing, unknown, expired, used, or someone else's: 400."""

    status_code = 400


def callback_url(platform: str) -> str:
    return url_for("publishing_accounts.oauth_callback", platform=platform, _external=True)


def start(account: Account, user: Any) -> str:
    """The platform's authorisation URL for ``account``; records the state and an audit entry."""
    platform = account.platform.value
    if platform not in protocol.OAUTH_PLATFORMS:
        raise Invalid("该平台不使用 OAuth 授权", code="no_oauth", details={"platform": platform})
    client = current_app.config["OAUTH_CLIENTS"][platform]
    state = new_state(account, user, platform)
    audit.record(
        "account:oauth:start", object_type="accounts", object_id=account.id, after={"platform": platform}, actor=user
    )
    return protocol.authorize_url(
        platform,
        current_app.config["PLATFORM_BASE_URLS"][platform],
        client["client_id"],
        callback_url(platform),
        state,
    )


def new_state(account: Account, user: Any, flow: str) -> str:
    """A one-use random state for ``flow`` (a platform, or ``wechat_component``) bound to the user
    and the account, kept in the signed session for STATE_TTL seconds."""
    state = secrets.token_urlsafe(24)
    now = time.time()
    states = {k: v for k, v in (session.get(SESSION_KEY) or {}).items() if now - v.get("at", 0) < STATE_TTL}
    states[state] = {"account_id": account.id, "user_id": user.id, "platform": flow, "at": now}
    session[SESSION_KEY] = states
    return state


def take_state(platform: str, state: str | None, user: Any) -> int:
    """The account id the state was issued for; the state is used up. Raises BadState."""
    states = dict(session.get(SESSION_KEY) or {})
    record = states.pop(state or "", None)
    session[SESSION_KEY] = states
    if (
        record is None
        or record.get("platform") != platform
        or record.get("user_id") != user.id
        or time.time() - float(record.get("at", 0)) >= STATE_TTL
    ):
        raise BadState("授权请求无效或已过期（state 校验失败），请回到账号页重新发起授权", code="bad_state")
    return int(record["account_id"])


def merge_keep(account_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` plus the stored refresh token (and its expiry and renewal count) where the new
    values bring none, for the same app and user: a reconnect never drops a working refresh token."""
    try:
        stored = credentials.get_credentials(account_id)
    except credentials.CredentialsUnavailable:
        return values
    same_grant = all(stored.get(k) == values.get(k) for k in ("client_key", "open_id") if values.get(k))
    if not same_grant or values.get("refresh_token"):
        return values
    return {**values, **{k: stored[k] for k in KEEP_FIELDS if k in stored and k not in values}}


def finish(account: Account, code: str, user: Any) -> credential_health.Health:
    """Swap ``code`` for tokens, store them encrypted, test them; the caller commits."""
    platform = account.platform.value
    client = current_app.config["OAUTH_CLIENTS"][platform]
    adapter = channels.adapter_for(platform)
    try:
        values = protocol.exchange_code(
            adapter, client["client_id"], client["client_secret"], code, callback_url(platform)
        )
    except AdapterError as exc:
        audit.record(
            "account:oauth:failed",
            object_type="accounts",
            object_id=account.id,
            after={"platform": platform, "code": exc.code},
            actor=user,
        )
        raise Invalid(
            f"平台拒绝了授权：{exc.message}", code="oauth_failed", details={"platform_code": exc.code}
        ) from exc
    credential_admin.set_credentials(account.id, merge_keep(account.id, values), actor=user)
    audit.record(
        "account:oauth:done", object_type="accounts", object_id=account.id, after={"platform": platform}, actor=user
    )
    return credential_health.test_connection(account, user)


def set_wechat_app(account: Account, app_id: str, app_secret: str, user: Any) -> credential_health.Health:
    """The WeChat AppID/AppSecret form: clean, store encrypted, test at once. The caller commits."""
    if account.platform.value != "wechat":
        raise Invalid("只有微信公众号使用 AppID/AppSecret", code="not_wechat")
    values = credential_admin.clean("wechat", {"app_id": app_id, "app_secret": app_secret})
    credential_admin.set_credentials(account.id, values, actor=user)
    # A new AppSecret must not meet an access token cached for the old one.
    adapter = channels.adapter_for("wechat")
    adapter.token_store.delete(adapter._token_key(Credentials(app_id=values["app_id"])))  # type: ignore[attr-defined]
    return credential_health.test_connection(account, user)
