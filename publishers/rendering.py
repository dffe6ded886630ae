"""Turn a Content row into the adapters' ContentInput (plain data; adapters know no models)."""

from __future__ import annotations

from typing import Any

from common import media as media_store
from moderation.models import Content
from platforms.types import ContentInput, MediaFile


def _media_file(item: dict[str, Any]) -> MediaFile | None:
    data = media_store.load(item.get("sha256", ""))
    if data is None:
        return None
    return MediaFile(
        filename=item.get("name") or item["sha256"][:12],
        content_type=item.get("content_type") or "application/octet-stream",
        data=data,
        alt_text=item.get("alt") or "",
        crop=item.get("crop") or None,
    )


def content_input(content: Content | Any, canonical_url: str | None, *, author: str | None = None) -> ContentInput:
    """``author``: the author's name, if read already (else ``content.author`` is loaded)."""
    files = [f for f in (_media_file(i) for i in (content.media or []) if i.get("role") != "attachment") if f]
    images = [f for f in files if f.content_type.startswith("image/")]
    cover = next((f for f in images), None)
    return ContentInput(
        title=content.title,
        html=content.body_html or "",
        text=content.body_text or "",
        summary=content.summary or "",
        media=tuple(files),
        cover=cover,
        canonical_url=canonical_url,
        kind=str(getattr(content.kind, "value", content.kind) or "news"),
        author=author
        if author is not None
        else content.author.display_name
        if getattr(content, "author", None)
        else "",
    )
