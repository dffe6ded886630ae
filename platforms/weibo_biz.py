"""Weibo's commercial data interface (商业接口, ``c.api.weibo.com``): app-level reads of *any*
account by uid, for offices that hold a data contract (DOMAIN.md R38).

The documented open timelines return only the authorising user's own posts; the paid ``*/biz``
endpoints read other accounts. This client reads a profile and the recent posts of an account
by uid with the office's contract token. Paths ([I]: the exact commercial paths are given to
contract holders; these follow the open API's naming with the ``/biz`` suffix):

* ``GET /2/users/show/biz.json?uid=`` → the user object (``screen_name``, ``verified``,
  ``verified_reason`` = 认证主体, ``followers_count`` …);
* ``GET /2/statuses/user_timeline/biz.json?uid=&count=&page=`` → ``{"statuses": [...]}``.

Errors use the open API's envelope and codes, so the Weibo adapter's table maps them. Not a
publishing adapter: it is not registered and has no ``publish``.
"""

from __future__ import annotations

from typing import Any

from platforms.types import AccountProfile, Credentials, RecentListing, RecentPost
from platforms.weibo import WeiboAdapter, _int, parse_weibo_time

DEFAULT_BIZ_BASE_URL = "https://c.api.weibo.com"


class WeiboBizReader(WeiboAdapter):
    """Reads any Weibo account by uid through the commercial interface (token = the contract's)."""

    default_base_url = DEFAULT_BIZ_BASE_URL
    base_capabilities = frozenset({"profile", "recent_posts"})

    def __init__(self, *, access_token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._creds = Credentials(access_token=access_token, account_ref="weibo-biz")

    def profile_of(self, uid: str) -> tuple[AccountProfile, str | None]:
        """(profile, 认证主体) of the account ``uid``."""
        user, _ = self._call(self._creds, "GET", "/2/users/show/biz.json", params={"uid": uid})
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
        """The account's newest posts (up to ``limit``; 100 per page)."""
        return list(self.listing_of(uid, limit).posts)

    def listing_of(self, uid: str, limit: int = 50) -> RecentListing:
        """The account's newest posts (up to ``limit``; 100 per page), complete when the pages read
        reach the ``total_number`` the platform gives (absent: not proved)."""
        out: list[RecentPost] = []
        page = 1
        total: int | None = None
        while len(out) < limit:
            count = min(100, limit - len(out))
            body, _ = self._call(
                self._creds,
                "GET",
                "/2/statuses/user_timeline/biz.json",
                params={"uid": uid, "count": count, "page": page},
            )
            statuses = body.get("statuses") or []
            total = _int(body.get("total_number"))
            out.extend(self._recent(status) for status in statuses)
            if len(statuses) < count:
                break
            page += 1
        complete = total is not None and len(out) >= total and len(out) <= limit
        return RecentListing(tuple(out[:limit]), complete=complete)
