"""WeChat media: permanent material and images for article bodies."""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Response, jsonify, request

from sandbox.common import Upload, media_url, read_upload
from sandbox.endpoint import Call
from sandbox.state import Account, Media, SandboxState
from sandbox.wechat.core import (
    _MATERIAL_RULES,
    PLATFORM,
    WECHAT,
    WxError,
    bp,
)


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
@WECHAT.endpoint(params=False, usable=True)
def add_material(call: Call) -> Response:
    state = call.state
    account = call.account
    upload = read_upload("media")
    description = request.form.get("description")
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
@WECHAT.endpoint(params=False, usable=True)
def uploadimg(call: Call) -> Response:
    state = call.state
    account = call.account
    upload = read_upload("media")
    if upload is None or not upload.data:
        raise WxError(41005)
    if upload.ext not in {"jpg", "jpeg", "png"}:
        raise WxError(40005)
    if len(upload.data) >= 1024 * 1024:
        raise WxError(40009)
    media = _store_media(state, account, "uploadimg", upload)
    media.extra["url"] = media_url(media.media_id)
    return jsonify({"url": media.extra["url"]})
