"""Douyin's chunked video upload (PROTOCOLS.md §3a): ``init_video_part_upload/`` →
``upload_video_part/?upload_id=&part_number=`` → ``complete_video_part_upload/?upload_id=``.

Uploads in progress live in process memory only (not in the ``--state`` file).
"""

from __future__ import annotations

import base64
import secrets
import weakref
from dataclasses import dataclass, field

from flask import Response, request

from sandbox.common import Upload, json_body, read_upload
from sandbox.douyin.content import NEW, upload_media
from sandbox.douyin.core import MAX_CHUNKED_VIDEO_BYTES, MAX_PART_BYTES, BdError, reply, route
from sandbox.endpoint import Call
from sandbox.state import Account, SandboxState


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


@route(("douyin",), f"{NEW}/init_video_part_upload/", "init_video_part_upload", ["POST"])
def init_video_part_upload(call: Call) -> Response:
    uploads = _part_uploads(call.state)
    upload_id = _new_upload_id(uploads)
    uploads[upload_id] = PartUpload(upload_id, call.platform, call.account, call.state.now())
    return reply(call.platform, {"upload_id": upload_id})


@route(("douyin",), f"{NEW}/upload_video_part/", "upload_video_part", ["POST"])
def upload_video_part(call: Call) -> Response:
    data = read_upload("video")
    upload = _part_upload(call.state, call.account, _part_param("upload_id"))
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
    return reply(call.platform, {})


@route(("douyin",), f"{NEW}/complete_video_part_upload/", "complete_video_part_upload", ["POST"])
def complete_video_part_upload(call: Call) -> Response:
    state, account, platform = call.state, call.account, call.platform
    upload = _part_upload(state, account, _part_param("upload_id"))
    if not upload.parts:
        raise BdError("parts_missing")
    whole = Upload(upload.filename, upload.content_type, b"".join(upload.parts))
    media = upload_media(
        state,
        platform,
        account,
        whole,
        "video",
        max_video_bytes=MAX_CHUNKED_VIDEO_BYTES,
        extra={"upload": "chunked", "parts": len(upload.parts)},
    )
    del _part_uploads(state)[upload.upload_id]
    return reply(platform, {"video": {"video_id": media.media_id, "width": media.width, "height": media.height}})
