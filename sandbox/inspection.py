"""What the inspection (巡检) needs from the simulated platforms, outside their publishing APIs.

``/_sandbox`` (the sandbox's own controls):

* ``POST /_sandbox/app/posts`` ``{"platform", "uid", "text", "title"?, "created_at"?, "repost"?,
  "mass"?}`` — a post made in the platform's own app, outside any API (so not through govmedia);
  ``source: "app"``; ``mass: true`` (WeChat) makes it a 群发 sent in the 公众平台 backend;
* ``POST /_sandbox/posts/<platform>/<post_id>/edit`` ``{"text"?, "title"?}`` — the post's text is
  changed after publishing (an edit in the app, or a hijacked account); earlier texts kept in
  ``extra.edits``;
* removal by the user or by the platform is ``POST /_sandbox/posts/<platform>/<post_id>/remove``
  (sandbox/admin.py; WeChat then answers publish_status 5 / 6).

``/weibo-biz`` — Weibo's commercial data interface (c.api.weibo.com), app-level reads of any
account by uid with a contract token (any token starting with ``biz.``), on the documented
``*/other`` paths (open.weibo.com/wiki/C/2/users/show_batch/other, …/C/2/statuses/user_timeline/other):

* ``GET /weibo-biz/2/users/show_batch/other.json?uids=`` (comma-separated, ≤ 50) —
  ``{"users": [<user object>], "total_number", "states": [{uid: 1|0}]}`` (the shape of a recorded
  answer); a banned, deregistered or unknown account is left out of ``users`` (state 0: our reading);
* ``GET /weibo-biz/2/statuses/user_timeline/other.json?uid=&count=&page=`` — newest visible posts
  (count ≤ 25, larger is taken as 25; not capped by ``weibo_timeline_count``: the contract reads
  the whole timeline) and ``total_number``; a banned or unknown account → 403 20003.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.admin import SEEDERS, BadRequest, _platform
from sandbox.common import get_state, json_body, parse_time, post_summary
from sandbox.mass import app_mass_post
from sandbox.weibo import status_object, user_object

bp = Blueprint("sandbox_inspection", __name__, url_prefix="/_sandbox")
biz = Blueprint("sandbox_weibo_biz", __name__, url_prefix="/weibo-biz")


@bp.errorhandler(BadRequest)
def _bad_request(err: BadRequest) -> Response:
    response = jsonify({"error": str(err)})
    response.status_code = 400
    return response


def _not_found(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 404
    return response


@bp.route("/app/posts", methods=["POST"])
def app_post() -> tuple[Response, int] | Response:
    body = json_body()
    if body is None:
        raise BadRequest("请求体必须是 JSON 对象")
    platform = _platform(body.get("platform"))
    uid = str(body.get("uid") or "")
    text, title = body.get("text", ""), body.get("title", "")
    if not isinstance(text, str) or not isinstance(title, str) or not (text or title):
        raise BadRequest("text 或 title 必须是非空字符串")
    state = get_state()
    with state.lock:
        account = state.account(platform, uid)
        if account is None:
            return _not_found("账号不存在（先用 POST /_sandbox/accounts 创建）")
        try:
            created = parse_time(body.get("created_at"), state.now())
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        if body.get("mass"):
            if platform != "wechat":
                raise BadRequest("mass（群发）仅用于公众号")
            post = app_mass_post(state, account.uid, text, title, created)
        else:
            post = SEEDERS[platform](state, account, text, title, created)
        post.source = "app"
        repost = body.get("repost")
        if repost:
            if platform != "weibo":
                raise BadRequest("repost 仅用于微博")
            post.extra["repost"] = repost if isinstance(repost, dict) else True
        state.dirty = True
        return jsonify({"post": post_summary(post)}), 201


@bp.route("/posts/<platform>/<path:post_id>/edit", methods=["POST"])
def edit_post(platform: str, post_id: str) -> Response:
    _platform(platform)
    body = json_body()
    if body is None or not any(k in body for k in ("text", "title")):
        raise BadRequest("请求体须含 text 或 title")
    for key in ("text", "title"):
        if key in body and not isinstance(body[key], str):
            raise BadRequest(f"{key} 必须是字符串")
    state = get_state()
    with state.lock:
        post = state.post(platform, post_id)
        if post is None:
            return _not_found("内容不存在")
        edits: list[dict[str, Any]] = list(post.extra.get("edits") or [])
        edits.append({"at": state.now(), "text": post.text, "title": post.title})
        post.extra["edits"] = edits
        post.text = body.get("text", post.text)
        post.title = body.get("title", post.title)
        for article in (post.extra.get("articles") or [])[:1]:  # WeChat lists the first article's digest
            article["digest"] = post.text
            article["title"] = post.title
        state.dirty = True
        return jsonify({"post": post_summary(post)})


def _biz_error(code: int, message: str, status: int) -> Response:
    response = jsonify({"error": message, "error_code": code, "request": request.path})
    response.status_code = status
    return response


def _biz_auth() -> Response | None:
    token = str(request.args.get("access_token") or "")
    if not token:
        return _biz_error(21301, "auth faild!", 401)
    if not token.startswith("biz."):
        return _biz_error(21332, "invalid_access_token", 401)
    return None


@biz.route("/2/users/show_batch/other.json", methods=["GET"])
def biz_users() -> Response:
    denied = _biz_auth()
    if denied is not None:
        return denied
    uids = [u for u in str(request.args.get("uids") or "").split(",") if u.strip()]
    if not uids:
        return _biz_error(10016, "miss required parameter (uids)", 400)
    if len(uids) > 50:
        return _biz_error(10017, "parameter (uids)'s value invalid", 400)
    state = get_state()
    with state.lock:
        found = {uid: state.account("weibo", uid.strip()) for uid in uids}
        users = [user_object(state, a) for a in found.values() if a is not None and a.usable]
        states = [{uid: 1 if a is not None and a.usable else 0} for uid, a in found.items()]
        return jsonify({"users": users, "total_number": len(users), "states": states})


@biz.route("/2/statuses/user_timeline/other.json", methods=["GET"])
def biz_timeline() -> Response:
    denied = _biz_auth()
    if denied is not None:
        return denied
    uid = str(request.args.get("uid") or "")
    if not uid:
        return _biz_error(10016, "miss required parameter (uid)", 400)
    try:
        count = min(max(int(request.args.get("count") or 20), 1), 25)
        page = max(int(request.args.get("page") or 1), 1)
    except ValueError:
        return _biz_error(10017, "parameter (count)'s value invalid", 400)
    state = get_state()
    with state.lock:
        account = state.account("weibo", uid)
        if account is None or not account.usable:
            return _biz_error(20003, "User does not exists!", 403)
        visible = [p for p in state.posts_of("weibo", uid) if p.visible]
        window = visible[(page - 1) * count : page * count]
        return jsonify({"statuses": [status_object(state, p) for p in window], "total_number": len(visible)})


def register(app: Any) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(biz)
