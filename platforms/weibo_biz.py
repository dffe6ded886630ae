"""Weibo's commercial data interface (商业接口, ``c.api.weibo.com``): app-level reads of *any*
account by uid, for offices that hold a data contract (DOMAIN.md R38).

The open timelines return only the authorising user's own posts; the commercial ``*/other``
endpoints read other accounts (the ``*/biz`` ones read the token's own account: open.weibo.com
wiki ``C/2/statuses/user_timeline/biz`` “获取当前登录用户发布的微博”, ``C/2/users/show/biz``
“获取当前登录用户信息”, as the emacsist/golang-weibo-sdk client labels them). This client
reads a profile and the recent posts of an account by uid with the office's contract token:

* ``GET /2/users/show_batch/other.json?uids=`` (open.weibo.com/wiki/C/2/users/show_batch/other,
  “批量获取其他用户的基本信息”, ≤ 50 uids) → ``{"users": [<user>], "total_number", "states"}``
  (a recorded answer: emacsist/golang-weibo-sdk ``api/business/user/UsersShowBatchOther.go``);
  an account that is not in ``users`` (banned, deregistered) is unavailable;
* ``GET /2/statuses/user_timeline/other.json?uid=&count=&page=``
  (open.weibo.com/wiki/C/2/statuses/user_timeline/other, “获取其他用户发布的微博”; ``count``
  “最大不超过25”, default 20) → ``{"statuses": [...], "total_number"?}``.

Errors use the open API's envelope and codes, so the Weibo adapter's table maps them. Not a
publishing adapter: it is not registered and has no ``publish``.
"""

from __future__ import annotations

from typing import Any

from platforms.errors import AccountUnavailable
from platforms.types import AccountProfile, Credentials, RecentListing, RecentPost
from platforms.weibo import WeiboAdapter, _int, parse_weibo_time

DEFAULT_BIZ_BASE_URL = "https://c.api.weibo.com"
#: ``statuses/user_timeline/other``: count “最大不超过25” (the page's current text), default 20.
PAGE_SIZE = 20


class WeiboBizReader(WeiboAdapter):
    """Reads any Weibo account by uid through the commercial interface (token = the contract's)."""

    default_base_url = DEFAULT_BIZ_BASE_URL
    base_capabilities = frozenset({"profile", "recent_posts"})

    def __init__(self, *, access_token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._creds = Credentials(access_token=access_token, account_ref="weibo-biz")

    def profile_of(self, uid: str) -> tuple[AccountProfile, str | None]:
        """(profile, 认证主体) of the account ``uid``."""
        body, _ = self._call(self._creds, "GET", "/2/users/show_batch/other.json", params={"uids": uid})
        user = next((u for u in body.get("users") or [] if str(u.get("idstr") or u.get("id")) == uid), None)
        if user is None:
            raise AccountUnavailable(self.platform, "20003", "微博用户不存在（商业接口未返回该账号）")
        latest = user.get("status") or {}
        profile = AccountProfile(
            platform=self.platform,
            uid=str(user.get("idstr") or user.get("id") or uid),
            name=user.get("screen_name"),
            verified=user.get("verified"),
            followers=_int(user.get("followers_count")),
            posts_count=_int(user.get("statuses_count")),
            last_post_at=parse_weibo_time(latest.get("created_at")),
            status=str(user.get("status_flag") or "active"),
            profile_url=user.get("profile_url") or f"https://weibo.com/u/{uid}",
            subject=user.get("verified_reason") or None,
        )
        return profile, profile.subject

    def posts_of(self, uid: str, limit: int = 50) -> list[RecentPost]:
        """The account's newest posts (up to ``limit``; 20 per page)."""
        return list(self.listing_of(uid, limit).posts)

    def listing_of(self, uid: str, limit: int = 50) -> RecentListing:
        """The account's newest posts (up to ``limit``; 20 per page), complete when the pages read
        reach the ``total_number`` the platform gives (absent: not proved) and the last page was
        short (a full page may have a next one, whatever ``total_number`` says)."""
        out: list[RecentPost] = []
        page = 1
        total: int | None = None
        short = False
        while len(out) < limit:
            body, _ = self._call(
                self._creds,
                "GET",
                "/2/statuses/user_timeline/other.json",
                params={"uid": uid, "count": PAGE_SIZE, "page": page},
            )
            statuses = body.get("statuses") or []
            total = _int(body.get("total_number"))
            out.extend(self._recent(status) for status in statuses)
            if len(statuses) < PAGE_SIZE:
                short = True
                break
            page += 1
        complete = short and total is not None and len(out) >= total and len(out) <= limit
        return RecentListing(tuple(out[:limit]), complete=complete)
