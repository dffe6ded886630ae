"""Text helpers shared by the renderers: HTML to text, links, comparison, sizes."""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar

from platforms.types import ContentInput, LimitProblem, MediaFile

_URL_RE = re.compile(r"https?://[^\s<>\"'，。！？、）)】]+")
_HREF_RE = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
#: An ``<img>`` tag of a body, and its quoted ``src`` (group 2: the address).
IMG_TAG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
SRC_ATTR_RE = re.compile(r"""\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
#: How the editor places an uploaded image in the body (moderation/editor_views.py).
_LOCAL_UPLOAD_RE = re.compile(r"/contents/uploads/([0-9a-f]{64})(?:[?#].*)?$")


class _TextExtractor(HTMLParser):
    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup or "")
    parser.close()
    lines = [_SPACE_RE.sub(" ", line).strip() for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


def is_local_upload(ref: str) -> bool:
    """An image address of our own upload store (``/contents/uploads/<sha256>``)."""
    return bool(_LOCAL_UPLOAD_RE.search(ref or ""))


def body_image(ref: str, media: Sequence[MediaFile]) -> MediaFile | None:
    """The image of ``media`` an ``<img src>`` of the body refers to: the editor's
    ``/contents/uploads/<sha256>`` (any host), ``cid:<file name>`` or the bare file name."""
    ref = (ref or "").strip()
    local = _LOCAL_UPLOAD_RE.search(ref)
    if local:
        return next((m for m in media if m.is_image and m.sha256 == local.group(1)), None)
    name = ref[4:] if ref.lower().startswith("cid:") else ref
    return next((m for m in media if m.is_image and name and m.filename == name), None)


def body_images(markup: str, media: Sequence[MediaFile]) -> list[MediaFile]:
    """The images placed in the body, in order, each once (what an article platform uploads)."""
    found: dict[str, MediaFile] = {}
    for tag in IMG_TAG_RE.findall(markup or ""):
        src = SRC_ATTR_RE.search(tag)
        image = body_image(html_lib.unescape(src.group(2)), media) if src else None
        if image is not None:
            found.setdefault(image.sha256, image)
    return list(found.values())


def extract_links(*texts: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in texts:
        for match in _HREF_RE.findall(text or ""):
            if match.startswith(("http://", "https://")):
                seen.setdefault(html_lib.unescape(match), None)
        for match in _URL_RE.findall(text or ""):
            seen.setdefault(match, None)
    return tuple(seen)


def normalize_text(text: str | None) -> str:
    """Text without URLs and whitespace, for "is this the same post" comparisons."""
    return _SPACE_RE.sub("", _URL_RE.sub("", html_lib.unescape(text or "")))


def make_idempotency_key(platform: str, content: ContentInput, text: str) -> str:
    digest = hashlib.sha256()
    for part in (platform, content.title, text, content.html, content.canonical_url or ""):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    for media in (content.cover, *content.media):
        if media is not None:
            digest.update(media.sha256.encode("ascii"))
    return digest.hexdigest()


def from_unix(value: Any) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    return datetime.fromtimestamp(number, tz=UTC)


def parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def problems_for_sizes(
    media: Sequence[MediaFile],
    *,
    field_name: str,
    max_bytes: int,
    allowed_types: Sequence[str] | None,
    label: str,
) -> list[LimitProblem]:
    """Size/type checks shared by renderers."""
    problems = []
    for item in media:
        if allowed_types is not None and item.content_type.lower() not in allowed_types:
            problems.append(
                LimitProblem(
                    "media_type",
                    field_name,
                    f"{label}“{item.filename}”格式不支持（{item.content_type}）",
                )
            )
        if item.size > max_bytes:
            problems.append(
                LimitProblem(
                    "media_too_large",
                    field_name,
                    f"{label}“{item.filename}”大小 {_human(item.size)}，超过上限 {_human(max_bytes)}",
                )
            )
    return problems


def _human(size: int) -> str:
    if size >= 1024 * 1024 * 1024:
        return f"{size / 1024 / 1024 / 1024:.1f} GB"
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"
