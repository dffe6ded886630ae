"""ByteDance content endpoints: uploads, publishing (video, image-text), lists and data, in
Douyin's new (``/api/douyin/v1/video/*``) and legacy (``/video/*``, ``/image/*``) styles and
on Toutiao (``/toutiao/video/*``); account search on both."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, request

from sandbox.common import Upload, find_word, image_size, post_url, read_upload, search_accounts
from sandbox.douyin.core import (
    IMAGE_EXTS,
    MAX_IMAGE_BYTES,
    MAX_VIDEO_BYTES,
    PLATFORMS,
    VIDEO_EXTS,
    BdError,
    _new_item_id,
    item_view,
    reply,
    route,
)
from sandbox.endpoint import Call
from sandbox.state import Account, Media, Post, SandboxState

NEW = "/api/douyin/v1/video"


def upload_media(
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


def create_post(
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


@route(("douyin",), f"{NEW}/upload_video/", "upload_video", ["POST"])
@route(("douyin",), "/video/upload/", "legacy_upload", ["POST"])
@route(("toutiao",), "/toutiao/video/upload/", "upload", ["POST"])
def upload_video(call: Call) -> Response:
    return _upload(call, "video", "video")


@route(("douyin",), f"{NEW}/upload_image/", "upload_image", ["POST"])
@route(("douyin",), "/image/upload/", "legacy_image_upload", ["POST"])
def upload_image(call: Call) -> Response:
    return _upload(call, "image", "image")


def _upload(call: Call, field_name: str, kind: str) -> Response:
    data = read_upload(field_name)
    media = upload_media(call.state, call.platform, call.account, data, kind)
    key = "video" if kind == "video" else "image"
    ident = "video_id" if kind == "video" else "image_id"
    return reply(call.platform, {key: {ident: media.media_id, "width": media.width, "height": media.height}})


@route(("douyin",), f"{NEW}/create_video/", "create_video", ["POST"], params=True)
@route(("douyin",), "/video/create/", "legacy_create", ["POST"], params=True)
@route(("toutiao",), "/toutiao/video/create/", "create", ["POST"], params=True)
def create_video(call: Call) -> Response:
    state, body, account, platform = call.state, call.params, call.account, call.platform
    video_id = str(body.get("video_id") or "")
    if not video_id:
        raise BdError("missing_param", "缺少参数video_id")
    media = _owned_media(state, platform, account, video_id, "video")
    text = str(body.get("text") or "")
    if platform == "toutiao":
        existing = next((p for p in state.posts_of(platform, account.uid) if p.extra.get("video_id") == video_id), None)
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
    post = create_post(state, account, kind="video", text=text, media=[video_id], extra=extra)
    return reply(platform, {"item_id": post.post_id})


@route(("douyin",), f"{NEW}/create_image_text/", "create_image_text", ["POST"], params=True)
@route(("douyin",), "/image/create/", "legacy_image_create", ["POST"], params=True)
def create_image_text(call: Call) -> Response:
    state, body, account, platform = call.state, call.params, call.account, call.platform
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
    post = create_post(state, account, kind="image_text", text=str(body.get("text") or ""), media=ids, extra={})
    return reply(platform, {"item_id": post.post_id})


@route(("douyin",), f"{NEW}/video_list/", "video_list", ["GET"])
@route(("douyin",), "/video/list/", "legacy_list", ["GET"])
@route(("toutiao",), "/toutiao/video/list/", "list", ["GET"])
def video_list(call: Call) -> Response:
    state, account, platform = call.state, call.account, call.platform
    try:
        cursor = max(int(request.args.get("cursor", "0") or 0), 0)
        count = min(max(int(request.args.get("count", "10") or 10), 1), 20)
    except ValueError as exc:
        raise BdError("bad_param", "cursor/count 必须是整数") from exc
    items = [p for p in state.posts_of(platform, account.uid) if p.visible and p.kind in ("video", "image_text")]
    window = items[cursor : cursor + count]
    more = cursor + len(window) < len(items)
    # The last page answers cursor 0 with has_more false, as the maintained SDK's model sample
    # (SKIT.FlurlHttpClient.ByteDance DouyinVideoListV1Response.json) does.
    rows = [item_view(state, p) for p in window]
    return reply(platform, {"list": rows, "cursor": cursor + len(window) if more else 0, "has_more": more})


@route(("douyin",), f"{NEW}/video_data/", "video_data", ["POST"], params=True)
@route(("douyin",), "/video/data/", "legacy_data", ["POST"], params=True)
@route(("toutiao",), "/toutiao/video/data/", "data", ["POST"], params=True)
def video_data(call: Call) -> Response:
    state, body, account, platform = call.state, call.params, call.account, call.platform
    ids = body.get("item_ids")
    if not isinstance(ids, list) or not ids:
        raise BdError("missing_param", "缺少参数item_ids")
    found = [state.post(platform, str(i)) for i in ids]
    rows = [item_view(state, p) for p in found if p is not None and p.visible and p.uid == account.uid]
    return reply(platform, {"list": rows})


@route(("douyin",), "/api/douyin/v1/<path:rest>", "v1_other", ["GET", "POST"])
@route(("douyin",), "/video/delete/", "legacy_delete", ["POST"])
@route(("toutiao",), "/toutiao/video/delete/", "delete", ["POST"])
def unsupported(call: Call) -> Response:
    """Endpoints the app has not been granted: the caller is checked, then ``no_capability``."""
    raise BdError("no_capability")


@route(PLATFORMS, "/_search/accounts", "search", ["GET"], auth=False)
def search(call: Call) -> Response:
    return search_accounts(call.platform)
