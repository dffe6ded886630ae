"""The browser step of OAuth (authorize page → ``code``) shared by Weibo, Douyin and Toutiao.

Codes live 10 minutes and work once. With auto-provision on, the code
``sandbox.<uid>`` is accepted too, so tests can skip the browser step.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from flask import redirect, render_template, request
from flask.typing import ResponseReturnValue

from sandbox.common import get_state
from sandbox.state import AuthCode, SandboxState

CODE_TTL = 600
PLATFORM_NAMES = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "toutiao": "今日头条"}


def issue_code(state: SandboxState, platform: str, uid: str, client_key: str, redirect_uri: str) -> str:
    code = secrets.token_hex(16)
    state.codes[code] = AuthCode(
        code=code,
        platform=platform,
        uid=uid,
        client_key=client_key,
        redirect_uri=redirect_uri,
        expires_at=state.now() + CODE_TTL,
    )
    state.dirty = True
    return code


def take_code(state: SandboxState, platform: str, code: str, client_key: str, redirect_uri: str | None) -> str | None:
    """The uid a code was issued for (and mark it used), or None if invalid/expired/used."""
    if code.startswith("sandbox.") and len(code) > len("sandbox.") and state.config["auto_provision"]:
        return code[len("sandbox.") :]
    record = state.codes.get(code)
    if record is None or record.platform != platform or record.used or state.now() >= record.expires_at:
        return None
    if redirect_uri is not None and record.redirect_uri and record.redirect_uri != redirect_uri:
        return None
    record.used = True
    state.dirty = True
    return record.uid


def consent_page(
    platform: str, *, error: str, params: object, accounts: list[dict[str, str]], client_field: str, status: int = 200
) -> ResponseReturnValue:
    html = render_template(
        "authorize.html",
        error=error,
        platform=platform,
        platform_name=PLATFORM_NAMES[platform],
        accounts=accounts,
        params=params,
        client_field=client_field,
    )
    return html, status


def authorize_page(platform: str, client_field: str) -> ResponseReturnValue:
    """GET shows a consent page listing the platform's accounts; POST redirects with ``code``."""
    state = get_state()
    params = request.values
    redirect_uri = params.get("redirect_uri", "")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return consent_page(
            platform, error="redirect_uri 无效", params={}, accounts=[], client_field=client_field, status=400
        )
    if request.method == "POST":
        uid = (params.get("uid_custom") or params.get("uid") or "").strip()
        if not uid:
            return consent_page(
                platform, error="请选择或填写账号", params=params, accounts=[], client_field=client_field, status=400
            )
        with state.lock:
            state.ensure_account(platform, uid)
            code = issue_code(state, platform, uid, params.get(client_field, ""), redirect_uri)
        query = {"code": code}
        if params.get("state"):
            query["state"] = params["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{separator}{urlencode(query)}")
    with state.lock:
        accounts = sorted(state.platform_accounts(platform), key=lambda a: a.uid)
        rows = [{"uid": a.uid, "name": a.name, "status": a.status} for a in accounts]
    return consent_page(platform, error="", params=params, accounts=rows, client_field=client_field)
