"""Helpers shared by the platform modules: state access, URLs, time, text, uploads, faults."""

from __future__ import annotations

import html
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, jsonify, request

from sandbox.faults import FaultHit
from sandbox.state import Account, Post, SandboxState

CN_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
EXTENSION_KEY = "govmedia_sandbox"
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def get_state() -> SandboxState:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


# ---- URLs --------------------------------------------------------------------------------
def public_base() -> str:
    configured = str(get_state().config.get("public_base_url") or "").rstrip("/")
    return configured or request.host_url.rstrip("/")


def relink(url: str) -> str:
    """A stored sandbox link (``…/_sandbox/…``) on this request's base: a post made while
    seeding (``http://localhost``) or before a restart on another port still opens."""
    path, sep, rest = url.partition("/_sandbox/")
    if not sep or not path.startswith(("http://", "https://")) or "/" in path.split("://", 1)[1]:
        return url
    return f"{public_base()}/_sandbox/{rest}"


def post_url(platform: str, post_id: str) -> str:
    """The public page of a post, served by the sandbox (``/_sandbox/p/<platform>/<post_id>``)."""
    return f"{public_base()}/_sandbox/p/{platform}/{quote(post_id, safe='')}"


def media_url(media_id: str) -> str:
    return f"{public_base()}/_sandbox/media/{quote(media_id, safe='')}"


def profile_url(platform: str, uid: str) -> str:
    return f"{public_base()}/_sandbox/timeline/{platform}?uid={quote(uid, safe='')}"


def sub_path(prefix: str) -> str:
    """The request path below a platform prefix, e.g. ``/cgi-bin/token`` for ``/wechat``."""
    path = request.path
    return path[len(prefix) :] if path.startswith(prefix) else path


# ---- time --------------------------------------------------------------------------------
def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, CN_TZ).isoformat(timespec="seconds")


def cn_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, CN_TZ).strftime("%Y-%m-%d %H:%M")


def parse_time(value: Any, default: float) -> float:
    """An ISO 8601 string (naive means Beijing time) or epoch seconds; ``default`` if absent."""
    if value is None or value == "":
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"无法识别的时间：{value}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=CN_TZ)
        return parsed.timestamp()
    raise ValueError(f"无法识别的时间：{value!r}")


# ---- text --------------------------------------------------------------------------------
def strip_html(markup: str) -> str:
    return _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", markup or ""))).strip()


def find_word(text: str, words: list[str]) -> str | None:
    for word in words:
        if word and word in text:
            return word
    return None


def log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + get_state().new_secret(10).upper()


# ---- uploads -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes

    @property
    def ext(self) -> str:
        if "." in self.filename:
            return self.filename.rsplit(".", 1)[1].lower()
        return sniff_ext(self.data) or ""


def read_upload(field_name: str) -> Upload | None:
    """The multipart file ``field_name`` of this request, read fully, or None."""
    storage = request.files.get(field_name)
    if storage is None:
        return None
    data = storage.read()
    return Upload(filename=storage.filename or "", content_type=storage.mimetype or "", data=data)


def sniff_ext(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"GIF8"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    if len(data) > 12 and data[4:8] == b"ftyp":
        return "mp4"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, GIF or JPEG; (0, 0) when unknown."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"GIF8") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 0, 0


# ---- request parameters ------------------------------------------------------------------
def json_body() -> dict[str, Any] | None:
    """The JSON object body, or None when the body is not a JSON object."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def all_params() -> dict[str, Any]:
    """Query string, then form fields, then a JSON object body (later wins)."""
    params: dict[str, Any] = dict(request.args.items())
    params.update(request.form.items())
    body = json_body()
    if body:
        params.update(body)
    return params


# ---- faults ------------------------------------------------------------------------------
FaultRenderer = Callable[[FaultHit, str], Response]


def run_faults(platform: str, path: str, render: FaultRenderer) -> Response | None:
    """Apply an injected fault: sleep for ``timeout``; otherwise the platform's error answer."""
    state = get_state()
    hit = state.faults.take(platform, path)
    if hit is None:
        return None
    if hit.error == "timeout":
        delay = hit.delay if hit.delay is not None else float(state.config["timeout_delay"])
        time.sleep(max(delay, 0.0))
        return None
    response = render(hit, path)
    if hit.http_status is not None:
        response.status_code = hit.http_status
    if hit.retry_after is not None and hit.error.startswith("rate_limit"):
        response.headers["Retry-After"] = f"{hit.retry_after:g}"  # instead of waiting for the window's end
    response.headers["X-Sandbox-Fault"] = hit.error
    return response


# ---- accounts ----------------------------------------------------------------------------
def last_post_at(state: SandboxState, account: Account) -> float | None:
    for post in state.posts_of(account.platform, account.uid):
        if post.visible:
            return post.created_at
    return None


def posts_count(state: SandboxState, account: Account) -> int:
    return sum(1 for p in state.posts_of(account.platform, account.uid) if p.visible)


def search_accounts(platform: str) -> Response:
    """``GET {prefix}/_search/accounts?q=&page=&count=`` (CONTRACTS.md)."""
    state = get_state()
    keyword = (request.args.get("q") or "").strip().lower()
    try:
        page = max(int(request.args.get("page", "1")), 1)
        count = min(max(int(request.args.get("count", "50")), 1), 200)
    except ValueError:
        return _json_error("page 和 count 必须是整数", 400)
    with state.lock:
        found = [
            a
            for a in sorted(state.platform_accounts(platform), key=lambda a: a.uid)
            if not keyword or keyword in a.name.lower() or keyword in a.subject.lower() or keyword == a.uid.lower()
        ]
        window = found[(page - 1) * count : page * count]
        rows = [
            {
                "uid": a.uid,
                "name": a.name,
                "subject": a.subject,
                "verified": a.verified,
                "profile_url": profile_url(platform, a.uid),
                "followers": a.followers,
                "posts_count": posts_count(state, a),
                "last_post_at": iso(last_post_at(state, a)),
                "status": a.status,
            }
            for a in window
        ]
    return jsonify({"accounts": rows, "has_more": page * count < len(found)})


def _json_error(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def post_summary(post: Post) -> dict[str, Any]:
    """The inspection view of a post (``GET /_sandbox/posts``)."""
    return {
        "platform": post.platform,
        "uid": post.uid,
        "post_id": post.post_id,
        "kind": post.kind,
        "text": post.text,
        "title": post.title,
        "url": relink(post.url),
        "created_at": iso(post.created_at),
        "state": post.state,
        "deleted": post.deleted,
        "deleted_at": iso(post.deleted_at),
        "removed_by": post.removed_by,
        "source": post.source,
        "media": list(post.media),
        "extra": dict(post.extra),
    }
