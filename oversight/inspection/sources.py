"""Where an account's profile and posts are read from, best first (issue 21, DOMAIN.md R38):

1. ``own_api`` — the account's own authorisation: its credentials stored in ``platforms`` (for a
   公众号 either its AppID/AppSecret or its grant to the office's 第三方平台, publishers/wechat_authorize.py)
   (profile + recent posts through the publishing adapter; removal of our posts through
   ``status``: WeChat publish_status 5/6, Douyin review, Weibo "not found");
2. ``weibo_biz`` — the office's Weibo commercial data contract (``WEIBO_BIZ_ENABLED``, off by
   default): any Weibo account by uid, with its 认证主体;
3. ``import`` — a third-party monitor's export imported within ``INSPECTION_IMPORT_MAX_AGE_HOURS``
   (profiles through discovery's import, posts through :mod:`oversight.inspection.postimport`);
4. otherwise the account is *not checkable*, with the reason (``NOT_CHECKABLE_LABELS``).

Public timeline reads are not a source: Weibo's documented timelines return only the authorising
user's posts and WeChat/Douyin offer no read of another account.

A source's ``read`` talks to the platform (or reads the import tables) and returns a
:class:`Reading`; it never writes. Adapter errors are caught into the reading.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from common.db import utcnow
from extensions import db
from oversight.findings import setting_int, to_naive_utc
from oversight.inspection.models import ImportedPost
from oversight.models import DiscoveredAccount
from oversight.probes import _error_dict as monitoring_error_dict
from oversight.probes import adapter_or_none, throttle
from platforms import channels
from platforms.errors import AccountUnavailable, AdapterError, InvalidRequest, RateLimited
from platforms.text import extract_links
from platforms.types import Credentials
from platforms.weibo_biz import WeiboBizReader
from registry.models import Platform

SOURCE_LABELS = {
    "own_api": "账号自身授权（平台开放接口）",
    "weibo_biz": "微博商业数据接口",
    "import": "第三方监测数据导入",
}
NOT_CHECKABLE_LABELS = {
    "no_source": "未授权、无商业数据接口、也没有近期导入的第三方监测数据",
    "no_uid": "台账未登记平台账号ID，无法按ID巡检",
    "no_adapter": "该平台没有接口适配器，且没有近期导入的第三方监测数据",
}
PLATFORM_GONE = ("deregistered", "closed", "banned", "deleted", "unavailable")


# ----------------------------------------------------------------------------- plain data


@dataclass(frozen=True)
class Target:
    """What a read needs to know about an account, detached from the session."""

    account_id: int
    platform: str
    uid: str | None
    name: str
    creds: dict[str, Any] | None = field(default=None, repr=False)
    creds_problem: str | None = None
    # Platform post ids (as the delivery stored them) of our sent posts in the read window:
    # asked for one by one when the listing does not show them (removed by the platform?).
    watch_post_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeenProfile:
    name: str | None = None
    subject: str | None = None
    verified: bool | None = None
    status: str | None = None
    followers: int | None = None
    posts_count: int | None = None
    profile_url: str | None = None


@dataclass(frozen=True)
class SeenPost:
    post_id: str
    published_at: datetime | None  # naive UTC
    title: str = ""
    text: str = ""
    url: str | None = None
    links: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    original: bool | None = None


@dataclass(frozen=True)
class Removal:
    """A watched post the platform no longer shows, with its word on why."""

    post_id: str  # as the delivery stored it
    reason: str  # Chinese
    raw_status: str | None = None
    by_platform: bool = False


@dataclass(frozen=True)
class Reading:
    account_id: int
    source: str | None
    at: datetime
    ok: bool
    profile: SeenProfile | None = None
    posts: tuple[SeenPost, ...] = ()
    # The listing is complete for posts published at or after this time (older: not judged).
    complete_since: datetime | None = None
    removals: tuple[Removal, ...] = ()
    not_checkable: str | None = None
    error: dict[str, Any] | None = None
    retry_after: float | None = None
    refreshed_credentials: tuple[dict[str, Any], ...] = field(default=(), repr=False)


def live_key(platform: str, post_id: str | None) -> str:
    """The id a listing shows for a post whose delivery stored ``post_id`` (WeChat deliveries keep
    ``publish_id:article_id``; the published list shows the article id)."""
    raw = str(post_id or "")
    if platform == "wechat" and ":" in raw:
        publish_id, _, article_id = raw.partition(":")
        return article_id or publish_id
    return raw


def text_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()


# ----------------------------------------------------------------------------- sources


class Source:
    name: str = ""

    def unavailable(self, target: Target) -> str | None:
        """None when this source can read ``target``; else a reason code."""
        raise NotImplementedError

    def read(self, target: Target, now: datetime, *, max_wait: float = 0.0) -> Reading:
        raise NotImplementedError


def _error_dict(exc: Exception, platform: str) -> dict[str, Any]:
    return monitoring_error_dict(exc, platform)


def _posts_from(recent: Sequence[Any]) -> tuple[SeenPost, ...]:
    out = []
    for p in recent:
        if getattr(p, "state", "published") != "published":
            continue
        out.append(
            SeenPost(
                post_id=str(p.post_id),
                published_at=to_naive_utc(p.created_at),
                title=p.title or "",
                text=p.text or "",
                url=p.url,
                links=extract_links(p.text or ""),
                original=getattr(p, "original", None),
            )
        )
    return tuple(out)


def _complete_since(posts: Sequence[SeenPost], complete: bool) -> datetime | None:
    """What a listing covers: the whole account (None) only when the platform proved it
    (``RecentListing.complete``); otherwise what was published since its oldest post — a listing
    shorter than asked is not the whole account (Weibo's timeline stops at 5 whatever is asked) —
    or, without any time, only what it listed (``datetime.max``)."""
    if complete:
        return None
    times = [p.published_at for p in posts if p.published_at is not None]
    return min(times) if times else datetime.max


def _throttled(adapter: Any, key: str, max_wait: float, sleep: Callable[[float], None]) -> float | None:
    return throttle(
        adapter, key, "inspect", setting_int("INSPECTION_RATE_PER_MINUTE", 30), max_wait=max_wait, sleep=sleep
    )


class OwnApiSource(Source):
    """The account's own authorisation (credentials stored for publishing or for oversight)."""

    name = "own_api"

    def unavailable(self, target: Target) -> str | None:
        if target.creds is None:
            return "no_credentials"
        if adapter_or_none(target.platform) is None:
            return "no_adapter"
        return None

    def read(
        self, target: Target, now: datetime, *, max_wait: float = 0.0, sleep: Callable[[float], None] = time.sleep
    ) -> Reading:
        adapter = adapter_or_none(target.platform)
        base = Reading(account_id=target.account_id, source=self.name, at=now, ok=False)
        wait = _throttled(adapter, "inspection", max_wait, sleep)
        if wait is not None:
            return replace(
                base,
                retry_after=wait,
                error={"type": "RateLimited", "code": "local_rate_limit", "message": "巡检调用达到本平台每分钟上限"},
            )
        creds = Credentials.from_mapping(target.creds or {}, account_ref=str(target.account_id))
        refreshed: list[Any] = []
        previous = adapter.on_credentials_changed
        adapter.on_credentials_changed = refreshed.append
        limit = setting_int("INSPECTION_RECENT_POSTS", 50)
        try:
            profile = adapter.profile(creds)
            listing = adapter.recent_listing(creds, limit)
            posts = _posts_from(listing.posts)
            listed = {p.post_id for p in posts}
            removals = []
            for post_id in target.watch_post_ids:
                if live_key(target.platform, post_id) in listed:
                    continue
                removals.append(_ask_status(adapter, creds, post_id))
            reading = replace(
                base,
                ok=True,
                profile=SeenProfile(
                    name=profile.name,
                    subject=profile.subject,
                    verified=profile.verified,
                    status=profile.status,
                    followers=profile.followers,
                    posts_count=profile.posts_count,
                    profile_url=profile.profile_url,
                ),
                posts=posts,
                complete_since=_complete_since(posts, listing.complete),
                removals=tuple(r for r in removals if r is not None),
            )
        except AccountUnavailable as exc:
            reading = replace(
                base,
                ok=True,
                profile=SeenProfile(status="unavailable"),
                error=_error_dict(exc, target.platform),
            )
        except AdapterError as exc:
            reading = replace(
                base,
                error=_error_dict(exc, target.platform),
                retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
            )
        finally:
            adapter.on_credentials_changed = previous
        if refreshed:
            reading = replace(reading, refreshed_credentials=tuple(c.to_dict() for c in refreshed))
        return reading


def _ask_status(adapter: Any, creds: Any, post_id: str) -> Removal | None:
    """The platform's word on one of our posts missing from the listing (None: still there or
    unknown — e.g. older than the listing)."""

    try:
        result = adapter.status(creds, post_id)
    except InvalidRequest as exc:
        return Removal(post_id, f"平台查询不到该内容（{exc.message}）", exc.code, by_platform=False)
    except AdapterError:
        return None
    if result.state == "published":
        return None
    if result.state == "pending" and result.raw_status == "absent":
        # Douyin/Toutiao: a post govmedia saw published (the delivery is ``sent`` only once the
        # platform listed it with a share_url) that neither the listing nor the per-item data query
        # returns any more is gone — deleted in the app or taken down by review. The publishing
        # adapter's "absent N polls" rule is for fresh uploads still under review, not for these.
        return Removal(post_id, "作品列表和作品数据中都已查不到（已被删除或被平台下架）", "absent", by_platform=False)
    if result.state == "pending":
        return None  # listed but not public (审核中): no conclusion yet
    by_platform = result.state == "rejected"
    return Removal(
        post_id, result.detail or ("被平台屏蔽" if by_platform else "已删除"), result.raw_status, by_platform
    )


class WeiboBizSource(Source):
    """The office's Weibo commercial data interface (config ``WEIBO_BIZ_*``, off by default)."""

    name = "weibo_biz"

    def unavailable(self, target: Target) -> str | None:
        if target.platform != "weibo":
            return "not_weibo"
        if not current_app.config.get("WEIBO_BIZ_ENABLED") or not current_app.config.get("WEIBO_BIZ_ACCESS_TOKEN"):
            return "biz_off"
        return None

    def reader(self) -> Any:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = app.extensions.setdefault("govmedia_inspection", {})
        reader = state.get("weibo_biz")
        if reader is None:
            shared = channels._shared(app)
            reader = WeiboBizReader(
                access_token=app.config["WEIBO_BIZ_ACCESS_TOKEN"],
                base_url=app.config["WEIBO_BIZ_BASE_URL"],
                timeout=float(app.config.get("ADAPTER_TIMEOUT_SECONDS", 15)),
                token_store=shared["token_store"],
                rate_limiter=shared["rate_limiter"],
            )
            state["weibo_biz"] = reader
        return reader

    def read(
        self, target: Target, now: datetime, *, max_wait: float = 0.0, sleep: Callable[[float], None] = time.sleep
    ) -> Reading:
        reader = self.reader()
        base = Reading(account_id=target.account_id, source=self.name, at=now, ok=False)
        wait = _throttled(reader, "inspection-biz", max_wait, sleep)
        if wait is not None:
            return replace(
                base,
                retry_after=wait,
                error={"type": "RateLimited", "code": "local_rate_limit", "message": "巡检调用达到本平台每分钟上限"},
            )
        limit = setting_int("INSPECTION_RECENT_POSTS", 50)
        uid = str(target.uid)
        try:
            profile, subject = reader.profile_of(uid)
            listing = reader.listing_of(uid, limit)
            posts = _posts_from(listing.posts)
        except AccountUnavailable as exc:
            return replace(base, ok=True, profile=SeenProfile(status="unavailable"), error=_error_dict(exc, "weibo"))
        except AdapterError as exc:
            return replace(
                base,
                error=_error_dict(exc, "weibo"),
                retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
            )
        listed = {p.post_id for p in posts}
        # App-level reads cannot ask why a post is gone: missing from a complete listing = removed.
        removals = tuple(
            Removal(pid, "平台上已不可见（商业接口列表中不再出现）")
            for pid in target.watch_post_ids
            if live_key("weibo", pid) not in listed
        )
        return replace(
            base,
            ok=True,
            profile=SeenProfile(
                name=profile.name,
                subject=subject,
                verified=profile.verified,
                status=profile.status,
                followers=profile.followers,
                posts_count=profile.posts_count,
                profile_url=profile.profile_url,
            ),
            posts=posts,
            complete_since=_complete_since(posts, listing.complete),
            removals=removals if listing.complete else (),
        )


class ImportSource(Source):
    """Profiles and posts imported from a third-party monitor's export (recent enough)."""

    name = "import"

    def _since(self, now: datetime) -> datetime:
        return now - timedelta(hours=setting_int("INSPECTION_IMPORT_MAX_AGE_HOURS", 48))

    def _snapshot(self, target: Target, now: datetime) -> Any:
        if not target.uid:
            return None
        try:
            platform = Platform(target.platform)
        except ValueError:
            return None
        return db.session.scalar(
            sa.select(DiscoveredAccount).where(
                DiscoveredAccount.platform == platform,
                DiscoveredAccount.platform_uid == target.uid,
                DiscoveredAccount.source == "import",
                DiscoveredAccount.seen_at >= self._since(now),
            )
        )

    def _posts(self, target: Target, now: datetime) -> list[Any]:
        return list(
            db.session.scalars(
                sa.select(ImportedPost)
                .where(
                    ImportedPost.platform == target.platform,
                    ImportedPost.platform_uid == target.uid,
                    ImportedPost.imported_at >= self._since(now),
                )
                .order_by(ImportedPost.published_at.desc())
            )
        )

    def unavailable(self, target: Target) -> str | None:
        now = utcnow()
        if self._snapshot(target, now) is None and not self._posts(target, now):
            return "no_import"
        return None

    def read(self, target: Target, now: datetime, *, max_wait: float = 0.0, **_: Any) -> Reading:
        snap = self._snapshot(target, now)
        rows = self._posts(target, now)
        profile = None
        if snap is not None:
            profile = SeenProfile(
                name=snap.name,
                subject=snap.subject,
                verified=snap.verified,
                status=(snap.raw or {}).get("platform_status"),
                followers=snap.followers,
                posts_count=snap.posts_count,
                profile_url=snap.profile_url,
            )

        posts = tuple(
            SeenPost(
                post_id=r.platform_post_id,
                published_at=r.published_at,
                title=r.title or "",
                text=r.text or "",
                url=r.url,
                links=extract_links(r.text or ""),
            )
            for r in rows
            if not r.removed
        )
        removals = tuple(Removal(r.platform_post_id, "第三方监测数据标注为已删除") for r in rows if r.removed)
        # An export lists what the monitor saw; absence proves nothing (complete_since = max).
        return Reading(
            account_id=target.account_id,
            source=self.name,
            at=now,
            ok=True,
            profile=profile,
            posts=posts,
            complete_since=datetime.max,
            removals=removals,
        )


SOURCES: tuple[Source, ...] = (OwnApiSource(), WeiboBizSource(), ImportSource())


def choose(target: Target) -> tuple[Source | None, str | None]:
    """The best source that can read ``target``, or (None, reason it is not checkable)."""
    if not target.uid:
        return None, "no_uid"
    reasons = []
    for source in SOURCES:
        why = source.unavailable(target)
        if why is None:
            return source, None
        reasons.append(why)
    return None, "no_adapter" if "no_adapter" in reasons and target.creds is not None else "no_source"
