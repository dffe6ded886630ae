"""WeChat draft box: ``draft/add``, ``draft/get``, ``draft/delete``."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import unquote

from flask import Response, jsonify

from sandbox.common import media_url, strip_html
from sandbox.endpoint import Call
from sandbox.state import Account, Draft, SandboxState
from sandbox.wechat.core import (
    _EVENT_ATTR,
    _IMG,
    _SCRIPT,
    _SRC,
    PLATFORM,
    WECHAT,
    WxError,
    _ok,
    bp,
)


def _clean_content(state: SandboxState, account: Account, content: str) -> str:
    """Strip JS and every image not uploaded through media/uploadimg (or an image material) of
    this sandbox: like WeChat, which filters external image URLs out of the body, an ``<img>``
    whose address is ours (``/contents/uploads/…``) or anyone else's is dropped."""
    allowed = media_url("")
    content = _SCRIPT.sub("", content)
    content = _EVENT_ATTR.sub("", content)

    def uploaded(src: str) -> bool:
        if not src.startswith(allowed):
            return False
        media = state.media.get(unquote(src[len(allowed) :]))
        return media is not None and media.platform == PLATFORM and media.kind in ("uploadimg", "image")

    def keep_img(match: re.Match[str]) -> str:
        src = _SRC.search(match.group(0))
        return match.group(0) if src and uploaded(html.unescape(src.group(1))) else ""

    return _IMG.sub(keep_img, content)


def _flag(article: dict[str, Any], name: str) -> int:
    value = article.get(name, 0)
    if value in (0, 1, "0", "1", True, False):
        return int(value)
    raise WxError(47001, f"{name} must be 0 or 1")


def _check_article(state: SandboxState, account: Account, article: Any) -> dict[str, Any]:
    if not isinstance(article, dict):
        raise WxError(47001)
    article_type = article.get("article_type", "news")
    if article_type not in ("news", "newspic"):
        raise WxError(47001, "invalid article_type")
    title = article.get("title")
    if not isinstance(title, str) or not title.strip():
        raise WxError(47001, "title missing")
    if len(title) > 32:
        raise WxError(45003)
    author = str(article.get("author") or "")
    if len(author) > 16:
        raise WxError(45110)
    digest = str(article.get("digest") or "")
    if len(digest) > 128:
        raise WxError(45004)
    content = article.get("content")
    if not isinstance(content, str) or not content.strip():
        raise WxError(44004)
    if len(content) >= 20000 or len(content.encode("utf-8")) >= 1024 * 1024:
        raise WxError(45002)
    thumb_id = str(article.get("thumb_media_id") or "")
    thumb = state.media.get(thumb_id)
    needs_thumb = bool(thumb_id) or article_type == "news"
    if needs_thumb and (thumb is None or thumb.uid != account.uid or thumb.kind not in ("image", "thumb")):
        raise WxError(40007)
    cleaned = _clean_content(state, account, content)
    return {
        "article_type": article_type,
        "title": title,
        "author": author,
        "digest": digest or strip_html(cleaned)[:54],
        "content": cleaned,
        "content_source_url": str(article.get("content_source_url") or ""),
        "thumb_media_id": thumb_id,
        "thumb_url": str(thumb.extra.get("url", "")) if thumb else "",
        "need_open_comment": _flag(article, "need_open_comment"),
        "only_fans_can_comment": _flag(article, "only_fans_can_comment"),
        "is_deleted": False,
    }


@bp.route("/cgi-bin/draft/add", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True, quota="draft/add")
def draft_add(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    articles = body.get("articles")
    if not isinstance(articles, list):
        raise WxError(47001)
    if not articles:
        raise WxError(44003)
    checked = [_check_article(state, account, a) for a in articles]
    draft = Draft(media_id=secrets.token_urlsafe(32), uid=account.uid, articles=checked, created_at=state.now())
    state.drafts[draft.media_id] = draft
    state.dirty = True
    return jsonify({"media_id": draft.media_id})


def _owned_draft(state: SandboxState, account: Account, body: dict[str, Any]) -> Draft:
    draft = state.drafts.get(str(body.get("media_id") or ""))
    if draft is None or draft.uid != account.uid:
        raise WxError(40007)
    return draft


@bp.route("/cgi-bin/draft/get", methods=["GET", "POST"])
@WECHAT.endpoint(quota="draft/get")
def draft_get(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    draft = _owned_draft(state, account, body)
    return jsonify({"news_item": [dict(a) for a in draft.articles]})


@bp.route("/cgi-bin/draft/delete", methods=["GET", "POST"])
@WECHAT.endpoint()
def draft_delete(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    draft = _owned_draft(state, account, body)
    del state.drafts[draft.media_id]
    state.dirty = True
    return _ok()
