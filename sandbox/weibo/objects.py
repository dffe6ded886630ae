"""Weibo's status and user objects, as ``statuses/*`` and ``users/show`` answer them."""

from __future__ import annotations

from typing import Any

from sandbox.common import (
    profile_url,
    relink,
)
from sandbox.state import Account, Post, SandboxState
from sandbox.weibo.core import (
    PLATFORM,
    _uid_value,
    weibo_time,
)


def status_object(state: SandboxState, post: Post, with_user: bool = True) -> dict[str, Any]:
    pics = [relink(str(p)) for p in post.extra.get("pics", [])]
    obj: dict[str, Any] = {
        "created_at": weibo_time(post.created_at),
        "id": int(post.post_id),
        "idstr": post.post_id,
        "mid": post.post_id,
        "text": post.text,
        "source": '<a href="https://gov.example.cn" rel="nofollow">政务新媒体发布平台</a>',
        "favorited": False,
        "truncated": False,
        "in_reply_to_status_id": "",
        "in_reply_to_user_id": "",
        "in_reply_to_screen_name": "",
        "pic_urls": [{"thumbnail_pic": url} for url in pics],
        "geo": None,
        "reposts_count": 0,
        "comments_count": 0,
        "attitudes_count": int(post.extra.get("likes", 0)),
        "visible": {"type": 0, "list_id": 0},
    }
    if pics:
        obj.update(thumbnail_pic=pics[0], bmiddle_pic=pics[0], original_pic=pics[0])
    repost = post.extra.get("repost")
    if repost:
        obj["retweeted_status"] = retweeted_status(post, repost if isinstance(repost, dict) else {})
    if with_user:
        account = state.account(PLATFORM, post.uid)
        if account is not None:
            obj["user"] = user_object(state, account, with_status=False)
    return obj


def retweeted_status(post: Post, spec: dict[str, Any]) -> dict[str, Any]:
    """The reposted (转发) status inside a repost: another user's original post.

    Seeded with ``"repost": true`` or ``{"text", "user"}`` on ``/_sandbox/accounts`` posts; the
    repost's own ``text`` is the reposter's comment, as on Weibo.
    """
    original_id = "48" + post.post_id[2:]
    name = str(spec.get("user") or "转发来源账号")
    return {
        "created_at": weibo_time(post.created_at - 3600),
        "id": int(original_id),
        "idstr": original_id,
        "mid": original_id,
        "text": str(spec.get("text") or "被转发的原微博"),
        "reposts_count": 1,
        "comments_count": 0,
        "attitudes_count": 0,
        "user": {"id": 1000000001, "idstr": "1000000001", "screen_name": name, "name": name},
    }


def user_object(state: SandboxState, account: Account, with_status: bool = True) -> dict[str, Any]:
    visible = [p for p in state.posts_of(PLATFORM, account.uid) if p.visible]
    obj: dict[str, Any] = {
        "id": _uid_value(account.uid),
        "idstr": account.uid,
        "screen_name": account.name,
        "name": account.name,
        "province": "",
        "city": "",
        "location": "",
        "description": account.description,
        "url": "",
        "profile_image_url": "",
        "profile_url": profile_url(PLATFORM, account.uid),
        "domain": "",
        "gender": "n",
        "followers_count": account.followers,
        "friends_count": 0,
        "statuses_count": len(visible),
        "favourites_count": 0,
        "created_at": weibo_time(account.created_at),
        "verified": account.verified,
        "verified_type": 1 if account.verified else -1,
        "verified_reason": account.subject,
    }
    if with_status and visible:
        obj["status"] = status_object(state, visible[0], with_user=False)
    return obj
