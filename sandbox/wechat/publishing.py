"""WeChat publishing: ``freepublish/*`` (submit, status, delete, lists) and seeding."""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

from flask import Response, jsonify

from sandbox.common import find_word, strip_html
from sandbox.endpoint import Call
from sandbox.state import Account, Post, PublishJob, SandboxState
from sandbox.wechat.core import (
    PLATFORM,
    WECHAT,
    WxError,
    _ok,
    article_url,
    bp,
)
from sandbox.wechat.drafts import _owned_draft


def _final_status(state: SandboxState, articles: list[dict[str, Any]]) -> tuple[int, list[int]]:
    rejected: list[int] = []
    original: list[int] = []
    for idx, article in enumerate(articles, start=1):
        text = f"{article['title']} {article['digest']} {strip_html(article['content'])}"
        if find_word(text, state.config["reject_words"]):
            rejected.append(idx)
        elif find_word(text, state.config["wechat_original_fail_words"]):
            original.append(idx)
    if rejected:
        return 4, rejected
    if original:
        return 2, original
    return 0, []


@bp.route("/cgi-bin/freepublish/submit", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True, quota="freepublish/submit")
def freepublish_submit(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    draft = _owned_draft(state, account, body)
    final, fail_idx = _final_status(state, draft.articles)
    article_id = secrets.token_urlsafe(24)
    job = PublishJob(
        publish_id=state.new_digits(10, state.jobs),
        uid=account.uid,
        draft_id=draft.media_id,
        article_id=article_id,
        msg_data_id=state.new_digits(10),
        created_at=state.now(),
        polls_left=int(state.config["wechat_publish_polls"]),
        final_status=final,
        fail_idx=fail_idx,
    )
    state.jobs[job.publish_id] = job
    # "草稿发表或群发后，将从草稿箱中移除" (api_draft_add): a second submit answers 40007.
    del state.drafts[draft.media_id]
    articles = [dict(a) for a in draft.articles]
    first = articles[0]
    state.add_post(
        Post(
            platform=PLATFORM,
            uid=account.uid,
            post_id=article_id,
            kind="article",
            title=first["title"],
            text=first["digest"],
            url=article_url(article_id, 1),
            created_at=state.now(),
            state="publishing",
            content=first["content"],
            media=[a["thumb_media_id"] for a in articles if a["thumb_media_id"]],
            extra={
                "publish_id": job.publish_id,
                "msg_data_id": job.msg_data_id,
                "articles": articles,
                "update_time": int(state.now()),
            },
        )
    )
    if job.polls_left <= 0:
        _finish(state, job)
    return _ok(publish_id=job.publish_id, msg_data_id=job.msg_data_id)


def settle_jobs(state: SandboxState) -> None:
    """Jobs finish on their own after ``wechat_publish_seconds``, as on the real platform,
    whether or not anybody polls them (a client whose submit answer was lost never can)."""
    delay = float(state.config["wechat_publish_seconds"])
    now = state.now()
    for job in state.jobs.values():
        if job.status == 1 and now - job.created_at >= delay:
            _finish(state, job)


def _finish(state: SandboxState, job: PublishJob) -> None:
    job.status = job.final_status
    post = state.post(PLATFORM, job.article_id)
    if post is not None:
        post.state = {0: "published", 3: "failed"}.get(job.status, "rejected")
        post.extra["update_time"] = int(state.now())
    state.dirty = True


def _job_payload(state: SandboxState, job: PublishJob) -> dict[str, Any]:
    payload: dict[str, Any] = {"publish_id": job.publish_id, "publish_status": job.status}
    if job.status == 1:
        return payload
    if job.status != 0:
        payload["fail_idx"] = list(job.fail_idx)
        return payload
    post = state.post(PLATFORM, job.article_id)
    articles = post.extra.get("articles", []) if post else []
    if post is not None and post.deleted:
        payload["publish_status"] = 6 if post.removed_by == "platform" else 5
    payload.update(
        article_id=job.article_id,
        article_detail={
            "count": len(articles),
            "item": [{"idx": i, "article_url": article_url(job.article_id, i)} for i in range(1, len(articles) + 1)],
        },
        fail_idx=[],
    )
    return payload


@bp.route("/cgi-bin/freepublish/get", methods=["GET", "POST"])
@WECHAT.endpoint(settle=settle_jobs, quota="freepublish/get")
def freepublish_get(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    job = state.jobs.get(str(body.get("publish_id", "")))
    if job is None or job.uid != account.uid:
        raise WxError(53502)
    if job.status == 1:
        if job.polls_left > 0:
            job.polls_left -= 1
            state.dirty = True
        else:
            _finish(state, job)
    return jsonify(_job_payload(state, job))


def _owned_article(state: SandboxState, account: Account, body: dict[str, Any]) -> Post:
    post = state.post(PLATFORM, str(body.get("article_id") or ""))
    if post is None or post.uid != account.uid or post.state != "published":
        raise WxError(53600)
    return post


@bp.route("/cgi-bin/freepublish/delete", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True, quota="freepublish/delete")
def freepublish_delete(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    post = _owned_article(state, account, body)
    if post.deleted:
        raise WxError(53600)
    articles: list[dict[str, Any]] = post.extra.get("articles", [])
    try:
        index = int(body.get("index") or 0)
    except (TypeError, ValueError) as exc:
        raise WxError(47001) from exc
    if index < 0 or index > len(articles):
        raise WxError(47001, "invalid index")
    targets = articles if index == 0 else [articles[index - 1]]
    for article in targets:
        article["is_deleted"] = True
    if all(a.get("is_deleted") for a in articles):
        state.delete_post(post, "user")
    state.dirty = True
    return _ok()


def news_items(post: Post, with_content: bool = True) -> list[dict[str, Any]]:
    items = []
    for idx, article in enumerate(post.extra.get("articles", []), start=1):
        item = {k: v for k, v in article.items() if k != "article_type"}
        item["content"] = article.get("content", "") if with_content else ""
        item["url"] = article_url(post.post_id, idx)
        item["is_deleted"] = bool(article.get("is_deleted")) or post.deleted
        items.append(item)
    return items


@bp.route("/cgi-bin/freepublish/batchget", methods=["GET", "POST"])
@WECHAT.endpoint(settle=settle_jobs, usable=True, quota="freepublish/batchget")
def freepublish_batchget(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    try:
        offset = int(body.get("offset", 0))
        count = int(body.get("count", 0))
        no_content = int(body.get("no_content", 0))
    except (TypeError, ValueError) as exc:
        raise WxError(47001) from exc
    if offset < 0 or not 1 <= count <= 20 or no_content not in (0, 1):
        raise WxError(47001)
    posts = [p for p in state.posts_of(PLATFORM, account.uid) if p.state == "published"]
    posts.sort(key=lambda p: (int(p.extra.get("update_time", p.created_at)), p.post_id), reverse=True)
    window = posts[offset : offset + count]
    items = [
        {
            "article_id": p.post_id,
            "content": {
                "news_item": news_items(p, with_content=not no_content),
                "create_time": int(p.created_at),
                "update_time": int(p.extra.get("update_time", p.created_at)),
            },
            "update_time": int(p.extra.get("update_time", p.created_at)),
        }
        for p in window
    ]
    return jsonify({"total_count": len(posts), "item_count": len(items), "item": items})


@bp.route("/cgi-bin/freepublish/getarticle", methods=["GET", "POST"])
@WECHAT.endpoint(settle=settle_jobs, usable=True, quota="freepublish/getarticle")
def freepublish_getarticle(call: Call) -> Response:
    state = call.state
    body = call.params
    account = call.account
    post = _owned_article(state, account, body)
    return jsonify({"news_item": news_items(post)})


# ---- seeding (used by /_sandbox/accounts) ------------------------------------------------
def seed_post(state: SandboxState, account: Account, text: str, title: str, created_at: float) -> Post:
    post_id = secrets.token_urlsafe(24)
    content = f"<p>{escape(text)}</p>"
    article = {
        "article_type": "news",
        "title": title or text[:20],
        "author": "",
        "digest": text[:54],
        "content": content,
        "content_source_url": "",
        "thumb_media_id": "",
        "thumb_url": "",
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
        "is_deleted": False,
    }
    return state.add_post(
        Post(
            platform=PLATFORM,
            uid=account.uid,
            post_id=post_id,
            kind="article",
            title=article["title"],
            text=text,
            url=article_url(post_id, 1),
            created_at=created_at,
            source="seed",
            content=content,
            extra={"articles": [article], "update_time": int(created_at)},
        )
    )
