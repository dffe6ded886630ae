"""Server-rendered pages in 简体中文: index, a timeline per platform, post pages, SVG covers."""

from __future__ import annotations

import hashlib
from html import escape
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from sandbox.common import cn_time, get_state, profile_url, relink, strip_html
from sandbox.douyin import cover_url
from sandbox.interaction import timeline_extras
from sandbox.oauth_pages import PLATFORM_NAMES
from sandbox.state import PLATFORMS, Post, SandboxState
from sandbox.wechat.core import article_url

bp = Blueprint("sandbox_pages", __name__, url_prefix="/_sandbox")

STATE_LABELS = {"publishing": "发布中", "published": "已发布", "rejected": "未通过审核", "failed": "发布失败"}
STATUS_LABELS = {"active": "正常", "banned": "已封禁", "deregistered": "已注销"}
REMOVED_TEXT = {
    "wechat": "该内容已被发布者删除",
    "weibo": "抱歉，此微博已被作者删除",
    "douyin": "作品已删除",
    "toutiao": "该内容已删除",
}
PLATFORM_REMOVED_TEXT = "该内容因违反平台规定已被屏蔽"


def _post_view(state: SandboxState, post: Post) -> dict[str, Any]:
    account = state.account(post.platform, post.uid)
    articles = post.extra.get("articles", [])
    return {
        "post_id": post.post_id,
        "platform": post.platform,
        "kind": post.kind,
        "title": post.title,
        "text": post.text,
        "digest": post.text if post.platform != "wechat" else (articles[0]["digest"] if articles else post.text),
        "content": post.content,
        "content_text": strip_html(post.content),
        "url": relink(post.url),
        "created": cn_time(post.created_at),
        "deleted": post.deleted,
        "removed_text": PLATFORM_REMOVED_TEXT if post.removed_by == "platform" else REMOVED_TEXT[post.platform],
        "state": post.state,
        "state_label": STATE_LABELS.get(post.state, post.state),
        "author": account.name if account else post.uid,
        "author_initial": (account.name if account else post.uid)[:1],
        "uid": post.uid,
        "profile_url": profile_url(post.platform, post.uid),
        "pics": [relink(url) for url in post.extra.get("pics", [])],
        "likes": int(post.extra.get("likes", 0)),
        "cover": cover_url(post.platform, post.post_id),
        "thumb": articles[0].get("thumb_url", "") if articles else "",
        "articles": [{**a, "url": article_url(post.post_id, i)} for i, a in enumerate(articles, start=1)],
        "extra": post.extra,
        "via": "App" if post.source == "app" else "政务新媒体发布平台",
        "edited": bool(post.extra.get("edits")),
    }


@bp.route("/", methods=["GET"])
def index() -> str:
    state = get_state()
    with state.lock:
        platforms = []
        for platform in PLATFORMS:
            posts = state.posts_of(platform)
            accounts = sorted(state.platform_accounts(platform), key=lambda a: a.uid)
            platforms.append(
                {
                    "key": platform,
                    "name": PLATFORM_NAMES[platform],
                    "posts": len(posts),
                    "visible": sum(1 for p in posts if p.visible),
                    "deleted": sum(1 for p in posts if p.deleted),
                    "accounts": [
                        {
                            "uid": a.uid,
                            "name": a.name,
                            "subject": a.subject,
                            "status": STATUS_LABELS[a.status],
                            "verified": a.verified,
                            "url": profile_url(platform, a.uid),
                        }
                        for a in accounts
                    ],
                }
            )
        faults = state.faults.rules()
        config = dict(state.config)
    return render_template(
        "index.html", platforms=platforms, faults=faults, config=config, base=request.host_url.rstrip("/")
    )


@bp.route("/timeline/<platform>", methods=["GET"])
def timeline(platform: str) -> str:
    if platform not in PLATFORMS:
        abort(404)
    uid = request.args.get("uid") or None
    state = get_state()
    with state.lock:
        posts = [_post_view(state, p) for p in state.posts_of(platform, uid)]
        account = state.account(platform, uid) if uid else None
        owner = None
        if account is not None:
            owner = {
                "uid": account.uid,
                "name": account.name,
                "subject": account.subject,
                "verified": account.verified,
                "followers": account.followers,
                "status": account.status,
                "status_label": STATUS_LABELS[account.status],
                "initial": account.name[:1],
            }
    extras = timeline_extras(platform, uid)
    return render_template(
        f"timeline_{platform}.html",
        comments=extras["comments"],
        messages=extras["messages"],
        platform=platform,
        platform_name=PLATFORM_NAMES[platform],
        posts=posts,
        owner=owner,
        uid=uid,
    )


@bp.route("/p/<platform>/<path:post_id>", methods=["GET"])
def post_page(platform: str, post_id: str) -> ResponseReturnValue:
    if platform not in PLATFORMS:
        abort(404)
    state = get_state()
    with state.lock:
        post = state.post(platform, post_id)
        if post is None:
            abort(404)
        view = _post_view(state, post)
    try:
        idx = max(int(request.args.get("idx", "1")), 1)
    except ValueError:
        idx = 1
    article = view["articles"][idx - 1] if idx <= len(view["articles"]) else None
    html = render_template(
        "post.html", platform=platform, platform_name=PLATFORM_NAMES[platform], post=view, article=article
    )
    removed = view["deleted"] or bool(article and article.get("is_deleted"))
    return html, 410 if removed else 200


@bp.route("/cover/<platform>/<path:post_id>.svg", methods=["GET"])
def cover(platform: str, post_id: str) -> Response:
    """A generated 9:16 cover with the caption (no external assets)."""
    state = get_state()
    with state.lock:
        post = state.post(platform, post_id)
        caption = post.text if post else ""
    hue = int(hashlib.sha256(post_id.encode()).hexdigest()[:4], 16) % 360
    lines = [caption[i : i + 9] for i in range(0, min(len(caption), 36), 9)] or ["视频"]
    texts = "".join(
        f'<text x="24" y="{120 + 40 * n}" font-size="30" fill="#fff">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="640" viewBox="0 0 360 640">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue},70%,45%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 60) % 360},70%,25%)"/></linearGradient></defs>'
        f'<rect width="360" height="640" fill="url(#g)"/>{texts}'
        '<circle cx="180" cy="360" r="44" fill="rgba(255,255,255,.35)"/>'
        '<path d="M165 335 L205 360 L165 385 Z" fill="#fff"/></svg>'
    )
    return Response(svg, mimetype="image/svg+xml")
