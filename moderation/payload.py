"""What gets published, in one canonical shape: media items, the hashed payload, the content hash.

The publishing worker compares ``content_hash`` with ``Content.approved_hash``; the versions
(``moderation.versions``) snapshot a superset of ``hash_payload``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from moderation.models import Content, ContentKind, Disclosure
from registry.models import PUBLISHABLE_PLATFORMS

HASH_FORMAT = "govmedia.content.v1"
MEDIA_ROLES = ("image", "video", "attachment")
MEDIA_ROLE_LABELS = {"image": "图片", "video": "视频", "attachment": "附件"}
OVERRIDE_KEYS = ("text", "title", "summary")
OVERRIDE_KEY_LABELS = {"text": "正文/文案", "title": "标题", "summary": "摘要"}
PUBLISHABLE = tuple(p.value for p in PUBLISHABLE_PLATFORMS)
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
#: The cover's crop (center crop applied where the adapters upload the cover); absent = 原图.
COVER_CROPS = ("2.35:1", "1:1", "16:9")
COVER_CROP_LABELS = {"": "原图", "2.35:1": "2.35:1（公众号封面）", "1:1": "1:1", "16:9": "16:9"}


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


# ----------------------------------------------------------------------------- hash


def media_role(item: Mapping[str, Any]) -> str:
    role = item.get("role")
    if role in MEDIA_ROLES:
        return str(role)
    content_type = str(item.get("content_type") or "")
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("video/"):
        return "video"
    return "attachment"


def normalize_media_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """``crop`` is included only when set, so contents without one keep their hash."""
    out = {
        "name": str(item.get("name") or ""),
        "content_type": str(item.get("content_type") or "application/octet-stream"),
        "sha256": str(item.get("sha256") or "").lower(),
        "alt": str(item.get("alt") or ""),
        "text": str(item.get("text") or ""),
        "role": media_role(item),
    }
    if item.get("crop"):
        out["crop"] = str(item["crop"])
    return out


def hash_payload(content: Content) -> dict[str, Any]:
    """Everything that gets published, in a canonical shape (see ``content_hash``)."""
    return {
        "format": HASH_FORMAT,
        "title": content.title or "",
        "summary": content.summary or "",
        "body_html": content.body_html or "",
        "body_text": content.body_text or "",
        "media": [normalize_media_item(m) for m in (content.media or [])],
        "overrides": content.overrides or {},
        "target_ids": sorted(a.id for a in content.targets),
        "disclosure": _value(content.disclosure) or Disclosure.active.value,
        "kind": _value(content.kind) or ContentKind.news.value,
        "policy_id": content.policy_id,
    }


def content_hash(content: Content) -> str:
    """SHA-256 over canonical JSON of what gets published.

    Title, summary, body HTML and its plain text, media (file hashes, names, types, alt texts,
    attachment texts), per-platform overrides, sorted target account ids, 公开属性, kind and
    the linked policy. The publishing worker compares it with ``Content.approved_hash``.
    """
    raw = json.dumps(hash_payload(content), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
