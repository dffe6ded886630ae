"""Toutiao's legacy article endpoint (PROTOCOLS §4.2, behind ``toutiao_legacy_articles``), at
``/toutiao/toutiao-mp/open/new_article_post/`` and on the mp.toutiao.com blueprint
``/toutiao-mp/open/new_article_post/``."""

from __future__ import annotations

from flask import Response, jsonify, request

from sandbox.common import find_word, post_url
from sandbox.douyin.core import BYTEDANCE, TOUTIAO_MP, BdError, _access_token, _usable, reply, route
from sandbox.endpoint import Call
from sandbox.state import Post


def legacy_article(call: Call) -> Response:
    state, platform = call.state, call.platform
    if not state.config["toutiao_legacy_articles"]:
        response = jsonify({"message": "error", "data": {"error_code": 404, "description": "接口不存在"}})
        response.status_code = 404
        return response
    token = _access_token(state, platform, request.args.get("access_token", ""))
    account = _usable(state.ensure_account(platform, token.uid))
    title = request.form.get("title", "")
    content = request.form.get("content", "")
    if not 5 <= len(title) <= 30:
        raise BdError("bad_param", "标题长度应为5-30个字")
    if not content.strip():
        raise BdError("missing_param", "缺少参数content")
    if find_word(f"{title} {content}", state.config["reject_words"]):
        raise BdError("content_rejected")
    pgc_id = state.new_digits(19)
    url = post_url(platform, pgc_id)
    state.add_post(
        Post(
            platform=platform,
            uid=account.uid,
            post_id=pgc_id,
            kind="article",
            title=title,
            text=title,
            url=url,
            created_at=state.now(),
            content=content,
            extra={"save": request.form.get("save", "")},
        )
    )
    return reply(platform, {"pgc_id": pgc_id, "url": url})


route(("toutiao",), "/toutiao-mp/open/new_article_post/", "legacy_article", ["POST"], auth=False)(legacy_article)
TOUTIAO_MP.add_url_rule(
    "/open/new_article_post/",
    endpoint="legacy_article",
    view_func=BYTEDANCE.endpoint(method=None, params=False, auth=False, platform="toutiao")(legacy_article),
    methods=["POST"],
)
