"""WeChat Official Account (微信公众号) under ``/wechat/cgi-bin/...`` (PROTOCOLS.md §1).

Always HTTP 200 with the ``{"errcode", "errmsg"}`` envelope; the token goes in
``?access_token=``. Publishing is asynchronous: ``freepublish/get`` answers
``publish_status`` 1 for ``wechat_publish_polls`` polls, then the final status.
"""

from __future__ import annotations

import json
import re
import secrets
from html import escape
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.common import (
    Upload,
    find_word,
    get_state,
    json_body,
    media_url,
    post_url,
    read_upload,
    run_faults,
    search_accounts,
    strip_html,
    sub_path,
)
from sandbox.faults import FaultHit, normalise
from sandbox.state import Account, App, Draft, Media, Post, PublishJob, SandboxState, Token

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
    48006: "forbid to clear quota because of reaching the limit",
    50002: "user limited",
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


@bp.before_request
def _faults() -> Response | None:
    return run_faults(PLATFORM, sub_path(PREFIX), _fault_response)


def _fault_response(hit: FaultHit, path: str) -> Response:
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
    body = json_body() or {}
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


def _body() -> dict[str, Any]:
    body = json_body()
    if body is None:
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


# ---- auth --------------------------------------------------------------------------------
@bp.route("/cgi-bin/token", methods=["GET", "POST"])
def token() -> Response:
    if request.method != "GET":
        raise WxError(43001)
    if request.args.get("grant_type") != "client_credential":
        raise WxError(40002)
    state = get_state()
    with state.lock:
        account = _resolve_app(state, request.args.get("appid", ""), request.args.get("secret", ""))
        _quota(state, account, "token")
        state.revoke_tokens(PLATFORM, account.uid, "wechat_token")
        issued = _issue_token(state, account, "wechat_token")
        return jsonify({"access_token": issued.value, "expires_in": int(state.config["wechat_token_ttl"])})


@bp.route("/cgi-bin/stable_token", methods=["GET", "POST"])
def stable_token() -> Response:
    _require_post()
    body = _body()
    if body.get("grant_type") != "client_credential":
        raise WxError(40002)
    force = body.get("force_refresh") in (True, "true", 1)
    state = get_state()
    with state.lock:
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
            if state.count(day_key) >= 20:
                raise WxError(45009)
            if now - state.count(last_key) < 30:
                raise WxError(45011)
            state.bump(day_key)
            state.counters[last_key] = int(now)
            state.revoke_tokens(PLATFORM, account.uid, "wechat_stable")
        elif newest is not None and (newest.expires_at or 0) - now > 300:
            return jsonify({"access_token": newest.value, "expires_in": int((newest.expires_at or now) - now)})
        issued = _issue_token(state, account, "wechat_stable")
        return jsonify({"access_token": issued.value, "expires_in": int(state.config["wechat_token_ttl"])})


# ---- media -------------------------------------------------------------------------------
def _store_media(state: SandboxState, account: Account, kind: str, upload: Upload, **extra: Any) -> Media:
    media = Media(
        media_id=secrets.token_urlsafe(32),
        platform=PLATFORM,
        uid=account.uid,
        kind=kind,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(upload.data),
        created_at=state.now(),
        extra=extra,
    )
    return state.add_media(media, upload.data)


@bp.route("/cgi-bin/material/add_material", methods=["GET", "POST"])
def add_material() -> Response:
    _require_post()
    state = get_state()
    upload = read_upload("media")
    description = request.form.get("description")
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        media_type = request.args.get("type", "")
        if media_type not in _MATERIAL_RULES:
            raise WxError(40004)
        if upload is None or not upload.data:
            raise WxError(41005)
        exts, max_bytes, size_code = _MATERIAL_RULES[media_type]
        if upload.ext not in exts:
            raise WxError(40005)
        if len(upload.data) > max_bytes:
            raise WxError(size_code)
        extra: dict[str, Any] = {}
        if media_type == "video":
            info = _video_description(description)
            extra.update(title=info["title"], introduction=info.get("introduction", ""))
        media = _store_media(state, account, media_type, upload, **extra)
        payload: dict[str, Any] = {"media_id": media.media_id}
        if media_type == "image":
            payload["url"] = media_url(media.media_id)
        media.extra["url"] = media_url(media.media_id)
        return jsonify(payload)


def _video_description(raw: str | None) -> dict[str, Any]:
    try:
        info = json.loads(raw or "")
    except ValueError as exc:
        raise WxError(47001, "description must be json {title, introduction}") from exc
    if not isinstance(info, dict) or not info.get("title"):
        raise WxError(47001, "description must be json {title, introduction}")
    return info


@bp.route("/cgi-bin/media/uploadimg", methods=["GET", "POST"])
def uploadimg() -> Response:
    _require_post()
    state = get_state()
    upload = read_upload("media")
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        if upload is None or not upload.data:
            raise WxError(41005)
        if upload.ext not in {"jpg", "jpeg", "png"}:
            raise WxError(40005)
        if len(upload.data) >= 1024 * 1024:
            raise WxError(40009)
        media = _store_media(state, account, "uploadimg", upload)
        media.extra["url"] = media_url(media.media_id)
        return jsonify({"url": media.extra["url"]})


# ---- drafts ------------------------------------------------------------------------------
def _clean_content(content: str) -> str:
    """Strip JS and images that were not uploaded through media/uploadimg."""
    allowed = media_url("")
    content = _SCRIPT.sub("", content)
    content = _EVENT_ATTR.sub("", content)

    def keep_img(match: re.Match[str]) -> str:
        src = _SRC.search(match.group(0))
        return match.group(0) if src and src.group(1).startswith(allowed) else ""

    return _IMG.sub(keep_img, content)


def _flag(article: dict[str, Any], name: str) -> int:
    value = article.get(name, 0)
    if value in (0, 1, "0", "1", True, False):
        return int(value)
    raise WxError(47001, f"{name} must be 0 or 1")


def _check_article(state: SandboxState, account: Account, article: Any) -> dict[str, Any]:
    if not isinstance(article, dict):
        raise WxError(47001)
    article_type = article.get("article_type", "news")
    if article_type not in ("news", "newspic"):
        raise WxError(47001, "invalid article_type")
    title = article.get("title")
    if not isinstance(title, str) or not title.strip():
        raise WxError(47001, "title missing")
    if len(title) > 32:
        raise WxError(45003)
    author = str(article.get("author") or "")
    if len(author) > 16:
        raise WxError(45110)
    digest = str(article.get("digest") or "")
    if len(digest) > 128:
        raise WxError(45004)
    content = article.get("content")
    if not isinstance(content, str) or not content.strip():
        raise WxError(44004)
    if len(content) >= 20000 or len(content.encode("utf-8")) >= 1024 * 1024:
        raise WxError(45002)
    thumb_id = str(article.get("thumb_media_id") or "")
    thumb = state.media.get(thumb_id)
    needs_thumb = bool(thumb_id) or article_type == "news"
    if needs_thumb and (thumb is None or thumb.uid != account.uid or thumb.kind not in ("image", "thumb")):
        raise WxError(40007)
    cleaned = _clean_content(content)
    return {
        "article_type": article_type,
        "title": title,
        "author": author,
        "digest": digest or strip_html(cleaned)[:54],
        "content": cleaned,
        "content_source_url": str(article.get("content_source_url") or ""),
        "thumb_media_id": thumb_id,
        "thumb_url": str(thumb.extra.get("url", "")) if thumb else "",
        "need_open_comment": _flag(article, "need_open_comment"),
        "only_fans_can_comment": _flag(article, "only_fans_can_comment"),
        "is_deleted": False,
    }


@bp.route("/cgi-bin/draft/add", methods=["GET", "POST"])
def draft_add() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        _quota(state, account, "draft/add")
        articles = body.get("articles")
        if not isinstance(articles, list):
            raise WxError(47001)
        if not articles:
            raise WxError(44003)
        checked = [_check_article(state, account, a) for a in articles]
        draft = Draft(media_id=secrets.token_urlsafe(32), uid=account.uid, articles=checked, created_at=state.now())
        state.drafts[draft.media_id] = draft
        state.dirty = True
        return jsonify({"media_id": draft.media_id})


def _owned_draft(state: SandboxState, account: Account, body: dict[str, Any]) -> Draft:
    draft = state.drafts.get(str(body.get("media_id") or ""))
    if draft is None or draft.uid != account.uid:
        raise WxError(40007)
    return draft


@bp.route("/cgi-bin/draft/get", methods=["GET", "POST"])
def draft_get() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        _quota(state, account, "draft/get")
        draft = _owned_draft(state, account, body)
        return jsonify({"news_item": [dict(a) for a in draft.articles]})


@bp.route("/cgi-bin/draft/delete", methods=["GET", "POST"])
def draft_delete() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        draft = _owned_draft(state, account, body)
        del state.drafts[draft.media_id]
        state.dirty = True
        return _ok()


# ---- publishing --------------------------------------------------------------------------
def _final_status(state: SandboxState, articles: list[dict[str, Any]]) -> tuple[int, list[int]]:
    rejected: list[int] = []
    original: list[int] = []
    for idx, article in enumerate(articles, start=1):
        text = f"{article['title']} {article['digest']} {strip_html(article['content'])}"
        if find_word(text, state.config["reject_words"]):
            rejected.append(idx)
        elif find_word(text, state.config["wechat_original_fail_words"]):
            original.append(idx)
    if rejected:
        return 4, rejected
    if original:
        return 2, original
    return 0, []


@bp.route("/cgi-bin/freepublish/submit", methods=["GET", "POST"])
def freepublish_submit() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        _quota(state, account, "freepublish/submit")
        draft = _owned_draft(state, account, body)
        final, fail_idx = _final_status(state, draft.articles)
        article_id = secrets.token_urlsafe(24)
        job = PublishJob(
            publish_id=state.new_digits(10, state.jobs),
            uid=account.uid,
            draft_id=draft.media_id,
            article_id=article_id,
            msg_data_id=state.new_digits(10),
            created_at=state.now(),
            polls_left=int(state.config["wechat_publish_polls"]),
            final_status=final,
            fail_idx=fail_idx,
        )
        state.jobs[job.publish_id] = job
        articles = [dict(a) for a in draft.articles]
        first = articles[0]
        state.add_post(
            Post(
                platform=PLATFORM,
                uid=account.uid,
                post_id=article_id,
                kind="article",
                title=first["title"],
                text=first["digest"],
                url=article_url(article_id, 1),
                created_at=state.now(),
                state="publishing",
                content=first["content"],
                media=[a["thumb_media_id"] for a in articles if a["thumb_media_id"]],
                extra={
                    "publish_id": job.publish_id,
                    "msg_data_id": job.msg_data_id,
                    "articles": articles,
                    "update_time": int(state.now()),
                },
            )
        )
        if job.polls_left <= 0:
            _finish(state, job)
        return _ok(publish_id=job.publish_id, msg_data_id=job.msg_data_id)


def settle_jobs(state: SandboxState) -> None:
    """Jobs finish on their own after ``wechat_publish_seconds``, as on the real platform,
    whether or not anybody polls them (a client whose submit answer was lost never can)."""
    delay = float(state.config["wechat_publish_seconds"])
    now = state.now()
    for job in state.jobs.values():
        if job.status == 1 and now - job.created_at >= delay:
            _finish(state, job)


def _finish(state: SandboxState, job: PublishJob) -> None:
    job.status = job.final_status
    post = state.post(PLATFORM, job.article_id)
    if post is not None:
        post.state = {0: "published", 3: "failed"}.get(job.status, "rejected")
        post.extra["update_time"] = int(state.now())
    state.dirty = True


def _job_payload(state: SandboxState, job: PublishJob) -> dict[str, Any]:
    payload: dict[str, Any] = {"publish_id": job.publish_id, "publish_status": job.status}
    if job.status == 1:
        return payload
    if job.status != 0:
        payload["fail_idx"] = list(job.fail_idx)
        return payload
    post = state.post(PLATFORM, job.article_id)
    articles = post.extra.get("articles", []) if post else []
    if post is not None and post.deleted:
        payload["publish_status"] = 6 if post.removed_by == "platform" else 5
    payload.update(
        article_id=job.article_id,
        article_detail={
            "count": len(articles),
            "item": [{"idx": i, "article_url": article_url(job.article_id, i)} for i in range(1, len(articles) + 1)],
        },
        fail_idx=[],
    )
    return payload


@bp.route("/cgi-bin/freepublish/get", methods=["GET", "POST"])
def freepublish_get() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        settle_jobs(state)
        account = _auth(state)
        _quota(state, account, "freepublish/get")
        job = state.jobs.get(str(body.get("publish_id", "")))
        if job is None or job.uid != account.uid:
            raise WxError(47001, "invalid publish_id")
        if job.status == 1:
            if job.polls_left > 0:
                job.polls_left -= 1
                state.dirty = True
            else:
                _finish(state, job)
        return jsonify(_job_payload(state, job))


def _owned_article(state: SandboxState, account: Account, body: dict[str, Any]) -> Post:
    post = state.post(PLATFORM, str(body.get("article_id") or ""))
    if post is None or post.uid != account.uid or post.state != "published":
        raise WxError(53600)
    return post


@bp.route("/cgi-bin/freepublish/delete", methods=["GET", "POST"])
def freepublish_delete() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        _quota(state, account, "freepublish/delete")
        post = _owned_article(state, account, body)
        if post.deleted:
            raise WxError(53600)
        articles: list[dict[str, Any]] = post.extra.get("articles", [])
        try:
            index = int(body.get("index") or 0)
        except (TypeError, ValueError) as exc:
            raise WxError(47001) from exc
        if index < 0 or index > len(articles):
            raise WxError(47001, "invalid index")
        targets = articles if index == 0 else [articles[index - 1]]
        for article in targets:
            article["is_deleted"] = True
        if all(a.get("is_deleted") for a in articles):
            state.delete_post(post, "user")
        state.dirty = True
        return _ok()


def news_items(post: Post, with_content: bool = True) -> list[dict[str, Any]]:
    items = []
    for idx, article in enumerate(post.extra.get("articles", []), start=1):
        item = {k: v for k, v in article.items() if k != "article_type"}
        item["content"] = article.get("content", "") if with_content else ""
        item["url"] = article_url(post.post_id, idx)
        item["is_deleted"] = bool(article.get("is_deleted")) or post.deleted
        items.append(item)
    return items


@bp.route("/cgi-bin/freepublish/batchget", methods=["GET", "POST"])
def freepublish_batchget() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        settle_jobs(state)
        account = _auth(state)
        _require_usable(account)
        _quota(state, account, "freepublish/batchget")
        try:
            offset = int(body.get("offset", 0))
            count = int(body.get("count", 0))
            no_content = int(body.get("no_content", 0))
        except (TypeError, ValueError) as exc:
            raise WxError(47001) from exc
        if offset < 0 or not 1 <= count <= 20 or no_content not in (0, 1):
            raise WxError(47001)
        posts = [p for p in state.posts_of(PLATFORM, account.uid) if p.state == "published"]
        posts.sort(key=lambda p: (int(p.extra.get("update_time", p.created_at)), p.post_id), reverse=True)
        window = posts[offset : offset + count]
        items = [
            {
                "article_id": p.post_id,
                "content": {
                    "news_item": news_items(p, with_content=not no_content),
                    "create_time": int(p.created_at),
                    "update_time": int(p.extra.get("update_time", p.created_at)),
                },
                "update_time": int(p.extra.get("update_time", p.created_at)),
            }
            for p in window
        ]
        return jsonify({"total_count": len(posts), "item_count": len(items), "item": items})


@bp.route("/cgi-bin/freepublish/getarticle", methods=["GET", "POST"])
def freepublish_getarticle() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        settle_jobs(state)
        account = _auth(state)
        _require_usable(account)
        _quota(state, account, "freepublish/getarticle")
        post = _owned_article(state, account, body)
        return jsonify({"news_item": news_items(post)})


# ---- quotas ------------------------------------------------------------------------------
@bp.route("/cgi-bin/openapi/quota/get", methods=["GET", "POST"])
def quota_get() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        name = str(body.get("cgi_path") or "").strip()
        name = name.removeprefix("/cgi-bin/").removeprefix("cgi-bin/").strip("/")
        limit = state.config["wechat_daily_quota"].get(name)
        if limit is None:
            raise WxError(76021)
        used = state.count(_quota_key(state, account.uid, name))
        return _ok(quota={"daily_limit": limit, "used": used, "remain": max(limit - used, 0)})


@bp.route("/cgi-bin/clear_quota", methods=["GET", "POST"])
def clear_quota() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
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
def search() -> Response:
    return search_accounts(PLATFORM)


# ---- seeding (used by /_sandbox/accounts) ------------------------------------------------
def seed_post(state: SandboxState, account: Account, text: str, title: str, created_at: float) -> Post:
    post_id = secrets.token_urlsafe(24)
    content = f"<p>{escape(text)}</p>"
    article = {
        "article_type": "news",
        "title": title or text[:20],
        "author": "",
        "digest": text[:54],
        "content": content,
        "content_source_url": "",
        "thumb_media_id": "",
        "thumb_url": "",
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
        "is_deleted": False,
    }
    return state.add_post(
        Post(
            platform=PLATFORM,
            uid=account.uid,
            post_id=post_id,
            kind="article",
            title=article["title"],
            text=text,
            url=article_url(post_id, 1),
            created_at=created_at,
            source="seed",
            content=content,
            extra={"articles": [article], "update_time": int(created_at)},
        )
    )
