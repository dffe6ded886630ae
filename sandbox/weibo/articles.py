"""Weibo long articles (头条文章): ``proxy/article/publish.json``, in their own
``{"code","msg","data"}`` envelope (``ArticleError``, answered by the blueprint's handler)."""

from __future__ import annotations

from flask import Response, jsonify

from sandbox.common import (
    find_word,
    post_url,
)
from sandbox.endpoint import Call
from sandbox.state import Post
from sandbox.weibo.core import (
    PLATFORM,
    WEIBO,
    ArticleError,
    WbError,
    _new_id,
    bp,
)
from sandbox.weibo.statuses import over_hourly_limit


@bp.route("/proxy/article/publish.json", methods=["GET", "POST"])
@WEIBO.endpoint(usable=True)
def article_publish(call: Call) -> Response:
    state, params, account = call.state, call.params, call.account
    config = state.config
    if not config["weibo_article_enabled"]:
        raise WbError(10014)
    title = str(params.get("title") or "")
    content = str(params.get("content") or "")
    text = str(params.get("text") or "")
    if not title or len(title) > 32:
        raise ArticleError("10008", "参数错误：title 必填且不超过32个字")
    if not content or len(content) > 90000:
        raise ArticleError("10008", "参数错误：content 必填且不超过90000个字")
    if not text:
        raise ArticleError("10008", "参数错误：text 必填")
    if config["weibo_require_rip"] and not params.get("rip"):
        raise ArticleError("10008", "参数错误：rip 必填")
    if find_word(f"{title} {content} {text}", config["reject_words"]):
        raise ArticleError("11002", "微博发布失败：内容违规")
    if over_hourly_limit(state, account):
        raise ArticleError("11001", "发布过于频繁")
    mid = _new_id(state)
    object_id = "1022:23094" + state.new_digits(11)
    url = post_url(PLATFORM, mid)
    state.add_post(
        Post(
            platform=PLATFORM,
            uid=account.uid,
            post_id=mid,
            kind="article",
            title=title,
            text=text,
            url=url,
            created_at=state.now(),
            content=content,
            extra={
                "object_id": object_id,
                "cover": str(params.get("cover") or ""),
                "summary": str(params.get("summary") or ""),
            },
        )
    )
    state.record_event(f"weibo:posts:{account.uid}")
    return jsonify({"code": "100000", "msg": "", "data": {"object_id": object_id, "url": url, "mid": mid}})
