"""The sandbox's own JSON API under ``/_sandbox``: accounts, posts, faults, config, reset, media."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox import douyin, weibo
from sandbox.common import (
    get_state,
    iso,
    json_body,
    last_post_at,
    parse_time,
    post_summary,
    posts_count,
    profile_url,
)
from sandbox.config import ConfigError
from sandbox.faults import FaultError
from sandbox.state import ACCOUNT_STATUSES, PLATFORMS, Account, Post, SandboxState
from sandbox.wechat import core as wechat_core
from sandbox.wechat import publishing as wechat_publishing

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")

Seeder = Callable[[SandboxState, Account, str, str, float], Post]
SEEDERS: dict[str, Seeder] = {
    "wechat": wechat_publishing.seed_post,
    "weibo": weibo.seed_post,
    "douyin": douyin.seed_post,
    "toutiao": douyin.seed_post,
}
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "wechat": ("app_id", "app_secret"),
    "weibo": ("access_token",),
    "douyin": ("client_key", "client_secret", "access_token", "refresh_token", "open_id"),
    "toutiao": ("client_key", "client_secret", "access_token", "refresh_token", "open_id"),
}


class BadRequest(Exception):
    """A 400 with a Chinese message."""


@bp.errorhandler(BadRequest)
def _bad_request(err: BadRequest) -> Response:
    response = jsonify({"error": str(err)})
    response.status_code = 400
    return response


def _platform(value: Any, allow_empty: bool = False) -> str:
    if allow_empty and not value:
        return ""
    if value not in PLATFORMS:
        raise BadRequest(f"platform 只能是 {', '.join(PLATFORMS)}")
    return str(value)


def account_view(state: SandboxState, account: Account) -> dict[str, Any]:
    return {
        "platform": account.platform,
        "uid": account.uid,
        "name": account.name,
        "subject": account.subject,
        "verified": account.verified,
        "status": account.status,
        "followers": account.followers,
        "description": account.description,
        "created_at": iso(account.created_at),
        "auto_provisioned": account.auto,
        "posts_count": posts_count(state, account),
        "last_post_at": iso(last_post_at(state, account)),
        "profile_url": profile_url(account.platform, account.uid),
    }


# ---- accounts ----------------------------------------------------------------------------
def _new_uid(state: SandboxState, platform: str) -> str:
    while True:
        uid = {
            "wechat": "gh_" + secrets.token_hex(6),
            "weibo": state.new_digits(10),
            "douyin": "_000" + secrets.token_hex(12),
            "toutiao": state.new_digits(16),
        }[platform]
        if state.account(platform, uid) is None:
            return uid


def _apply_fields(account: Account, body: dict[str, Any]) -> None:
    for name, kind in (("name", str), ("subject", str), ("description", str)):
        if name in body:
            if body[name] is None and name != "name":
                setattr(account, name, "")  # an optional field given as null: none (the default)
                continue
            if not isinstance(body[name], kind):
                raise BadRequest(f"{name} 必须是字符串")
            setattr(account, name, body[name])
    if "verified" in body:
        if not isinstance(body["verified"], bool):
            raise BadRequest("verified 必须是布尔值")
        account.verified = body["verified"]
    if "status" in body:
        if body["status"] not in ACCOUNT_STATUSES:
            raise BadRequest(f"status 只能是 {', '.join(ACCOUNT_STATUSES)}")
        account.status = body["status"]
    if "followers" in body:
        followers = body["followers"]
        if isinstance(followers, bool) or not isinstance(followers, int) or followers < 0:
            raise BadRequest("followers 必须是非负整数")
        account.followers = followers


def _seed_posts(state: SandboxState, account: Account, posts: Any) -> None:
    if not isinstance(posts, list):
        raise BadRequest("posts 必须是列表")
    specs = []
    for spec in posts:
        if not isinstance(spec, dict) or not isinstance(spec.get("text", ""), str):
            raise BadRequest("posts 的每一项必须是 {text, title?, created_at?, deleted?, repost?}")
        try:
            created = parse_time(spec.get("created_at"), state.now())
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        repost = spec.get("repost") or None
        if repost is not None and (account.platform != "weibo" or not isinstance(repost, bool | dict)):
            raise BadRequest("repost 仅用于微博，取值为 true 或 {text?, user?}")
        text, title = str(spec.get("text") or ""), str(spec.get("title") or "")
        specs.append((text, title, created, bool(spec.get("deleted")), repost))
    for key in [
        k
        for k, p in state.posts.items()
        if p.uid == account.uid and p.platform == account.platform and p.source == "seed"
    ]:
        del state.posts[key]
    for text, title, created, deleted, repost in specs:
        post = SEEDERS[account.platform](state, account, text, title, created)
        if repost is not None:
            post.extra["repost"] = repost  # a 转发: the timeline shows it with its retweeted_status
        if deleted:
            state.delete_post(post, "user")
            post.deleted_at = created


def _credentials(state: SandboxState, account: Account, body: dict[str, Any]) -> dict[str, str]:
    platform = account.platform
    creds = account.credentials
    rotate = bool(body.get("rotate_credentials"))
    if platform == "wechat":
        app_id = str(body.get("app_id") or ("" if rotate else creds.get("app_id", "")) or "wx" + secrets.token_hex(8))
        app_secret = str(
            body.get("app_secret") or ("" if rotate else creds.get("app_secret", "")) or secrets.token_hex(16)
        )
        if creds.get("app_id") and creds.get("app_id") != app_id:
            state.apps.pop(("wechat", creds["app_id"]), None)
        wechat_core.register_app(state, account, app_id, app_secret)
    elif platform == "weibo":
        if rotate or "access_token" not in creds:
            creds["access_token"] = weibo.issue_account_token(state, account)
    elif rotate or "client_key" not in creds:
        douyin.issue_account_credentials(state, account)
    return {name: account.credentials[name] for name in CREDENTIAL_FIELDS[platform]}


@bp.route("/accounts", methods=["POST"])
def upsert_account() -> tuple[Response, int]:
    body = json_body()
    if body is None:
        raise BadRequest("请求体必须是 JSON 对象")
    platform = _platform(body.get("platform"))
    state = get_state()
    with state.lock:
        uid = str(body.get("uid") or "") or _new_uid(state, platform)
        account = state.account(platform, uid)
        created = account is None
        if account is None:
            account = Account(platform=platform, uid=uid, name=uid, created_at=state.now())
        _apply_fields(account, body)
        state.accounts[(platform, uid)] = account
        account.auto = False
        if "posts" in body:
            _seed_posts(state, account, body["posts"])
        creds = _credentials(state, account, body)
        state.dirty = True
        payload = {
            **creds,
            "platform": platform,
            "uid": uid,
            "created": created,
            "account": account_view(state, account),
            "credentials": creds,
        }
        return jsonify(payload), 201 if created else 200


@bp.route("/accounts", methods=["GET"])
def list_accounts() -> Response:
    platform = _platform(request.args.get("platform"), allow_empty=True)
    state = get_state()
    with state.lock:
        rows = [
            account_view(state, a)
            for a in sorted(state.accounts.values(), key=lambda a: (a.platform, a.uid))
            if not platform or a.platform == platform
        ]
    return jsonify({"accounts": rows})


# ---- posts -------------------------------------------------------------------------------
@bp.route("/posts", methods=["GET"])
def list_posts() -> Response:
    platform = _platform(request.args.get("platform"), allow_empty=True)
    uid = request.args.get("uid") or None
    state = get_state()
    with state.lock:
        everything = state.posts_of(None, uid)
        rows = [post_summary(p) for p in everything if not platform or p.platform == platform]
        counts = {p: sum(1 for post in everything if post.platform == p) for p in PLATFORMS}
    return jsonify({"posts": rows, "counts": counts})


@bp.route("/posts/<platform>/<path:post_id>/remove", methods=["POST"])
def remove_post(platform: str, post_id: str) -> Response:
    """Simulate a deletion outside the API: by the owner in the app, or by the platform."""
    _platform(platform)
    body = json_body() or {}
    by = body.get("by", "user")
    if by not in ("user", "platform"):
        raise BadRequest("by 只能是 user 或 platform")
    state = get_state()
    with state.lock:
        post = state.post(platform, post_id)
        if post is None:
            response = jsonify({"error": "内容不存在"})
            response.status_code = 404
            return response
        state.delete_post(post, by)
        return jsonify({"post": post_summary(post)})


# ---- faults, config, reset ---------------------------------------------------------------
@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> tuple[Response, int]:
    state = get_state()
    if request.method == "DELETE":
        state.faults.clear()
        return jsonify({"faults": []}), 200
    if request.method == "POST":
        body = json_body()
        if body is None:
            raise BadRequest("请求体必须是 JSON 对象")
        try:
            rule = state.faults.add(body)
        except FaultError as exc:
            raise BadRequest(str(exc)) from exc
        return jsonify({"fault": rule, "faults": state.faults.rules()}), 201
    return jsonify({"faults": state.faults.rules()}), 200


@bp.route("/config", methods=["GET", "POST"])
def config() -> Response:
    state = get_state()
    if request.method == "POST":
        body = json_body()
        if body is None:
            raise BadRequest("请求体必须是 JSON 对象")
        try:
            return jsonify(state.update_config(body))
        except ConfigError as exc:
            raise BadRequest(str(exc)) from exc
    with state.lock:
        return jsonify(dict(state.config))


@bp.route("/reset", methods=["POST"])
def reset() -> Response:
    get_state().reset()
    return jsonify({"ok": True})


@bp.route("/health", methods=["GET"])
def health() -> Response:
    return jsonify({"ok": True, "platforms": list(PLATFORMS)})


@bp.route("/media", methods=["GET"])
def list_media() -> Response:
    """What was uploaded (``?platform=``, ``?kind=`` e.g. ``uploadimg``): to count uploads."""
    platform = _platform(request.args.get("platform"), allow_empty=True)
    kind = request.args.get("kind") or None
    state = get_state()
    with state.lock:
        rows = [
            {"media_id": m.media_id, "platform": m.platform, "uid": m.uid, "kind": m.kind, "size": m.size}
            | {"filename": m.filename, "url": str(m.extra.get("url", ""))}
            for m in state.media.values()
            if (not platform or m.platform == platform) and (kind is None or m.kind == kind)
        ]
    return jsonify({"media": rows})


@bp.route("/media/<media_id>", methods=["GET"])
def media(media_id: str) -> Response:
    state = get_state()
    with state.lock:
        record = state.media.get(media_id)
        data = state.media_data(media_id) if record else None
    if record is None or data is None:
        response = jsonify({"error": "媒体不存在"})
        response.status_code = 404
        return response
    return Response(data, mimetype=record.content_type or "application/octet-stream")
