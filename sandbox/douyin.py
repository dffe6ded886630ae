"""Douyin (``/douyin``) and Toutiao (``/toutiao``): the ByteDance open platform (PROTOCOLS.md §3–4).

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

import base64
import secrets
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from sandbox.common import (
    Upload,
    all_params,
    find_word,
    get_state,
    image_size,
    json_body,
    log_id,
    post_url,
    public_base,
    read_upload,
    run_faults,
    search_accounts,
    sub_path,
)
from sandbox.faults import FaultHit
from sandbox.oauth_pages import authorize_page, take_code
from sandbox.state import Account, App, Media, Post, SandboxState, Token

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
    return "new" if sub_path("/douyin").startswith("/api/") else "legacy"


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


def _user(state: SandboxState, platform: str) -> Account:
    """The account behind this content call; the token's place depends on the style."""
    if _style(platform) == "new":
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
        "share_url": post.url,
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


def _upload_media(
    state: SandboxState,
    platform: str,
    account: Account,
    upload: Upload | None,
    kind: str,
    *,
    max_video_bytes: int = MAX_VIDEO_BYTES,
    extra: dict[str, Any] | None = None,
) -> Media:
    if upload is None or not upload.data:
        raise BdError("missing_param", f"缺少文件{kind}")
    if kind == "video":
        if upload.ext not in VIDEO_EXTS and not upload.content_type.startswith("video/"):
            raise BdError("bad_param", "视频格式不支持")
        if len(upload.data) > max_video_bytes:
            raise BdError("video_too_large")
        width, height, media_id = 1080, 1920, "v0" + secrets.token_hex(15)
    else:
        if upload.ext not in IMAGE_EXTS:
            raise BdError("bad_param", "图片格式不支持")
        if len(upload.data) > MAX_IMAGE_BYTES:
            raise BdError("bad_param", "图片不能超过20MB")
        width, height = image_size(upload.data)
        media_id = "img" + secrets.token_hex(15)
    media = Media(
        media_id=media_id,
        platform=platform,
        uid=account.uid,
        kind=kind,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(upload.data),
        created_at=state.now(),
        width=width,
        height=height,
        extra=dict(extra or {}),
    )
    return state.add_media(media, upload.data)


def _create_post(
    state: SandboxState, account: Account, *, kind: str, text: str, media: list[str], extra: dict[str, Any]
) -> Post:
    platform = account.platform
    rejected = find_word(text, state.config["reject_words"]) is not None
    if rejected and state.config["douyin_reject_mode"] == "error":
        raise BdError("content_rejected")
    item_id = _new_item_id(state, platform)
    post = state.add_post(
        Post(
            platform=platform,
            uid=account.uid,
            post_id=item_id,
            kind=kind,
            title=text,
            text=text,
            url=post_url(platform, item_id),
            created_at=state.now(),
            state="rejected" if rejected else "published",
            media=media,
            extra=extra,
        )
    )
    for media_id in media:
        state.media[media_id].used_by = item_id
    return post


def _owned_media(state: SandboxState, platform: str, account: Account, media_id: str, kind: str) -> Media:
    media = state.media.get(media_id)
    if media is None or media.platform != platform or media.uid != account.uid or media.kind != kind:
        raise BdError(
            "bad_video_id" if kind == "video" else "bad_param", None if kind == "video" else f"image_id无效：{media_id}"
        )
    return media


def _json() -> dict[str, Any]:
    body = json_body()
    if body is None:
        raise BdError("bad_param", "请求体必须是JSON")
    return body


# ---- chunked video upload (Douyin) -------------------------------------------------------
@dataclass
class PartUpload:
    """One chunked upload in progress: the parts received so far, in order (part n at n-1)."""

    upload_id: str
    platform: str
    account: Account
    created_at: float
    filename: str = ""
    content_type: str = ""
    parts: list[bytes] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts)


#: Uploads in progress per sandbox, kept in memory only (an upload_id is short-lived on the
#: real platform too). A reset replaces the accounts, which orphans the uploads (see _part_upload).
_PART_UPLOADS: weakref.WeakKeyDictionary[SandboxState, dict[str, PartUpload]] = weakref.WeakKeyDictionary()


def _part_uploads(state: SandboxState) -> dict[str, PartUpload]:
    uploads = _PART_UPLOADS.setdefault(state, {})
    for upload_id, upload in list(uploads.items()):
        if state.account(upload.platform, upload.account.uid) is not upload.account:
            del uploads[upload_id]  # the sandbox was reset since the upload started
    return uploads


def _new_upload_id(uploads: dict[str, PartUpload]) -> str:
    """Standard base64 (``+``, ``/``, ``=``), so a client must URL-encode it in the query."""
    while True:
        upload_id = base64.b64encode(secrets.token_bytes(31)).decode("ascii")
        if upload_id not in uploads:
            return upload_id


def _part_upload(state: SandboxState, account: Account, upload_id: str) -> PartUpload:
    if not upload_id:
        raise BdError("missing_param", "缺少参数upload_id")
    upload = _part_uploads(state).get(upload_id)
    if upload is None or upload.platform != account.platform or upload.account is not account:
        raise BdError("bad_upload_id")
    return upload


def _part_param(name: str) -> str:
    """``upload_id``/``part_number`` from the query string (as documented), else the form or JSON body."""
    value = request.args.get(name) or request.form.get(name)
    if not value:
        value = (json_body() or {}).get(name)
    return "" if value is None else str(value)


def make_blueprint(platform: str) -> Blueprint:
    """The blueprint of one ByteDance platform ("douyin" or "toutiao")."""
    bp = Blueprint(f"sandbox_{platform}", __name__, url_prefix=f"/{platform}")
    prefix = f"/{platform}"

    @bp.errorhandler(BdError)
    def _bd_error(err: BdError) -> Response:
        return reply(platform, kind=err.kind, detail=err.detail)

    @bp.before_request
    def _faults() -> Response | None:
        return run_faults(platform, sub_path(prefix), _fault)

    def _fault(hit: FaultHit, path: str) -> Response:
        return reply(platform, kind=FAULT_KINDS[hit.error])

    # ---- OAuth ---------------------------------------------------------------------------
    authorize_rule = "/platform/oauth/connect/" if platform == "douyin" else "/oauth/authorize/"

    @bp.route(authorize_rule, methods=["GET", "POST"])
    def authorize() -> ResponseReturnValue:
        return authorize_page(platform, client_field="client_key")

    def _form(*names: str) -> dict[str, str]:
        values = {name: request.form.get(name, "") for name in names}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise BdError("missing_param", f"缺少参数{missing[0]}")
        return values

    @bp.route("/oauth/access_token/", methods=["POST"])
    def access_token() -> Response:
        form = _form("client_key", "client_secret", "code", "grant_type")
        if form["grant_type"] != "authorization_code":
            raise BdError("bad_param", "grant_type 必须是 authorization_code")
        state = get_state()
        with state.lock:
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

    @bp.route("/oauth/refresh_token/", methods=["POST"])
    def refresh_token() -> Response:
        form = _form("client_key", "grant_type", "refresh_token")
        if form["grant_type"] != "refresh_token":
            raise BdError("bad_param", "grant_type 必须是 refresh_token")
        state = get_state()
        with state.lock:
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

    @bp.route("/oauth/renew_refresh_token/", methods=["POST"])
    def renew_refresh_token() -> Response:
        form = _form("client_key", "refresh_token")
        state = get_state()
        with state.lock:
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

    @bp.route("/oauth/client_token/", methods=["POST"])
    def client_token() -> Response:
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
        state = get_state()
        with state.lock:
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

    @bp.route("/oauth/userinfo/", methods=["GET", "POST"])
    def userinfo() -> Response:
        params = all_params()
        value = str(params.get("access_token") or request.headers.get("access-token", ""))
        open_id = str(params.get("open_id") or "")
        state = get_state()
        with state.lock:
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

    # ---- content -------------------------------------------------------------------------
    def upload(field_name: str, kind: str) -> Response:
        data = read_upload(field_name)
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            media = _upload_media(state, platform, account, data, kind)
            key = "video" if kind == "video" else "image"
            ident = "video_id" if kind == "video" else "image_id"
            return reply(platform, {key: {ident: media.media_id, "width": media.width, "height": media.height}})

    def init_video_part_upload() -> Response:
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            uploads = _part_uploads(state)
            upload_id = _new_upload_id(uploads)
            uploads[upload_id] = PartUpload(upload_id, platform, account, state.now())
            return reply(platform, {"upload_id": upload_id})

    def upload_video_part() -> Response:
        data = read_upload("video")
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            upload = _part_upload(state, account, _part_param("upload_id"))
            raw_number = _part_param("part_number")
            if not raw_number:
                raise BdError("missing_param", "缺少参数part_number")
            try:
                number = int(raw_number)
            except ValueError as exc:
                raise BdError("bad_param", "part_number必须是正整数") from exc
            if number < 1:
                raise BdError("bad_param", "part_number必须是正整数")
            expected = len(upload.parts) + 1
            if number > expected:
                raise BdError("part_out_of_order", f"分片序号不连续：应上传第{expected}片，收到第{number}片")
            if data is None or not data.data:
                raise BdError("missing_param", "缺少文件video")
            if len(data.data) > MAX_PART_BYTES:
                raise BdError("bad_param", "分片不能超过100MB")
            replaced = len(upload.parts[number - 1]) if number < expected else 0
            if upload.size - replaced + len(data.data) > MAX_CHUNKED_VIDEO_BYTES:
                raise BdError("video_too_large")
            if number == expected:
                upload.parts.append(data.data)
            else:  # a retried part replaces the one received before
                upload.parts[number - 1] = data.data
            if number == 1:
                upload.filename, upload.content_type = data.filename, data.content_type
            return reply(platform, {})

    def complete_video_part_upload() -> Response:
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            upload = _part_upload(state, account, _part_param("upload_id"))
            if not upload.parts:
                raise BdError("parts_missing")
            whole = Upload(upload.filename, upload.content_type, b"".join(upload.parts))
            media = _upload_media(
                state,
                platform,
                account,
                whole,
                "video",
                max_video_bytes=MAX_CHUNKED_VIDEO_BYTES,
                extra={"upload": "chunked", "parts": len(upload.parts)},
            )
            del _part_uploads(state)[upload.upload_id]
            return reply(
                platform, {"video": {"video_id": media.media_id, "width": media.width, "height": media.height}}
            )

    def create_video() -> Response:
        body = _json()
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            video_id = str(body.get("video_id") or "")
            if not video_id:
                raise BdError("missing_param", "缺少参数video_id")
            media = _owned_media(state, platform, account, video_id, "video")
            text = str(body.get("text") or "")
            if platform == "toutiao":
                existing = next(
                    (p for p in state.posts_of(platform, account.uid) if p.extra.get("video_id") == video_id), None
                )
                if existing is not None:
                    return reply(platform, {"item_id": existing.post_id})
                if len(text) > int(state.config["toutiao_text_max"]):
                    raise BdError("bad_param", f"text不能超过{state.config['toutiao_text_max']}个字")
            elif media.used_by:
                raise BdError("bad_video_id", "video_id已被使用")
            at_users = body.get("at_users") or []
            extra = {
                "video_id": video_id,
                "at_users": at_users if isinstance(at_users, list) else [],
                "cover_tsp": body.get("cover_tsp"),
                "poi_id": body.get("poi_id"),
            }
            post = _create_post(state, account, kind="video", text=text, media=[video_id], extra=extra)
            return reply(platform, {"item_id": post.post_id})

    def create_image_text() -> Response:
        body = _json()
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            # A list of image_id strings, as in the SDK models (docs/adapters.md); a list of
            # {"image_id": …} objects is refused, so a wrong shape cannot pass unnoticed.
            raw = body.get("image_list")
            if not isinstance(raw, list) or not raw:
                raise BdError("missing_param", "缺少参数image_list")
            if not all(isinstance(i, str) and i for i in raw):
                raise BdError("bad_param", "image_list 必须是 image_id 字符串的列表")
            ids = list(raw)
            if len(ids) > 30:
                raise BdError("bad_param", "图片不能超过30张")
            for image_id in ids:
                _owned_media(state, platform, account, image_id, "image")
            post = _create_post(
                state, account, kind="image_text", text=str(body.get("text") or ""), media=ids, extra={}
            )
            return reply(platform, {"item_id": post.post_id})

    def video_list() -> Response:
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            try:
                cursor = max(int(request.args.get("cursor", "0") or 0), 0)
                count = min(max(int(request.args.get("count", "10") or 10), 1), 20)
            except ValueError as exc:
                raise BdError("bad_param", "cursor/count 必须是整数") from exc
            items = [
                p for p in state.posts_of(platform, account.uid) if p.visible and p.kind in ("video", "image_text")
            ]
            window = items[cursor : cursor + count]
            return reply(
                platform,
                {
                    "list": [item_view(state, p) for p in window],
                    "cursor": cursor + len(window),
                    "has_more": cursor + len(window) < len(items),
                },
            )

    def video_data() -> Response:
        body = _json()
        state = get_state()
        with state.lock:
            account = _user(state, platform)
            ids = body.get("item_ids")
            if not isinstance(ids, list) or not ids:
                raise BdError("missing_param", "缺少参数item_ids")
            found = [state.post(platform, str(i)) for i in ids]
            rows = [item_view(state, p) for p in found if p is not None and p.visible and p.uid == account.uid]
            return reply(platform, {"list": rows})

    def unsupported() -> Response:
        state = get_state()
        with state.lock:
            _user(state, platform)
        raise BdError("no_capability")

    def add(rule: str, endpoint: str, view: Callable[[], Response], methods: list[str]) -> None:
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=methods)

    if platform == "douyin":
        new = "/api/douyin/v1/video"
        add(f"{new}/upload_video/", "upload_video", lambda: upload("video", "video"), ["POST"])
        add(f"{new}/init_video_part_upload/", "init_video_part_upload", init_video_part_upload, ["POST"])
        add(f"{new}/upload_video_part/", "upload_video_part", upload_video_part, ["POST"])
        add(f"{new}/complete_video_part_upload/", "complete_video_part_upload", complete_video_part_upload, ["POST"])
        add(f"{new}/create_video/", "create_video", create_video, ["POST"])
        add(f"{new}/upload_image/", "upload_image", lambda: upload("image", "image"), ["POST"])
        add(f"{new}/create_image_text/", "create_image_text", create_image_text, ["POST"])
        add(f"{new}/video_list/", "video_list", video_list, ["GET"])
        add(f"{new}/video_data/", "video_data", video_data, ["POST"])
        bp.add_url_rule(
            "/api/douyin/v1/<path:rest>",
            endpoint="v1_other",
            view_func=lambda rest: unsupported(),
            methods=["GET", "POST"],
        )
        add("/video/upload/", "legacy_upload", lambda: upload("video", "video"), ["POST"])
        add("/video/create/", "legacy_create", create_video, ["POST"])
        add("/video/list/", "legacy_list", video_list, ["GET"])
        add("/video/data/", "legacy_data", video_data, ["POST"])
        add("/video/delete/", "legacy_delete", unsupported, ["POST"])
        add("/image/upload/", "legacy_image_upload", lambda: upload("image", "image"), ["POST"])
        add("/image/create/", "legacy_image_create", create_image_text, ["POST"])
    else:
        add("/toutiao/video/upload/", "upload", lambda: upload("video", "video"), ["POST"])
        add("/toutiao/video/create/", "create", create_video, ["POST"])
        add("/toutiao/video/list/", "list", video_list, ["GET"])
        add("/toutiao/video/data/", "data", video_data, ["POST"])
        add("/toutiao/video/delete/", "delete", unsupported, ["POST"])
        add("/toutiao-mp/open/new_article_post/", "legacy_article", legacy_article, ["POST"])

    @bp.route("/_search/accounts", methods=["GET"])
    def search() -> Response:
        return search_accounts(platform)

    return bp


# ---- Toutiao legacy article (PROTOCOLS §4.2, behind toutiao_legacy_articles) ----------------
def legacy_article() -> Response:
    platform = "toutiao"
    state = get_state()
    if not state.config["toutiao_legacy_articles"]:
        response = jsonify({"message": "error", "data": {"error_code": 404, "description": "接口不存在"}})
        response.status_code = 404
        return response
    with state.lock:
        token = _access_token(state, platform, request.args.get("access_token", ""))
        account = _usable(state.ensure_account(platform, token.uid))
        title = request.form.get("title", "")
        content = request.form.get("content", "")
        if not 5 <= len(title) <= 30:
            raise BdError("bad_param", "标题长度应为5-30个字")
        if not content.strip():
            raise BdError("missing_param", "缺少参数content")
        if find_word(f"{title} {content}", state.config["reject_words"]):
            raise BdError("content_rejected")
        pgc_id = state.new_digits(19)
        url = post_url(platform, pgc_id)
        state.add_post(
            Post(
                platform=platform,
                uid=account.uid,
                post_id=pgc_id,
                kind="article",
                title=title,
                text=title,
                url=url,
                created_at=state.now(),
                content=content,
                extra={"save": request.form.get("save", "")},
            )
        )
        return reply(platform, {"pgc_id": pgc_id, "url": url})


def make_toutiao_mp_blueprint() -> Blueprint:
    """``/toutiao-mp/open/new_article_post/`` (the real host is mp.toutiao.com)."""
    bp = Blueprint("sandbox_toutiao_mp", __name__, url_prefix="/toutiao-mp")

    @bp.errorhandler(BdError)
    def _bd_error(err: BdError) -> Response:
        return reply("toutiao", kind=err.kind, detail=err.detail)

    @bp.before_request
    def _faults() -> Response | None:
        return run_faults("toutiao", request.path, lambda hit, path: reply("toutiao", kind=FAULT_KINDS[hit.error]))

    bp.add_url_rule("/open/new_article_post/", endpoint="legacy_article", view_func=legacy_article, methods=["POST"])
    return bp


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
