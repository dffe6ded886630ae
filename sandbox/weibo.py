"""Weibo (微博开放平台) under ``/weibo/2/...``, ``/weibo/oauth2/...`` and
``/weibo/proxy/article/publish.json`` (PROTOCOLS.md §2).

Errors are non-2xx with ``{"error", "error_code", "request"}``: 400 for parameter and
content errors, 401 for token errors, 403 for permission, account and rate-limit errors,
500/503 for system errors.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue

from sandbox.common import (
    all_params,
    find_word,
    get_state,
    media_url,
    post_url,
    profile_url,
    read_upload,
    run_faults,
    search_accounts,
    sub_path,
)
from sandbox.faults import FaultHit, normalise
from sandbox.oauth_pages import authorize_page, take_code
from sandbox.state import Account, Media, Post, SandboxState, Token

PLATFORM = "weibo"
PREFIX = "/weibo"
bp = Blueprint("sandbox_weibo", __name__, url_prefix=PREFIX)

ERRORS: dict[int, str] = {
    10001: "system error!",
    10002: "service unavailable!",
    10014: "Insufficient app permissions!",
    10016: "miss required parameter ({}) , see doc for more info.",
    10017: "parameter ({})'s value invalid, expect (see doc), but get (...), see doc for more info.",
    10021: "HTTP method is not suported for this request!",
    10023: "User requests out of rate limit!",
    20003: "User does not exists!",
    20005: "Unsupported image type, only suport JPG, GIF, PNG!",
    20006: "Image size too large.",
    20012: "Text too long, please input text less than 140 characters!",
    20016: "Out of limit!",
    20019: "Repeat content!",
    20021: "Content is illegal!",
    20101: "Target weibo does not exist!",
    20102: "Not your own weibo!",
    21301: "auth faild!",
    21323: "invalid_request",
    21324: "unauthorized_client",
    21325: "invalid_grant",
    21327: "expired_token",
    21328: "unsupported_grant_type",
    21332: "invalid_access_token",
}
HTTP_STATUS: dict[int, int] = {
    10001: 500,
    10002: 503,
    10014: 403,
    10022: 403,
    10023: 403,
    10024: 403,
    20003: 403,
    20016: 403,
    20102: 403,
    21301: 401,
    21327: 401,
    21332: 401,
    21324: 401,
}
FAULT_CODES: dict[str, int] = {
    "rate_limit": 10023,
    "rate_limit_minute": 10023,
    "server_error": 10001,
    "token_expired": 21327,
    "content_rejected": 20021,
    "banned": 20003,
}

_URL = re.compile(r"https?://[^\s<>\"'，。；！？、（）【】]+", re.IGNORECASE)
_TOPIC = re.compile(r"#[^#\s]+#")
_WIDE = re.compile(r"[^\x00-\x7f]")
_SANDBOX_TOKEN = re.compile(r"sandbox:([^:\s]+)(?::.*)?")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class WbError(Exception):
    def __init__(self, code: int, arg: str = "", text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or ERRORS.get(code, "error").format(arg)


class ArticleError(Exception):
    """An error of the long-article API, in its own ``{"code","msg","data"}`` envelope."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg


def _error_response(code: int, text: str) -> Response:
    response = jsonify({"error": text, "error_code": code, "request": sub_path(PREFIX)})
    response.status_code = HTTP_STATUS.get(code, 400)
    return response


@bp.errorhandler(WbError)
def _wb_error(err: WbError) -> Response:
    return _error_response(err.code, err.text)


@bp.errorhandler(ArticleError)
def _article_error(err: ArticleError) -> Response:
    response = jsonify({"code": err.code, "msg": err.msg, "data": {}})
    response.status_code = 400
    return response


@bp.before_request
def _faults() -> Response | None:
    return run_faults(PLATFORM, sub_path(PREFIX), _fault_response)


def _fault_response(hit: FaultHit, path: str) -> Response:
    code = FAULT_CODES[hit.error]
    if hit.error in ("rate_limit", "rate_limit_minute") and normalise(path).endswith("statuses/share"):
        code = 20016
    return _error_response(code, ERRORS[code].format(""))


# ---- helpers -----------------------------------------------------------------------------
def _require_post() -> None:
    if request.method != "POST":
        raise WbError(10021)


def _auth(state: SandboxState, params: dict[str, Any]) -> tuple[Account, Token]:
    value = str(params.get("access_token") or "")
    header = request.headers.get("Authorization", "")
    if not value and header.startswith("OAuth2 "):
        value = header[len("OAuth2 ") :].strip()
    if not value:
        raise WbError(21301)
    token = state.token(PLATFORM, value)
    if token is None:
        match = _SANDBOX_TOKEN.fullmatch(value)
        if not (match and state.config["auto_provision"]):
            raise WbError(21332)
        token = state.add_token(
            Token(value=value, platform=PLATFORM, uid=match.group(1), kind="weibo", issued_at=state.now())
        )
    if token.revoked:
        raise WbError(21332)
    if token.expires_at is not None and state.now() >= token.expires_at:
        raise WbError(21327)
    return state.ensure_account(PLATFORM, token.uid), token


def _require_usable(account: Account) -> None:
    if not account.usable:
        raise WbError(20003)


def weibo_length(text: str, mode: str) -> int:
    """Weibo counting: a URL counts 10, a CJK/full-width char 1, an ASCII char 0.5."""
    if mode == "chars":
        return len(text)
    urls = _URL.findall(text)
    rest = _URL.sub("", text)
    wide = len(_WIDE.findall(rest))
    return 10 * len(urls) + wide + math.ceil((len(rest) - wide) / 2)


def _safe_url(text: str, domains: list[str]) -> bool:
    for url in _URL.findall(text):
        host = (urlsplit(url).hostname or "").lower()
        if any(host == d.lower() or host.endswith("." + d.lower()) for d in domains):
            return True
    return False


def weibo_time(ts: float) -> str:
    """``Tue May 31 17:46:55 +0800 2011`` in Beijing time, independent of the locale."""
    t = time.gmtime(ts + 8 * 3600)
    return (
        f"{_WEEKDAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0800 {t.tm_year}"
    )


def _uid_value(uid: str) -> int | str:
    return int(uid) if uid.isdigit() else uid


def _new_id(state: SandboxState) -> str:
    """A 16-digit status id (``id``/``idstr``/``mid``)."""
    while True:
        post_id = "49" + state.new_digits(14)
        if state.post(PLATFORM, post_id) is None:
            return post_id


def status_object(state: SandboxState, post: Post, with_user: bool = True) -> dict[str, Any]:
    pics = [str(p) for p in post.extra.get("pics", [])]
    obj: dict[str, Any] = {
        "created_at": weibo_time(post.created_at),
        "id": int(post.post_id),
        "idstr": post.post_id,
        "mid": post.post_id,
        "text": post.text,
        "source": '<a href="https://gov.example.cn" rel="nofollow">政务新媒体发布平台</a>',
        "favorited": False,
        "truncated": False,
        "in_reply_to_status_id": "",
        "in_reply_to_user_id": "",
        "in_reply_to_screen_name": "",
        "pic_urls": [{"thumbnail_pic": url} for url in pics],
        "geo": None,
        "reposts_count": 0,
        "comments_count": 0,
        "attitudes_count": int(post.extra.get("likes", 0)),
        "visible": {"type": 0, "list_id": 0},
    }
    if pics:
        obj.update(thumbnail_pic=pics[0], bmiddle_pic=pics[0], original_pic=pics[0])
    repost = post.extra.get("repost")
    if repost:
        obj["retweeted_status"] = retweeted_status(post, repost if isinstance(repost, dict) else {})
    if with_user:
        account = state.account(PLATFORM, post.uid)
        if account is not None:
            obj["user"] = user_object(state, account, with_status=False)
    return obj


def retweeted_status(post: Post, spec: dict[str, Any]) -> dict[str, Any]:
    """The reposted (转发) status inside a repost: another user's original post.

    Seeded with ``"repost": true`` or ``{"text", "user"}`` on ``/_sandbox/accounts`` posts; the
    repost's own ``text`` is the reposter's comment, as on Weibo.
    """
    original_id = "48" + post.post_id[2:]
    name = str(spec.get("user") or "转发来源账号")
    return {
        "created_at": weibo_time(post.created_at - 3600),
        "id": int(original_id),
        "idstr": original_id,
        "mid": original_id,
        "text": str(spec.get("text") or "被转发的原微博"),
        "reposts_count": 1,
        "comments_count": 0,
        "attitudes_count": 0,
        "user": {"id": 1000000001, "idstr": "1000000001", "screen_name": name, "name": name},
    }


def user_object(state: SandboxState, account: Account, with_status: bool = True) -> dict[str, Any]:
    visible = [p for p in state.posts_of(PLATFORM, account.uid) if p.visible]
    obj: dict[str, Any] = {
        "id": _uid_value(account.uid),
        "idstr": account.uid,
        "screen_name": account.name,
        "name": account.name,
        "province": "",
        "city": "",
        "location": "",
        "description": account.description,
        "url": "",
        "profile_image_url": "",
        "profile_url": profile_url(PLATFORM, account.uid),
        "domain": "",
        "gender": "n",
        "followers_count": account.followers,
        "friends_count": 0,
        "statuses_count": len(visible),
        "favourites_count": 0,
        "created_at": weibo_time(account.created_at),
        "verified": account.verified,
        "verified_type": 1 if account.verified else -1,
        "verified_reason": account.subject,
    }
    if with_status and visible:
        obj["status"] = status_object(state, visible[0], with_user=False)
    return obj


# ---- OAuth2 ------------------------------------------------------------------------------
@bp.route("/oauth2/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    return authorize_page(PLATFORM, client_field="client_id")


@bp.route("/oauth2/access_token", methods=["GET", "POST"])
def access_token() -> Response:
    _require_post()
    params = all_params()
    for name in ("client_id", "client_secret", "grant_type", "code", "redirect_uri"):
        if not params.get(name):
            raise WbError(21323, text=f"invalid_request: miss {name}")
    if params["grant_type"] != "authorization_code":
        raise WbError(21328)
    state = get_state()
    with state.lock:
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
def get_token_info() -> Response:
    _require_post()
    state = get_state()
    with state.lock:
        account, token = _auth(state, all_params())
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


# ---- statuses ----------------------------------------------------------------------------
def _check_pic(upload: Any) -> None:
    if upload.ext not in {"jpg", "jpeg", "gif", "png"}:
        raise WbError(20005)
    if len(upload.data) >= 5 * 1024 * 1024:
        raise WbError(20006)


def _over_hourly_limit(state: SandboxState, account: Account) -> bool:
    """``weibo_posts_per_hour`` posts per user per hour (statuses and long articles together)."""
    limit = int(state.config["weibo_posts_per_hour"])
    return state.window_hits(f"weibo:posts:{account.uid}", 3600) >= limit


@bp.route("/2/statuses/share.json", methods=["GET", "POST"])
def share() -> Response:
    _require_post()
    upload = read_upload("pic")
    params = all_params()
    state = get_state()
    with state.lock:
        account, _ = _auth(state, params)
        _require_usable(account)
        config = state.config
        status = str(params.get("status") or "")
        if not status.strip():
            raise WbError(10016, "status")
        if config["weibo_require_rip"] and not params.get("rip"):
            raise WbError(10016, "rip")
        if weibo_length(status, config["weibo_length_mode"]) > 140:
            raise WbError(20012)
        if _TOPIC.search(_URL.sub("", status)):
            raise WbError(10017, "status", "parameter (status)'s value invalid, #topic# is not allowed!")
        if not _safe_url(status, config["weibo_safe_domains"]):
            raise WbError(10017, text="text not find domain!")
        if find_word(status, config["reject_words"]):
            raise WbError(20021)
        if any(p.text == status and not p.deleted for p in state.posts_of(PLATFORM, account.uid)):
            raise WbError(20019)
        if upload is not None and upload.data:
            _check_pic(upload)
        if _over_hourly_limit(state, account):
            raise WbError(20016)
        post_id = _new_id(state)
        pics: list[str] = []
        media_ids: list[str] = []
        if upload is not None and upload.data:
            media = state.add_media(
                Media(
                    media_id=f"wb{post_id}",
                    platform=PLATFORM,
                    uid=account.uid,
                    kind="pic",
                    filename=upload.filename,
                    content_type=upload.content_type,
                    size=len(upload.data),
                    created_at=state.now(),
                ),
                upload.data,
            )
            pics.append(media_url(media.media_id))
            media_ids.append(media.media_id)
        post = state.add_post(
            Post(
                platform=PLATFORM,
                uid=account.uid,
                post_id=post_id,
                kind="status",
                title="",
                text=status,
                url=post_url(PLATFORM, post_id),
                created_at=state.now(),
                media=media_ids,
                extra={"pics": pics, "rip": str(params.get("rip") or "")},
            )
        )
        state.record_event(f"weibo:posts:{account.uid}")
        return jsonify(status_object(state, post))


@bp.route("/2/statuses/update.json", methods=["GET", "POST"])
@bp.route("/2/statuses/upload.json", methods=["GET", "POST"])
def retired_write_api() -> Response:
    raise WbError(10014)


def _own_post(state: SandboxState, account: Account, params: dict[str, Any], missing_code: int) -> Post:
    post_id = str(params.get("id") or "")
    if not post_id:
        raise WbError(10016, "id")
    post = state.post(PLATFORM, post_id)
    if post is None or not post.visible:
        raise WbError(20101)
    if post.uid != account.uid:
        raise WbError(missing_code)
    return post


@bp.route("/2/statuses/show.json", methods=["GET"])
def show() -> Response:
    state = get_state()
    params = all_params()
    with state.lock:
        account, _ = _auth(state, params)
        _require_usable(account)
        post = _own_post(state, account, params, 20101)
        return jsonify(status_object(state, post))


@bp.route("/2/statuses/destroy.json", methods=["GET", "POST"])
def destroy() -> Response:
    _require_post()
    state = get_state()
    params = all_params()
    with state.lock:
        account, _ = _auth(state, params)
        _require_usable(account)
        if not state.config["weibo_destroy_enabled"]:
            raise WbError(10014)
        post = _own_post(state, account, params, 20102)
        state.delete_post(post, "user")
        return jsonify(status_object(state, post))


@bp.route("/2/users/show.json", methods=["GET"])
def users_show() -> Response:
    state = get_state()
    params = all_params()
    with state.lock:
        account, _ = _auth(state, params)
        _require_usable(account)
        uid = str(params.get("uid") or "")
        screen_name = str(params.get("screen_name") or "")
        if not uid and not screen_name:
            raise WbError(10016, "uid")
        if uid:
            target = state.account(PLATFORM, uid)
        else:
            target = next((a for a in state.platform_accounts(PLATFORM) if a.name == screen_name), None)
        if target is None or not target.usable:
            raise WbError(20003)
        return jsonify(user_object(state, target))


@bp.route("/2/statuses/user_timeline.json", methods=["GET"])
def user_timeline() -> Response:
    state = get_state()
    params = all_params()
    with state.lock:
        account, _ = _auth(state, params)
        _require_usable(account)
        try:
            count = int(params.get("count") or 20)
            page = int(params.get("page") or 1)
        except ValueError as exc:
            raise WbError(10017, "count") from exc
        newest = [p for p in state.posts_of(PLATFORM, account.uid) if p.visible]
        newest = newest[: int(state.config["weibo_timeline_count"])]
        window = newest[(max(page, 1) - 1) * max(count, 1) : max(page, 1) * max(count, 1)]
        return jsonify(
            {
                "statuses": [status_object(state, p) for p in window],
                "total_number": len(newest),
                "previous_cursor": 0,
                "next_cursor": 0,
            }
        )


# ---- long articles (头条文章) ---------------------------------------------------------------
@bp.route("/proxy/article/publish.json", methods=["GET", "POST"])
def article_publish() -> Response:
    _require_post()
    params = all_params()
    state = get_state()
    with state.lock:
        account, _ = _auth(state, params)
        _require_usable(account)
        config = state.config
        if not config["weibo_article_enabled"]:
            raise WbError(10014)
        title = str(params.get("title") or "")
        content = str(params.get("content") or "")
        text = str(params.get("text") or "")
        if not title or len(title) > 32:
            raise ArticleError("10008", "参数错误：title 必填且不超过32个字")
        if not content or len(content) > 90000:
            raise ArticleError("10008", "参数错误：content 必填且不超过90000个字")
        if not text:
            raise ArticleError("10008", "参数错误：text 必填")
        if config["weibo_require_rip"] and not params.get("rip"):
            raise ArticleError("10008", "参数错误：rip 必填")
        if find_word(f"{title} {content} {text}", config["reject_words"]):
            raise ArticleError("11002", "微博发布失败：内容违规")
        if _over_hourly_limit(state, account):
            raise ArticleError("11001", "发布过于频繁")
        mid = _new_id(state)
        object_id = "1022:23094" + state.new_digits(11)
        url = post_url(PLATFORM, mid)
        state.add_post(
            Post(
                platform=PLATFORM,
                uid=account.uid,
                post_id=mid,
                kind="article",
                title=title,
                text=text,
                url=url,
                created_at=state.now(),
                content=content,
                extra={
                    "object_id": object_id,
                    "cover": str(params.get("cover") or ""),
                    "summary": str(params.get("summary") or ""),
                },
            )
        )
        state.record_event(f"weibo:posts:{account.uid}")
        return jsonify({"code": "100000", "msg": "", "data": {"object_id": object_id, "url": url, "mid": mid}})


@bp.route("/_search/accounts", methods=["GET"])
def search() -> Response:
    return search_accounts(PLATFORM)


@bp.route("/<uid>/<int:post_id>", methods=["GET"])
def weibo_com_link(uid: str, post_id: int) -> Response:
    """``weibo.com/<uid>/<id>`` style links lead to the sandbox post page."""
    return redirect(post_url(PLATFORM, str(post_id)))


# ---- seeding -----------------------------------------------------------------------------
def seed_post(state: SandboxState, account: Account, text: str, title: str, created_at: float) -> Post:
    post_id = _new_id(state)
    return state.add_post(
        Post(
            platform=PLATFORM,
            uid=account.uid,
            post_id=post_id,
            kind="article" if title else "status",
            title=title,
            text=text,
            url=post_url(PLATFORM, post_id),
            created_at=created_at,
            source="seed",
        )
    )


def issue_account_token(state: SandboxState, account: Account) -> str:
    """A fresh access token for /_sandbox/accounts (valid ``weibo_token_ttl`` seconds)."""
    token = state.add_token(
        Token(
            value="2.00" + secrets.token_hex(16),
            platform=PLATFORM,
            uid=account.uid,
            kind="weibo",
            issued_at=state.now(),
            expires_at=state.now() + int(state.config["weibo_token_ttl"]),
        )
    )
    return token.value
