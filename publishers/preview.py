"""What each target platform will show: the adapter's own render of a content, for people to see.

``platform_previews(content)`` renders the content for every target account exactly as the
publisher does (``publishers.rendering`` + the adapter's ``render``) and returns plain dicts for the
templates: the text as cut by that platform, its kind (article, text, images, video), the images
and cover as URLs of the media page (``moderation.media_page``), the link and the problems the
platform would refuse. Registered as a Jinja global by ``publishers.init_app`` so moderation's
templates can show it without moderation importing publishers.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from platforms import channels, registered_platforms
from platforms.types import PLATFORM_LABELS, MediaFile
from publishers import rendering, send_modes
from publishers.limits import PLACEHOLDER_URL
from publishers.models import SEND_MODE_LABELS, SendMode
from registry.models import Platform

#: in place of the link in a preview's text: the real one is made when the post goes out
LINK_SHOWN = "〔原文链接，发布时生成〕"
KIND_LABELS = {"article": "图文文章", "text": "纯文字", "images": "图片组", "video": "视频"}


def _media(content_id: int | None, item: MediaFile) -> dict[str, Any]:
    # a draft not saved yet (the editor's live preview): the file from its uploader's own address
    if content_id is None:
        url = url_for("moderation.editor_upload_file", sha256=item.sha256)
    else:
        url = url_for("moderation.media_page", content_id=content_id, sha256=item.sha256)
    return {
        "url": url,
        "name": item.filename,
        "alt": item.alt_text or item.filename,
        "is_image": item.is_image,
        "is_video": item.is_video,
        # CSS aspect-ratio of the chosen cover crop ("2.35 / 1"); the upload crops the bytes.
        "aspect_ratio": item.crop.replace(":", " / ") if item.crop else None,
        "crop": item.crop,
    }


def platform_previews(content: Any, canonical_url: str | None = None) -> list[dict[str, Any]]:
    """One preview per target account of ``content`` (deduplicated per platform)."""
    placeholder = canonical_url is None
    if canonical_url is None:
        canonical_url = PLACEHOLDER_URL.format(base=current_app.config["PUBLIC_BASE_URL"].rstrip("/"))
    content_input = rendering.content_input(content, canonical_url)
    # WeChat's 发布 or 群发 (pushed to every follower, not taken back): the 终审 decides knowing it
    chosen = send_modes.mode_by_account(content.id) if content.id is not None else {}
    previews: list[dict[str, Any]] = []
    rendered: dict[str, Any] = {}
    for account in content.targets:
        platform = account.platform.value if isinstance(account.platform, Platform) else str(account.platform)
        if platform not in registered_platforms():
            continue
        if platform not in rendered:
            rendered[platform] = channels.adapter_for(platform).render(content_input, content.overrides or {})
        result = rendered[platform]
        post = result.post
        layout = getattr(channels.adapter_for(platform), "body_image_layout", None)
        placed, appended = layout(post) if layout is not None else ([], [])
        previews.append(
            {
                "platform": platform,
                "platform_label": PLATFORM_LABELS.get(Platform(platform), platform),
                "account_name": account.name,
                "title": post.title,
                "text": post.text,
                # the link is made when the post goes out: shown as such, not as a made-up address
                "text_shown": post.text.replace(canonical_url, LINK_SHOWN) if placeholder else post.text,
                "text_length": len(post.text),
                "kind_label": KIND_LABELS.get(post.kind, post.kind),
                "media": [_media(content.id, m) for m in post.media],
                "cover": _media(content.id, post.cover) if post.cover is not None else None,
                # Article platforms that upload body images (WeChat media/uploadimg): the images
                # in the body in order, and those the adapter appends at its end.
                "body_images": [_media(content.id, m) for m in placed],
                "appended_images": [_media(content.id, m) for m in appended],
                "link": post.canonical_url,
                "link_in_text": bool(post.canonical_url and post.canonical_url in post.text),
                "problems": [p.message for p in result.problems],
                "send_mode_label": (
                    SEND_MODE_LABELS[SendMode(chosen.get(account.id, SendMode.publish.value))]
                    if platform == Platform.wechat.value
                    else None
                ),
            }
        )
    return previews
