"""The government website's feeds (政府网站栏目订阅): new items become drafts.

A unit lists one or more feed URLs of its website's columns — RSS/Atom (read with
``feedparser``) or JSON Feed. The scheduler polls every enabled feed (``tasks/intake.py``,
every ``FEED_POLL_MINUTES``) with a conditional GET: the ``ETag`` and ``Last-Modified`` of the
last answer go back as ``If-None-Match`` / ``If-Modified-Since``, and a ``304`` changes nothing.

Each new item becomes one draft through ``moderation.service.create_content`` — title, summary,
the item's link and the source stated in the body (DOMAIN.md R6: reposts state their source), and
the 公开属性 the item carries (a category or ``_govmedia.disclosure``) or else the feed's default.
A draft is a draft: it is published only after the three reviews like any other content.
An item is never taken twice: its GUID (else its link) is unique per unit, and an item whose link
was already taken under another GUID is skipped too.

三同步: a 解读 item (title "关于《X》的解读" or containing "解读", or a "解读" category) is linked to
its policy — an item of the same unit whose link the 解读 names (``<link rel="related">`` /
``_govmedia.policy_url``), or whose title names 《X》 — when the policy's draft exists (arriving in the
same poll or earlier). The 解读 draft is then a ``interpretation`` content with ``policy_id`` set,
so the two are scheduled and published together; the link is recorded on the item and shown.

A feed that cannot be fetched or parsed gets a Chinese error on its status; the other feeds are
polled as usual (each feed is its own transaction in the task). Services flush; callers commit.
"""

from __future__ import annotations

import calendar
import html
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import requests
import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from auth.models import Role, User
from auth.scoping import can_see_unit, scope_filter
from common.db import utcnow
from common.errors import ApiError, Forbidden, Invalid, NotFound
from common.fields import iso_utc
from common.validation import control_char_problem, http_url
from extensions import db
from intake.models import FEED_FORMAT_LABELS, FeedFormat, FeedItem, SiteFeed
from moderation import service as content_service
from moderation.models import DISCLOSURE_LABELS, Content, ContentKind, ContentStatus, Disclosure
from moderation.sanitize import html_to_text
from registry.models import Unit

WRITE_ROLES = (Role.operator, Role.admin)
READ_ROLES = (Role.operator, Role.admin, Role.auditor)
USER_AGENT = "govmedia-feed/1.0"
INTERPRETATION_TITLE = re.compile(r"关于《(?P<name>.+?)》的(?:政策)?解读")
BOOK_TITLE = re.compile(r"《(?P<name>.+?)》")
POLICY_WORDS = ("政策文件", "政策", "文件", "规范性文件")
DISCLOSURE_BY_WORD = {label: d for d, label in DISCLOSURE_LABELS.items()} | {d.value: d for d in Disclosure}


class FeedError(Exception):
    """A feed that could not be fetched or read; ``message`` is what its status shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Entry:
    key: str
    link: str | None
    title: str
    summary: str
    published_at: datetime | None = None
    categories: list[str] = field(default_factory=list)
    disclosure: Disclosure | None = None
    policy_link: str | None = None

    @property
    def is_interpretation(self) -> bool:
        return (
            bool(INTERPRETATION_TITLE.search(self.title))
            or any("解读" in c for c in self.categories)
            or ("解读" in self.title and bool(self.policy_link))
        )

    @property
    def is_policy(self) -> bool:
        if self.is_interpretation:
            return False
        return any(c in POLICY_WORDS for c in self.categories)


@dataclass
class PollResult:
    status: str
    new_items: int = 0
    error: str | None = None
    content_ids: list[int] = field(default_factory=list)


# ----------------------------------------------------------------------------- feeds


def _require(actor: User, roles: tuple[Role, ...]) -> None:
    if not actor.has_role(*roles):
        raise Forbidden("您的角色无权管理政府网站订阅", code="wrong_role")


def visible_feeds(actor: User) -> list[SiteFeed]:
    _require(actor, READ_ROLES)
    stmt = sa.select(SiteFeed).where(scope_filter(actor, SiteFeed.unit_id)).order_by(SiteFeed.unit_id, SiteFeed.id)
    return list(db.session.scalars(stmt))


def get_feed(actor: User, feed_id: int) -> SiteFeed:
    _require(actor, READ_ROLES)
    feed = db.session.get(SiteFeed, feed_id)
    if feed is None or not can_see_unit(actor, feed.unit_id):
        raise NotFound("订阅源不存在")
    return feed


def _clean(data: Mapping[str, Any], actor: User, feed: SiteFeed | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if feed is None:
        unit_id = data.get("unit_id") or actor.unit_id
        if not can_see_unit(actor, unit_id) or db.session.get(Unit, unit_id) is None:
            errors.setdefault("unit_id", []).append("单位不存在或不在您的权限范围内")
        values["unit_id"] = unit_id
    if "name" in data or feed is None:
        name = (data.get("name") or "").strip()
        if not name:
            errors.setdefault("name", []).append("请填写栏目名称")
        elif len(name) > 100:
            errors.setdefault("name", []).append("栏目名称最多 100 字")
        elif problem := control_char_problem(name):
            errors.setdefault("name", []).append(f"栏目名称{problem}")
        values["name"] = name
    if "url" in data or feed is None:
        url = (data.get("url") or "").strip()
        if http_url(url) is None or len(url) > 500:
            errors.setdefault("url", []).append("订阅地址须以 http:// 或 https:// 开头，不超过 500 个字符")
        values["url"] = url
    if "format" in data or feed is None:
        try:
            values["format"] = FeedFormat(data.get("format") or FeedFormat.rss.value)
        except ValueError:
            errors.setdefault("format", []).append("格式应为 rss（RSS/Atom）或 json（JSON Feed）")
    if "default_disclosure" in data or feed is None:
        try:
            values["default_disclosure"] = Disclosure(data.get("default_disclosure") or Disclosure.active.value)
        except ValueError:
            errors.setdefault("default_disclosure", []).append("公开属性应为 active、on_request 或 withheld")
    if "enabled" in data:
        values["enabled"] = bool(data.get("enabled"))
    unit_id = values.get("unit_id", feed.unit_id if feed else None)
    url = values.get("url", feed.url if feed else None)
    if url and unit_id and "url" not in errors:
        stmt = sa.select(SiteFeed.id).where(SiteFeed.unit_id == unit_id, SiteFeed.url == url)
        if feed is not None:
            stmt = stmt.where(SiteFeed.id != feed.id)
        clash = db.session.scalar(stmt)
        if clash:
            errors.setdefault("url", []).append("本单位已订阅该地址")
    if errors:
        raise Invalid(next(iter(errors.values()))[0], details=errors)
    return values


def _feed_audit(feed: SiteFeed) -> dict[str, Any]:
    return {
        "unit_id": feed.unit_id,
        "name": feed.name,
        "url": feed.url,
        "format": feed.format.value,
        "default_disclosure": feed.default_disclosure.value,
        "enabled": feed.enabled,
    }


def create_feed(data: Mapping[str, Any], actor: User) -> SiteFeed:
    _require(actor, WRITE_ROLES)
    values = _clean(data, actor, None)
    feed = SiteFeed(author_id=actor.id, last_status="never", enabled=True, **values)
    db.session.add(feed)
    db.session.flush()
    audit.record("site_feed:create", feed, after=_feed_audit(feed), actor=actor)
    return feed


def update_feed(feed: SiteFeed, data: Mapping[str, Any], actor: User) -> SiteFeed:
    """Edit, or enable/disable (``enabled``). A new URL starts over: no ETag, status 尚未抓取."""
    _require(actor, WRITE_ROLES)
    values = _clean(data, actor, feed)
    before = _feed_audit(feed)
    for name, value in values.items():
        setattr(feed, name, value)
    if before["url"] != feed.url or before["format"] != feed.format.value:
        feed.etag = feed.last_modified = None
        feed.last_status, feed.last_error = "never", None
    after = _feed_audit(feed)
    if after == before:
        return feed
    action = "site_feed:update"
    if {k for k in after if after[k] != before[k]} == {"enabled"}:
        action = "site_feed:enable" if feed.enabled else "site_feed:disable"
    db.session.flush()
    audit.record(action, feed, before=before, after=after, actor=actor)
    return feed


def feed_dict(feed: SiteFeed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "unit_id": feed.unit_id,
        "unit_name": feed.unit.name if feed.unit else None,
        "name": feed.name,
        "url": feed.url,
        "format": feed.format.value,
        "format_label": FEED_FORMAT_LABELS[feed.format],
        "default_disclosure": feed.default_disclosure.value,
        "default_disclosure_label": DISCLOSURE_LABELS[feed.default_disclosure],
        "enabled": feed.enabled,
        "last_status": feed.last_status,
        "status_label": feed.status_label,
        "last_error": feed.last_error,
        "last_polled_at": iso_utc(feed.last_polled_at),
        "last_new_items": feed.last_new_items,
        "items": db.session.scalar(sa.select(sa.func.count(FeedItem.id)).where(FeedItem.feed_id == feed.id)),
    }


def items_of(feed: SiteFeed, limit: int = 200) -> list[FeedItem]:
    stmt = sa.select(FeedItem).where(FeedItem.feed_id == feed.id).order_by(FeedItem.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def item_dict(item: FeedItem) -> dict[str, Any]:
    content = item.content
    policy = item.policy_item
    return {
        "id": item.id,
        "title": item.title,
        "link": item.link,
        "guid": item.key,
        "published_at": iso_utc(item.published_at),
        "created_at": iso_utc(item.created_at),
        "content_id": item.content_id,
        "content_status": content.status.value if content else None,
        "kind": content.kind.value if content else None,
        "policy_item_id": item.policy_item_id,
        "policy_title": policy.title if policy else None,
        "policy_content_id": policy.content_id if policy else None,
    }


# ----------------------------------------------------------------------------- fetching


@dataclass
class Fetched:
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def _loopback_only() -> bool:
    return bool(current_app.config.get("FEED_LOOPBACK_ONLY"))


def _check_host(url: str) -> None:
    """http(s) only; with ``FEED_LOOPBACK_ONLY`` only ``localhost`` or a loopback address literal,
    decided without a DNS lookup (nothing leaves the machine)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("订阅地址须以 http:// 或 https:// 开头")
    if not _loopback_only():
        return
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise FeedError("本环境只允许抓取本机回环地址上的订阅源（FEED_LOOPBACK_ONLY）")


def fetch(feed: SiteFeed) -> Fetched:
    """One conditional GET of the feed, at most ``FEED_MAX_KB`` read; ``FeedError`` on failure."""
    _check_host(feed.url)
    conf = current_app.config
    timeout = float(conf.get("FEED_TIMEOUT_SECONDS") or 10)
    limit = int(conf.get("FEED_MAX_KB") or 2048) * 1024
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/json, "
        "application/xml;q=0.9, */*;q=0.5",
    }
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        with requests.get(feed.url, headers=headers, timeout=timeout, stream=True, allow_redirects=False) as response:
            if response.status_code == 304:
                return Fetched(304)
            if 300 <= response.status_code < 400:
                raise FeedError(f"订阅地址发生跳转（HTTP {response.status_code}），请改填跳转后的地址")
            if response.status_code != 200:
                raise FeedError(f"订阅源返回错误（HTTP {response.status_code}）")
            body = b""
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > limit:
                    raise FeedError(f"订阅源内容超过 {limit // 1024} KB 的上限")
            return Fetched(200, body, response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except requests.Timeout:
        raise FeedError(f"订阅源在 {timeout:g} 秒内没有响应") from None
    except requests.RequestException as exc:
        raise FeedError(f"无法连接订阅源（{type(exc).__name__}）") from None


# ----------------------------------------------------------------------------- parsing


def parse(fmt: FeedFormat, body: bytes) -> list[Entry]:
    """The feed's entries, oldest first; ``FeedError`` with a Chinese reason when malformed."""
    entries = _parse_json(body) if fmt is FeedFormat.json else _parse_rss(body)
    return sorted(entries, key=lambda e: e.published_at or datetime.min)


def _disclosure(words: list[str]) -> Disclosure | None:
    for word in words:
        found = DISCLOSURE_BY_WORD.get(word.strip())
        if found is not None:
            return found
    return None


def _text(value: Any, limit: int) -> str:
    text = html_to_text(str(value or "")) if "<" in str(value or "") else html.unescape(str(value or ""))
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text).strip()
    return text[:limit]


def _parse_rss(body: bytes) -> list[Entry]:
    parsed = feedparser.parse(body)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and not isinstance(problem, feedparser.CharacterEncodingOverride):
        reason = str(problem).splitlines()[0][:120] if str(problem) else type(problem).__name__
        raise FeedError(f"订阅源内容不是有效的 RSS/Atom，无法解析（{reason}）")
    if not parsed.get("version"):
        raise FeedError("订阅源内容不是 RSS 或 Atom 格式")
    out = []
    for e in parsed.entries:
        link = http_url(e.get("link"))
        key = str(e.get("id") or link or "").strip()[:500]
        title = _text(e.get("title"), 200)
        if not key or not title:
            continue
        categories = [str(t.get("term") or "").strip() for t in e.get("tags") or [] if t.get("term")]
        related = next((http_url(lk.get("href")) for lk in e.get("links") or [] if lk.get("rel") == "related"), None)
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC).replace(tzinfo=None) if stamp else None
        out.append(
            Entry(
                key=key,
                link=link,
                title=title,
                summary=_text(e.get("summary"), 2000),
                published_at=published,
                categories=categories,
                disclosure=_disclosure(categories),
                policy_link=related,
            )
        )
    return out


def _parse_json(body: bytes) -> list[Entry]:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"订阅源内容不是有效的 JSON（{type(exc).__name__}）") from None
    if not isinstance(doc, dict) or not str(doc.get("version") or "").startswith("https://jsonfeed.org/version/"):
        raise FeedError("订阅源内容不是 JSON Feed 格式（缺少 version）")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed 缺少 items 列表")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise FeedError("JSON Feed 的 items 中有不是对象的条目")
        extra = item.get("_govmedia") if isinstance(item.get("_govmedia"), dict) else {}
        link = http_url(item.get("url"))
        key = str(item.get("id") or link or "").strip()[:500]
        title = _text(item.get("title"), 200)
        if not key or not title:
            continue
        tags = [str(t) for t in item.get("tags") or [] if isinstance(t, str)]
        published = None
        if item.get("date_published"):
            try:
                stamp = datetime.fromisoformat(str(item["date_published"]).replace("Z", "+00:00"))
                published = stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp
            except ValueError:
                published = None
        words = [str(extra.get("disclosure") or ""), *tags]
        out.append(
            Entry(
                key=key,
                link=link,
                title=title,
                summary=_text(item.get("summary") or item.get("content_text") or item.get("content_html"), 2000),
                published_at=published,
                categories=tags,
                disclosure=_disclosure(words),
                policy_link=http_url(extra.get("policy_url")),
            )
        )
    return out


# ----------------------------------------------------------------------------- polling


def poll(feed: SiteFeed, *, actor: User | None = None) -> PollResult:
    """Fetch, parse and take the new items of one feed (flushes; the caller commits).

    Whatever goes wrong ends as the feed's error status, never as an exception for the caller,
    so the next feed is polled all the same.
    """
    result: PollResult
    try:
        fetched = fetch(feed)
        if fetched.status == 304:
            result = PollResult("not_modified")
        else:
            entries = parse(feed.format, fetched.body)
            # Serialise with another poll of this feed (the scheduler's and a person's) after the
            # network wait, before reading which items are new (SQLite: the write lock).
            if feed.id is not None:
                db.session.refresh(feed, with_for_update=True)
            with db.session.begin_nested():
                result = _take(feed, entries)
            feed.etag = (fetched.etag or "")[:300] or None
            feed.last_modified = (fetched.last_modified or "")[:100] or None
    except FeedError as exc:
        result = PollResult("error", error=exc.message)
    except ApiError as exc:  # a draft the content service refused: nothing of this poll is kept
        result = PollResult("error", error=f"生成草稿失败：{exc.message}")
    feed.last_polled_at = utcnow()
    feed.last_status = result.status
    feed.last_error = result.error
    feed.last_new_items = result.new_items
    db.session.flush()
    if result.status != "not_modified" or actor is not None:
        audit.record(
            "site_feed:poll",
            feed,
            after={
                "status": result.status,
                "new_items": result.new_items,
                "error": result.error,
                "content_ids": result.content_ids[:100],
            },
            actor=actor,
            actor_label=None if actor else "system:scheduler",
        )
    return result


def _take(feed: SiteFeed, entries: list[Entry]) -> PollResult:
    author = db.session.get(User, feed.author_id)
    if author is None or not author.has_role(*content_service.AUTHOR_ROLES) or not author.is_active:
        raise FeedError("订阅源的添加人已不是本单位运营人员，无法生成草稿；请由运营人员重新保存该订阅源")
    fresh = _new_entries(feed, entries)
    result = PollResult("ok")
    policies: list[tuple[Entry, FeedItem]] = []
    # Policies first, so a 解读 arriving in the same poll finds its policy's draft.
    for entry in sorted(fresh, key=lambda e: not e.is_policy):
        policy_item = _policy_for(feed, entry, policies) if entry.is_interpretation else None
        content = content_service.create_content(_draft_data(feed, entry, policy_item), author)
        item = FeedItem(
            feed_id=feed.id,
            unit_id=feed.unit_id,
            key=entry.key,
            link=entry.link,
            title=entry.title,
            published_at=entry.published_at,
            content_id=content.id,
            policy_item_id=policy_item.id if policy_item else None,
        )
        db.session.add(item)
        db.session.flush()
        if entry.is_policy:
            policies.append((entry, item))
        result.new_items += 1
        result.content_ids.append(content.id)
    return result


def _new_entries(feed: SiteFeed, entries: list[Entry]) -> list[Entry]:
    keys = {e.key for e in entries}
    links = {e.link for e in entries if e.link}
    taken = set(
        db.session.scalars(sa.select(FeedItem.key).where(FeedItem.unit_id == feed.unit_id, FeedItem.key.in_(keys)))
    )
    taken_links = (
        set(
            db.session.scalars(
                sa.select(FeedItem.link).where(FeedItem.unit_id == feed.unit_id, FeedItem.link.in_(links))
            )
        )
        if links
        else set()
    )
    out: list[Entry] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.key in taken or entry.key in seen or (entry.link and entry.link in taken_links):
            continue
        seen.add(entry.key)
        if entry.link:
            taken_links.add(entry.link)
        out.append(entry)
    return out


def _policy_for(feed: SiteFeed, entry: Entry, fresh: list[tuple[Entry, FeedItem]]) -> FeedItem | None:
    """The policy item a 解读 entry belongs to: by the link it names, else by the 《title》."""
    match = INTERPRETATION_TITLE.search(entry.title) or BOOK_TITLE.search(entry.title)
    name = match.group("name") if match else None

    def fits(title: str, link: str | None) -> bool:
        if entry.policy_link and link == entry.policy_link:
            return True
        return bool(name) and (f"《{name}》" in title or title == name)

    for policy_entry, item in reversed(fresh):
        if fits(policy_entry.title, policy_entry.link):
            return item
    stmt = (
        sa.select(FeedItem)
        .join(Content, Content.id == FeedItem.content_id)
        .where(
            FeedItem.unit_id == feed.unit_id,
            Content.kind == ContentKind.policy,
            Content.status != ContentStatus.withdrawn,
        )
        .order_by(FeedItem.id.desc())
        .limit(500)
    )
    for item in db.session.scalars(stmt):
        if fits(item.title, item.link):
            return item
    return None


def _draft_data(feed: SiteFeed, entry: Entry, policy_item: FeedItem | None) -> dict[str, Any]:
    source = f"{feed.unit.name}政府网站·{feed.name}"
    link = entry.link
    parts = [f"<p>{html.escape(p)}</p>" for p in entry.summary.split("\n") if p.strip()]
    source_html = f"<p>来源：{html.escape(source)}"
    if link:
        source_html += f'。原文链接：<a href="{html.escape(link)}">{html.escape(link)}</a>'
    parts.append(source_html + "</p>")
    disclosure = entry.disclosure or feed.default_disclosure
    reason = None
    if disclosure is not Disclosure.active:
        origin = "条目标注" if entry.disclosure else "订阅源默认"
        reason = f"{source}{origin}为“{DISCLOSURE_LABELS[disclosure]}”"
    kind = ContentKind.news
    if entry.is_policy:
        kind = ContentKind.policy
    elif policy_item is not None and policy_item.content_id is not None:
        kind = ContentKind.interpretation
    data: dict[str, Any] = {
        "unit_id": feed.unit_id,
        "title": entry.title,
        "body": "".join(parts),
        "summary": entry.summary[: content_service.SUMMARY_MAX] or None,
        "disclosure": disclosure.value,
        "disclosure_reason": reason,
        "kind": kind.value,
        "target_ids": [],
    }
    if kind is ContentKind.interpretation and policy_item is not None:
        data["policy_id"] = policy_item.content_id
    return data


def enabled_feed_ids() -> list[int]:
    return list(db.session.scalars(sa.select(SiteFeed.id).where(SiteFeed.enabled.is_(True)).order_by(SiteFeed.id)))


def poll_now(feed: SiteFeed, actor: User) -> PollResult:
    """A poll asked for from the page or the API (audited with the person)."""
    _require(actor, WRITE_ROLES)
    if not feed.enabled:
        raise ApiError("订阅源已停用，请先启用", status=409, code="feed_disabled")
    return poll(feed, actor=actor)
