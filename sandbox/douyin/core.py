"""Douyin (``/douyin``) and Toutiao (``/toutiao``): the ByteDance open platform (PROTOCOLS.md §3–4).

This module holds what both share: codes, envelopes, tokens, the three blueprints and the
endpoint opening (``BYTEDANCE``, one ``Dialect`` serving both platforms); the routes are in
``oauth``, ``content``, ``chunked`` and ``articles``.

Both answer HTTP 200 and share OAuth (form-encoded, ``act.``/``rft.``/``clt.`` tokens,
at most ``douyin_max_renewals`` refresh-token renewals) and the content model. What differs
is where the token goes and the envelope:

==========  ===============================================  ==========================================
style       endpoints                                        envelope / codes
==========  ===============================================  ==========================================
``new``     Douyin ``/api/douyin/v1/...`` (``access-token``  ``{"err_no","err_msg","log_id","data"}``,
            header, ``?open_id=``)                           codes 28001xxx
``legacy``  Douyin ``/video/*``, ``/image/*`` (token and     ``{"data":{…,"error_code","description"},
            open_id in the query)                            "extra":{…}}``, codes 2190xxx/2100xxx
``toutiao`` Toutiao ``/toutiao/video/*`` and the legacy      ``{"data":{…,"error_code","description"},
            article endpoint (token and open_id in query)    "message"}``, codes 28001xxx
``oauth``   ``/oauth/*`` on both                             as ``toutiao``, OAuth codes 100xx
``userinfo`` ``/oauth/userinfo/``                            both envelopes at once, codes 28001xxx
==========  ===============================================  ==========================================

Douyin's chunked video upload (PROTOCOLS.md §3a) is ``init_video_part_upload/`` →
``upload_video_part/?upload_id=&part_number=`` (multipart ``video``, parts numbered from 1 and
sent in order; re-sending an already received part replaces it) → ``complete_video_part_upload/?upload_id=``,
which assembles the parts into one video and answers like ``upload_video/``. Uploads in
progress live in process memory only (not in the ``--state`` file).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.common import (
    FaultRenderer,
    json_body,
    log_id,
    post_url,
    public_base,
    relink,
    sub_path,
)
from sandbox.endpoint import Call, Dialect
from sandbox.faults import FaultHit
from sandbox.state import Account, App, Post, SandboxState, Token

SCOPES = {
    "douyin": "user_info,video.create.bind,video.data.bind,video.list.bind,renew_refresh_token",
    "toutiao": "user_info,toutiao.video.create,toutiao.video.data,renew_refresh_token",
}
VIDEO_EXTS = {"mp4", "mov", "m4v", "avi", "flv", "mkv", "webm", "wmv", "mpeg", "mpg", "3gp"}
IMAGE_EXTS = {"jpg", "jpeg", "png", "gif", "webp", "bmp"}
MAX_VIDEO_BYTES = 128 * 1024 * 1024
#: Chunked upload: a part of at most 100 MB (the real minimum of 5 MB, except for the last
#: part, is not enforced, so tests can use small parts), a video of at most 4 GB in total.
MAX_PART_BYTES = 100 * 1024 * 1024
MAX_CHUNKED_VIDEO_BYTES = 4 * 1024 * 1024 * 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024

#: semantic error → code per code family ("new", "legacy", "oauth")
CODES: dict[str, dict[str, int]] = {
    "token_invalid": {"new": 28001003, "legacy": 2190002, "oauth": 10008},
    "token_expired": {"new": 28001008, "legacy": 2190008, "oauth": 10008},
    "mismatch": {"new": 28001015, "legacy": 2190015, "oauth": 10002},
    "bad_param": {"new": 28001007, "legacy": 2100005, "oauth": 10002},
    "missing_param": {"new": 28001007, "legacy": 2100005, "oauth": 10005},
    "banned": {"new": 28001046, "legacy": 2100009, "oauth": 28001046},
    "deregistered": {"new": 28001045, "legacy": 2100009, "oauth": 28001045},
    "no_capability": {"new": 28001018, "legacy": 2190004, "oauth": 10004},
    "rate_limit": {"new": 28003018, "legacy": 2190001, "oauth": 28003018},
    "busy": {"new": 28001005, "legacy": 2100004, "oauth": 2100004},
    "content_rejected": {"new": 2111001, "legacy": 2111001, "oauth": 2111001},
    "bad_video_id": {"new": 28001007, "legacy": 2190007, "oauth": 10002},
    "video_too_large": {"new": 28001007, "legacy": 2190005, "oauth": 10002},
    "bad_upload_id": {"new": 28001007, "legacy": 2100005, "oauth": 10002},
    "part_out_of_order": {"new": 28001007, "legacy": 2100005, "oauth": 10002},
    "parts_missing": {"new": 28001007, "legacy": 2100005, "oauth": 10002},
    "bad_client": {"new": 10003, "legacy": 10003, "oauth": 10003},
    "bad_secret": {"new": 10013, "legacy": 10013, "oauth": 10013},
    "code_invalid": {"new": 10007, "legacy": 10007, "oauth": 10007},
    "refresh_invalid": {"new": 10010, "legacy": 10010, "oauth": 10010},
    "renew_limit": {"new": 10020, "legacy": 10020, "oauth": 10020},
}
DESCRIPTIONS: dict[str, str] = {
    "token_invalid": "access_token无效",
    "token_expired": "access_token已过期",
    "mismatch": "access_token与open_id不匹配",
    "bad_param": "参数不合法",
    "missing_param": "缺少参数",
    "banned": "用户已被封禁",
    "deregistered": "用户已注销",
    "no_capability": "应用未获得该能力",
    "rate_limit": "请求频率过高，请稍后再试",
    "busy": "系统繁忙，请稍后再试",
    "content_rejected": "内容包含敏感词，发布失败",
    "bad_video_id": "video_id无效",
    "video_too_large": "视频文件过大",
    "bad_upload_id": "upload_id无效或已完成",
    "part_out_of_order": "分片序号不连续，请按顺序上传分片",
    "parts_missing": "尚未上传任何分片，无法完成上传",
    "bad_client": "client_key无效",
    "bad_secret": "client_key或client_secret错误",
    "code_invalid": "授权码无效或已过期",
    "refresh_invalid": "refresh_token无效或已过期，请重新授权",
    "renew_limit": "refresh_token刷新次数已达上限",
}
#: With auto-provision, any client_key works with this client_secret (docs/sandbox.md).
AUTO_CLIENT_SECRET = "sandbox"  # noqa: S105 - a documented sandbox value, not a credential
FAULT_KINDS = {
    "rate_limit": "rate_limit",  # 28003018 is already the per-minute "request rate too high"
    "rate_limit_minute": "rate_limit",
    "server_error": "busy",
    "token_expired": "token_expired",
    "content_rejected": "content_rejected",
    "banned": "banned",
}


class BdError(Exception):
    def __init__(self, kind: str, detail: str | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


# ---- envelopes ---------------------------------------------------------------------------
def _style(platform: str) -> str:
    path = request.path
    if "/oauth/userinfo" in path:
        return "userinfo"
    if "/oauth/" in path:
        return "oauth"
    if platform == "toutiao":
        return "toutiao"
    return "new" if sub_path("/douyin").startswith(("/api/", "/dy_open_api/")) else "legacy"


def _family(style: str) -> str:
    return {"legacy": "legacy", "oauth": "oauth"}.get(style, "new")


def reply(
    platform: str, data: dict[str, Any] | None = None, kind: str | None = None, detail: str | None = None
) -> Response:
    """A success (``kind`` None) or error answer in the envelope of this request's style."""
    style = _style(platform)
    data = dict(data or {})
    code = CODES[kind][_family(style)] if kind else 0
    description = (detail or DESCRIPTIONS[kind]) if kind else ""
    lid = log_id()
    body: dict[str, Any]
    if style == "new":
        body = {"err_no": code, "err_msg": description, "log_id": lid, "data": data}
    elif style == "legacy":
        body = {
            "data": {**data, "error_code": code, "description": description},
            "extra": {
                "error_code": code,
                "description": description,
                "sub_error_code": 0,
                "sub_description": "",
                "logid": lid,
                "now": int(time.time() * 1000),
            },
        }
    else:
        inner = {**data, "error_code": code, "description": description}
        if kind:
            inner.update(captcha="", desc_url="")
        body = {"data": inner, "message": "error" if kind else "success"}
        if style == "userinfo":
            body.update(err_no=code, err_msg=description, log_id=lid)
    return jsonify(body)


# ---- tokens and apps ---------------------------------------------------------------------
def _check_client(state: SandboxState, platform: str, client_key: str, client_secret: str | None) -> None:
    app = state.apps.get((platform, client_key))
    if app is not None:
        if client_secret is not None and client_secret != app.client_secret:
            raise BdError("bad_secret")
        return
    if not state.config["auto_provision"]:
        raise BdError("bad_client")
    if client_secret is not None and client_secret != AUTO_CLIENT_SECRET:
        raise BdError("bad_secret")


def _new_token(
    state: SandboxState, platform: str, uid: str, kind: str, *, ttl: int, client_key: str = "", renewals: int = 0
) -> Token:
    prefix = {"access": "act.", "refresh": "rft.", "client": "clt."}[kind]
    now = state.now()
    return state.add_token(
        Token(
            value=prefix + secrets.token_hex(20),
            platform=platform,
            uid=uid,
            kind=kind,
            issued_at=now,
            expires_at=now + ttl,
            client_key=client_key,
            renewals=renewals,
        )
    )


def _token_pair(state: SandboxState, platform: str, uid: str, client_key: str) -> tuple[Token, Token]:
    """A user access token (15 days) and refresh token (30 days)."""
    access = _new_token(
        state, platform, uid, "access", ttl=int(state.config["douyin_access_ttl"]), client_key=client_key
    )
    refresh = _new_token(
        state, platform, uid, "refresh", ttl=int(state.config["douyin_refresh_ttl"]), client_key=client_key
    )
    return access, refresh


def _pattern_token(state: SandboxState, platform: str, value: str, kind: str) -> Token | None:
    """``act.sandbox.<open_id>`` / ``rft.sandbox.<open_id>``: trusted on first use."""
    prefix = {"access": "act.sandbox.", "refresh": "rft.sandbox."}[kind]
    if not (value.startswith(prefix) and len(value) > len(prefix) and state.config["auto_provision"]):
        return None
    uid = value[len(prefix) :]
    state.ensure_account(platform, uid)
    return state.add_token(Token(value=value, platform=platform, uid=uid, kind=kind, issued_at=state.now()))


def _access_token(state: SandboxState, platform: str, value: str) -> Token:
    if not value:
        raise BdError("token_invalid", "缺少access_token")
    token = state.token(platform, value) or _pattern_token(state, platform, value, "access")
    if token is None or token.kind != "access" or token.revoked:
        raise BdError("token_invalid")
    if token.expires_at is not None and state.now() >= token.expires_at:
        raise BdError("token_expired")
    return token


def _refresh_token(state: SandboxState, platform: str, value: str) -> Token:
    token = state.token(platform, value) or _pattern_token(state, platform, value, "refresh")
    if token is None or token.kind != "refresh" or token.revoked:
        raise BdError("refresh_invalid")
    if token.expires_at is not None and state.now() >= token.expires_at:
        raise BdError("refresh_invalid")
    return token


def _usable(account: Account) -> Account:
    if account.status == "banned":
        raise BdError("banned")
    if account.status == "deregistered":
        raise BdError("deregistered")
    return account


def _user(state: SandboxState, platform: str, *, header_token: bool = False) -> Account:
    """The account behind this content call; the token's place depends on the style, or is the
    ``access-token`` header (``header_token``) for endpoints whose page names that header."""
    if header_token or _style(platform) == "new":
        value = request.headers.get("access-token", "")
    else:
        value = request.args.get("access_token", "")
    token = _access_token(state, platform, value)
    open_id = request.args.get("open_id", "")
    if not open_id:
        raise BdError("missing_param", "缺少参数open_id")
    if token.uid != open_id:
        raise BdError("mismatch")
    return _usable(state.ensure_account(platform, open_id))


def issue_account_credentials(state: SandboxState, account: Account) -> dict[str, str]:
    """Credentials for /_sandbox/accounts: an app plus a user token pair (kept on the account)."""
    platform = account.platform
    client_key = ("aw" if platform == "douyin" else "tt") + secrets.token_hex(8)
    client_secret = secrets.token_hex(16)
    state.apps[(platform, client_key)] = App(platform, client_key, client_secret, account.uid)
    access, refresh = _token_pair(state, platform, account.uid, client_key)
    creds = {
        "client_key": client_key,
        "client_secret": client_secret,
        "access_token": access.value,
        "refresh_token": refresh.value,
        "open_id": account.uid,
    }
    account.credentials.update(creds)
    state.dirty = True
    return creds


# ---- content helpers ---------------------------------------------------------------------
def cover_url(platform: str, post_id: str) -> str:
    return f"{public_base()}/_sandbox/cover/{platform}/{post_id}.svg"


def _new_item_id(state: SandboxState, platform: str) -> str:
    while True:
        item_id = ("@9VwL" if platform == "douyin" else "7") + state.new_digits(18)
        if state.post(platform, item_id) is None:
            return item_id


def item_view(state: SandboxState, post: Post) -> dict[str, Any]:
    likes = int(post.extra.get("likes", 0))
    item: dict[str, Any] = {
        "item_id": post.post_id,
        "title": post.text,
        "cover": cover_url(post.platform, post.post_id),
        "create_time": int(post.created_at),
        "is_top": False,
        "share_url": relink(post.url),
        "media_type": 2 if post.kind == "image_text" else 4,
        "statistics": {
            "comment_count": 0,
            "digg_count": likes,
            "download_count": 0,
            "forward_count": 0,
            "play_count": likes * 10,
            "share_count": 0,
        },
    }
    if state.config["douyin_legacy_status_fields"]:
        item.update(is_reviewed=True, video_status=5)
    return item


def _json() -> dict[str, Any]:
    body = json_body()
    if body is None:
        raise BdError("bad_param", "请求体必须是JSON")
    return body


# ---- seeding -----------------------------------------------------------------------------
def seed_post(state: SandboxState, account: Account, text: str, title: str, created_at: float) -> Post:
    platform = account.platform
    item_id = _new_item_id(state, platform)
    return state.add_post(
        Post(
            platform=platform,
            uid=account.uid,
            post_id=item_id,
            kind="video",
            title=title or text,
            text=text,
            url=post_url(platform, item_id),
            created_at=created_at,
            source="seed",
        )
    )


# ---- blueprints and the endpoint opening -------------------------------------------------
PLATFORMS = ("douyin", "toutiao")
BLUEPRINTS: dict[str, Blueprint] = {p: Blueprint(f"sandbox_{p}", __name__, url_prefix=f"/{p}") for p in PLATFORMS}
#: ``/toutiao-mp/open/new_article_post/`` (the real host is mp.toutiao.com).
TOUTIAO_MP = Blueprint("sandbox_toutiao_mp", __name__, url_prefix="/toutiao-mp")


def _fault_path(platform: str) -> str:
    """The path below ``/<platform>``; on the mp.toutiao.com blueprint the whole path."""
    return sub_path(f"/{platform}") if request.path.startswith(f"/{platform}/") else request.path


def _fault_response(platform: str) -> FaultRenderer:
    def render(hit: FaultHit, path: str) -> Response:
        return reply(platform, kind=FAULT_KINDS[hit.error])

    return render


def _require_method(method: str) -> None:
    if request.method != method:
        raise BdError("bad_param", f"请使用{method}请求")


def _authenticate(state: SandboxState, params: dict[str, Any], platform: str) -> tuple[Account, Token | None]:
    return _user(state, platform), None


BYTEDANCE = Dialect(
    name="douyin",
    error=BdError,
    render_error=lambda err, platform: reply(platform, kind=err.kind, detail=err.detail),
    fault_path=_fault_path,
    fault_response=_fault_response,
    require_method=_require_method,
    read_params=_json,
    authenticate=_authenticate,
    require_usable=_usable,
)
"""The opening of every Douyin/Toutiao endpoint: fault, JSON body (``params=True``), lock, the
user token and open_id of the request's style (``auth=True``, refusing banned and deregistered
accounts). Flask's ``methods`` restrict the methods, so routes open with ``method=None``."""

for _platform, _bp in [*BLUEPRINTS.items(), ("toutiao", TOUTIAO_MP)]:
    _bp.register_error_handler(
        BdError, lambda err, platform=_platform: reply(platform, kind=err.kind, detail=err.detail)
    )


def route(
    platforms: tuple[str, ...],
    rule: str,
    endpoint: str,
    methods: list[str],
    *,
    params: bool = False,
    auth: bool = True,
) -> Callable[[Callable[[Call], Response]], Callable[[Call], Response]]:
    """Register ``fn(call)`` at ``rule`` on the blueprint of each platform, opened by ``BYTEDANCE``."""

    def decorate(fn: Callable[[Call], Response]) -> Callable[[Call], Response]:
        for platform in platforms:
            view = BYTEDANCE.endpoint(method=None, params=params, auth=auth, platform=platform)(fn)
            BLUEPRINTS[platform].add_url_rule(rule, endpoint=endpoint, view_func=view, methods=methods)
        return fn

    return decorate
