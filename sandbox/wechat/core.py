"""WeChat Official Account (微信公众号) under ``/wechat/cgi-bin/...`` (PROTOCOLS.md §1): the
blueprint, the error envelope, authentication, quotas and the endpoint opening (``WECHAT``).

Always HTTP 200 with the ``{"errcode", "errmsg"}`` envelope; the token goes in
``?access_token=``. Request bodies are JSON whatever the Content-Type header says (the real
API reads them so; maintained SDKs such as wechatpy send no ``Content-Type: application/json``).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.common import (
    get_state,
    post_url,
    sub_path,
)
from sandbox.endpoint import Dialect
from sandbox.faults import FaultHit, normalise
from sandbox.state import Account, App, SandboxState, Token

PLATFORM = "wechat"
PREFIX = "/wechat"
bp = Blueprint("sandbox_wechat", __name__, url_prefix=PREFIX)

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    45110: "author size out of limit",
    45166: "invalid content",
    47001: "data format error",
    48001: "api unauthorized",
    61004: "access clientip is not registered",
    61007: "api is unauthorized to component",
    48006: "forbid to clear quota because of reaching the limit",
    50002: "user limited",
    53500: "发布功能被封禁",
    53501: "请勿频繁请求",
    53502: "Publish ID 无效",
    53503: "该草稿未通过发布检查",
    53600: "Article ID 无效",
    76021: "cgi_path not found, please check",
}

FAULT_CODES: dict[str, int] = {
    "rate_limit": 45009,
    "rate_limit_minute": 45011,
    "server_error": -1,
    "token_expired": 42001,
    "content_rejected": 53503,
    "banned": 50002,
}

_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{20,}")
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_EVENT_ATTR = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)

_MATERIAL_RULES: dict[str, tuple[set[str], int, int]] = {
    # type: (extensions, max bytes, size error code)
    "image": ({"bmp", "png", "jpeg", "jpg", "gif"}, 10 * 1024 * 1024, 40009),
    "thumb": ({"jpg", "jpeg"}, 64 * 1024, 40009),
    "voice": ({"mp3", "wma", "wav", "amr"}, 2 * 1024 * 1024, 40010),
    "video": ({"mp4"}, 10 * 1024 * 1024, 40011),
}


class WxError(Exception):
    def __init__(self, code: int, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def _envelope(code: int, detail: str | None = None) -> dict[str, Any]:
    text = detail or ERRMSG.get(code, "error")
    return {"errcode": code, "errmsg": f"{text} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"}


@bp.errorhandler(WxError)
def _wx_error(err: WxError) -> Response:
    return jsonify(_envelope(err.code, err.detail))


def _fault_response(hit: FaultHit, path: str) -> Response:
    if hit.errcode is not None:
        return jsonify(_envelope(hit.errcode))
    name = normalise(path)
    if hit.error == "content_rejected":
        if name.endswith("freepublish/get"):
            rejected = _reject_job_from_request()
            if rejected is not None:
                return jsonify(rejected)
        if name.endswith("draft/add"):
            return jsonify(_envelope(45166))
    return jsonify(_envelope(FAULT_CODES[hit.error]))


def _reject_job_from_request() -> dict[str, Any] | None:
    state = get_state()
    body = _json_or_empty()
    with state.lock:
        job = state.jobs.get(str(body.get("publish_id", "")))
        if job is None:
            return None
        job.status = job.final_status = 4
        job.fail_idx = [1]
        post = state.post(PLATFORM, job.article_id)
        if post is not None:
            post.state = "rejected"
        state.dirty = True
        return {"publish_id": job.publish_id, "publish_status": 4, "fail_idx": [1]}


# ---- helpers ---------------------------------------------------------------------------
def _ok(**data: Any) -> Response:
    return jsonify({"errcode": 0, "errmsg": "ok", **data})


def _require_post() -> None:
    if request.method != "POST":
        raise WxError(43002)


def read_json() -> dict[str, Any]:
    """The JSON object body, parsed whatever the Content-Type header says; else 47001."""
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        raise WxError(47001) from None
    if not isinstance(body, dict):
        raise WxError(47001)
    return body


def _auth(state: SandboxState) -> Account:
    """The account of ``?access_token=`` (never a header or the body)."""
    value = request.args.get("access_token", "")
    if not value:
        raise WxError(41001)
    token = state.token(PLATFORM, value)
    if token is None:
        raise WxError(40001 if _TOKEN_SHAPE.fullmatch(value) else 40014)
    if token.revoked:
        raise WxError(40001)
    if token.expires_at is not None and state.now() >= token.expires_at:
        raise WxError(42001)
    return state.ensure_account(PLATFORM, token.uid)


def _require_usable(account: Account) -> None:
    if not account.usable:
        raise WxError(50002)


def _quota(state: SandboxState, account: Account, name: str) -> None:
    limit = state.config["wechat_daily_quota"].get(name)
    if limit is None:
        return
    key = _quota_key(state, account.uid, name)
    if state.count(key) >= limit:
        raise WxError(45009)
    state.bump(key)


def _quota_key(state: SandboxState, uid: str, name: str) -> str:
    return f"wechat:quota:{uid}:{name}:{state.day_key()}"


def _resolve_app(state: SandboxState, appid: str, secret: str) -> Account:
    if not appid:
        raise WxError(41002)
    if not secret:
        raise WxError(41004)
    auto = bool(state.config["auto_provision"])
    app = state.apps.get((PLATFORM, appid))
    if app is not None:
        if secret == app.client_secret or (auto and secret == f"sandbox:{app.uid}"):
            return state.ensure_account(PLATFORM, app.uid)
        raise WxError(40125)
    if auto and secret.startswith("sandbox:") and len(secret) > len("sandbox:"):
        uid = secret[len("sandbox:") :]
        state.apps[(PLATFORM, appid)] = App(PLATFORM, appid, secret, uid)
        account = state.ensure_account(PLATFORM, uid)
        account.credentials.setdefault("app_id", appid)
        state.dirty = True
        return account
    raise WxError(40013)


def _issue_token(state: SandboxState, account: Account, kind: str) -> Token:
    now = state.now()
    token = Token(
        value=secrets.token_urlsafe(96),
        platform=PLATFORM,
        uid=account.uid,
        kind=kind,
        issued_at=now,
        expires_at=now + int(state.config["wechat_token_ttl"]),
    )
    return state.add_token(token)


def register_app(state: SandboxState, account: Account, app_id: str, app_secret: str) -> None:
    """Used by /_sandbox/accounts: make (app_id, app_secret) log in as ``account``."""
    state.apps[(PLATFORM, app_id)] = App(PLATFORM, app_id, app_secret, account.uid)
    account.credentials.update(app_id=app_id, app_secret=app_secret)
    state.dirty = True


def article_url(post_id: str, idx: int) -> str:
    base = post_url(PLATFORM, post_id)
    return base if idx == 1 else f"{base}?idx={idx}"


def _json_or_empty() -> dict[str, Any]:
    try:
        return read_json()
    except WxError:
        return {}


def _authenticate(state: SandboxState, params: dict[str, Any], platform: str) -> tuple[Account, Token | None]:
    return _auth(state), None


def _require_method(method: str) -> None:
    if request.method != method:
        raise WxError(43002 if method == "POST" else 43001)


WECHAT = Dialect(
    name=PLATFORM,
    error=WxError,
    render_error=lambda err, platform: jsonify(_envelope(err.code, err.detail)),
    fault_path=lambda platform: sub_path(PREFIX),
    fault_response=lambda platform: _fault_response,
    require_method=_require_method,
    read_params=read_json,
    authenticate=_authenticate,
    require_usable=_require_usable,
    take_quota=_quota,
)
"""The opening of every WeChat endpoint; see ``sandbox.endpoint``."""
