"""The adapter contract's data types: credentials, posts, results, accounts, code rules."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from platforms.errors import AdapterError, Scope

PLATFORM_LABELS: dict[str, str] = {
    "weibo": "微博",
    "wechat": "微信公众号",
    "douyin": "抖音",
    "toutiao": "今日头条",
    "kuaishou": "快手",
    "bilibili": "哔哩哔哩",
    "xiaohongshu": "小红书",
    "channels": "视频号",
    "baijiahao": "百家号",
    "app": "移动客户端",
    "miniprogram": "小程序",
    "other": "其他",
}
"""User-visible name of every platform the ledger knows (keys are ``registry.models.Platform`` values)."""

PublishState = Literal["published", "pending", "rejected", "withdrawn"]

#: Operation names used in ``capabilities``.
OPERATIONS = frozenset(
    {
        "publish",
        "publish_article",
        "publish_text",
        "publish_images",
        "publish_video",
        "status",
        "withdraw",
        "profile",
        "recent_posts",
        "find_published",
        "search_accounts",
    }
)


def to_epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return float(value.timestamp())
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(frozen=True)
class Credentials:
    """Platform credentials of one account. Secrets are kept out of ``repr``.

    WeChat: ``app_id`` + ``app_secret``, or ``app_id`` + ``refresh_token`` + ``via="component"``.
    Weibo: ``access_token``. Douyin/Toutiao:
    ``client_key``, ``client_secret``, ``access_token``, ``refresh_token``, ``open_id``
    (+ ``expires_at``/``refresh_expires_at`` unix times and the ``renewals`` count).
    ``account_ref`` is the caller's own stable id for the account (used in rate-limit keys
    and echoed back through ``on_credentials_changed``); it is not a platform field.
    """

    app_id: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    open_id: str | None = None
    client_key: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    renewals: int = 0
    account_ref: str | None = None
    #: how the grant was made: ``"component"`` = a 公众号 authorised the office's 第三方平台
    #: (``app_id`` = authorizer_appid, ``refresh_token`` = authorizer_refresh_token, no AppSecret)
    via: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], account_ref: str | None = None) -> Credentials:
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in names and v is not None}
        for key in ("expires_at", "refresh_expires_at"):
            if key in values:
                values[key] = to_epoch(values[key])
        if "renewals" in values:
            values["renewals"] = int(values["renewals"] or 0)
        for key in (
            "app_id",
            "app_secret",
            "access_token",
            "refresh_token",
            "open_id",
            "client_key",
            "client_secret",
            "via",
        ):
            if key in values:
                values[key] = str(values[key])
        if account_ref is not None:
            values["account_ref"] = str(account_ref)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Platform fields only (no ``account_ref``), without empty values: ready to persist."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "account_ref":
                continue
            value = getattr(self, f.name)
            if value is None or (f.name == "renewals" and not value):
                continue
            out[f.name] = value
        return out


@dataclass(frozen=True)
class MediaFile:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    alt_text: str = ""
    #: Seconds, for video, when the caller knows it (checked best-effort).
    duration: float | None = None
    #: The cover's chosen crop ratio (``"2.35:1"`` …; ``platforms.imagecrop``), None = 原图.
    crop: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.content_type.lower().startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.content_type.lower().startswith("video/")

    def describe(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "alt_text": self.alt_text,
        }


@dataclass(frozen=True)
class ContentInput:
    """What the system hands to ``render``: one approved content version."""

    title: str
    html: str = ""
    text: str = ""
    summary: str = ""
    media: tuple[MediaFile, ...] = ()
    cover: MediaFile | None = None
    canonical_url: str | None = None
    kind: str = "article"
    author: str = ""


@dataclass(frozen=True)
class RenderedPost:
    """A post shaped for one platform; what ``publish`` sends."""

    platform: str
    title: str
    text: str
    html: str = ""
    media: tuple[MediaFile, ...] = ()
    cover: MediaFile | None = None
    links: tuple[str, ...] = ()
    canonical_url: str | None = None
    idempotency_key: str = ""
    summary: str = ""
    author: str = ""
    #: "article" | "text" | "images" | "video"
    kind: str = "article"


@dataclass(frozen=True)
class LimitProblem:
    code: str
    field: str
    message: str


@dataclass(frozen=True)
class RenderResult:
    post: RenderedPost
    problems: tuple[LimitProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PublishResult:
    post_id: str
    url: str | None
    state: PublishState
    platform_code: str | None = None
    #: A short Chinese description for operators.
    detail: str = ""
    #: The platform's own status value, e.g. ``"publish_status=1"``.
    raw_status: str | None = None
    #: The article's data id where the platform gives one beside the post id: WeChat 群发's
    #: ``msg_data_id``, which the 留言 (comment) API needs. None elsewhere.
    data_id: str | None = None


@dataclass(frozen=True)
class AccountProfile:
    platform: str
    uid: str | None
    name: str | None = None
    verified: bool | None = None
    followers: int | None = None
    posts_count: int | None = None
    last_post_at: datetime | None = None
    status: str = "active"
    profile_url: str | None = None
    #: 认证主体 where the platform's own profile read carries it (Weibo ``verified_reason``);
    #: None where it does not (WeChat and Douyin/Toutiao own-account reads have no such field).
    subject: str | None = None
    #: Seconds until the access token expires, when the platform says.
    token_expires_in: float | None = None


@dataclass(frozen=True)
class RecentPost:
    platform: str
    post_id: str
    text: str = ""
    title: str = ""
    url: str | None = None
    created_at: datetime | None = None
    canonical_url: str | None = None
    state: PublishState = "published"
    #: True: an original post; False: a repost (转发); None: the platform does not say.
    original: bool | None = None


@dataclass(frozen=True)
class RecentListing:
    """An account's newest posts as the platform listed them, and whether the platform proved the
    listing is the whole account (``complete``): Weibo ``total_number`` ≤ the statuses returned,
    Douyin/Toutiao ``has_more`` false on the last page read, WeChat ``total_count`` ≤ the items
    read. Without such proof (a capped timeline, a next page left unread, a missing field) it is
    False: the listing covers only what was published since its oldest post."""

    posts: tuple[RecentPost, ...] = ()
    complete: bool = False


@dataclass(frozen=True)
class PlatformAccount:
    """An account as seen on a platform (a search hit, an imported list row, a probe).

    Not a ledger row: ``registry.models.Account`` is ours, ``oversight.models.DiscoveredAccount``
    is the stored snapshot of one of these. ``status`` is the platform's word for the account
    (``active``/``deregistered``/``banned``…); ``source`` says where it was seen.
    """

    platform: str
    uid: str
    name: str
    subject: str | None = None
    verified: bool | None = None
    profile_url: str | None = None
    followers: int | None = None
    posts_count: int | None = None
    last_post_at: datetime | None = None
    status: str | None = None
    region: str | None = None
    source: str = "search"
    source_ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeRule:
    """One row of an adapter's platform-code → error-class table."""

    error: type[AdapterError]
    message: str
    scope: Scope | None = None


CodeTable = Mapping[int, CodeRule]
