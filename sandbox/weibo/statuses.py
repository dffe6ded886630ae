"""Weibo statuses and users: ``statuses/share`` (the one write API), ``show``, ``destroy``,
``user_timeline``, ``users/show``; the retired write APIs; account search and weibo.com links."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, redirect, request

from sandbox.common import (
    find_word,
    media_url,
    post_url,
    read_upload,
    search_accounts,
)
from sandbox.endpoint import Call
from sandbox.state import Account, Media, Post, SandboxState
from sandbox.weibo.core import (
    _TOPIC,
    _URL,
    PLATFORM,
    WEIBO,
    WbError,
    _new_id,
    _safe_url,
    bp,
    weibo_length,
)
from sandbox.weibo.objects import status_object, user_object


def _check_pic(upload: Any) -> None:
    if upload.ext not in {"jpg", "jpeg", "gif", "png"}:
        raise WbError(20005)
    if len(upload.data) >= 5 * 1024 * 1024:
        raise WbError(20006)


def over_hourly_limit(state: SandboxState, account: Account) -> bool:
    """``weibo_posts_per_hour`` posts per user per hour (statuses and long articles together)."""
    limit = int(state.config["weibo_posts_per_hour"])
    return state.window_hits(f"weibo:posts:{account.uid}", 3600) >= limit


@bp.route("/2/statuses/share.json", methods=["GET", "POST"])
@WEIBO.endpoint(usable=True)
def share(call: Call) -> Response:
    state, params, account = call.state, call.params, call.account
    upload = read_upload("pic")
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
    if over_hourly_limit(state, account):
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
@WEIBO.endpoint(method=None, params=False, auth=False)
def retired_write_api(call: Call) -> Response:
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
@WEIBO.endpoint(method=None, usable=True)
def show(call: Call) -> Response:
    post = _own_post(call.state, call.account, call.params, 20101)
    return jsonify(status_object(call.state, post))


@bp.route("/2/statuses/destroy.json", methods=["GET", "POST"])
@WEIBO.endpoint(usable=True)
def destroy(call: Call) -> Response:
    state = call.state
    if not state.config["weibo_destroy_enabled"]:
        raise WbError(10014)
    post = _own_post(state, call.account, call.params, 20102)
    state.delete_post(post, "user")
    return jsonify(status_object(state, post))


@bp.route("/2/users/show.json", methods=["GET"])
@WEIBO.endpoint(method=None, usable=True)
def users_show(call: Call) -> Response:
    state, params = call.state, call.params
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
@WEIBO.endpoint(method=None, usable=True)
def user_timeline(call: Call) -> Response:
    state, params, account = call.state, call.params, call.account
    try:
        count = int(params.get("count") or 20)
        page = int(params.get("page") or 1)
    except ValueError as exc:
        raise WbError(10017, "count") from exc
    visible = [p for p in state.posts_of(PLATFORM, account.uid) if p.visible]
    # Only the newest few are served (the open API's cap), but ``total_number`` counts them all.
    newest = visible[: int(state.config["weibo_timeline_count"])]
    window = newest[(max(page, 1) - 1) * max(count, 1) : max(page, 1) * max(count, 1)]
    return jsonify(
        {
            "statuses": [status_object(state, p) for p in window],
            "total_number": len(visible),
            "previous_cursor": 0,
            "next_cursor": 0,
        }
    )


@bp.route("/_search/accounts", methods=["GET"])
@WEIBO.endpoint(method=None, params=False, auth=False)
def search(call: Call) -> Response:
    return search_accounts(PLATFORM)


@bp.route("/<uid>/<int:post_id>", methods=["GET"])
@WEIBO.endpoint(method=None, params=False, auth=False)
def weibo_com_link(call: Call) -> Response:
    """``weibo.com/<uid>/<id>`` style links lead to the sandbox post page."""
    return redirect(post_url(PLATFORM, str((request.view_args or {})["post_id"])))
