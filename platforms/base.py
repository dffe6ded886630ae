"""The adapter contract: typed inputs/outputs, the ``ChannelAdapter`` base and the registry.

An adapter is a pure protocol client for one platform. It takes credentials and a rendered
post, talks HTTP to ``base_url`` (the real platform or the sandbox), and returns typed results
or raises one of the errors in ``platforms.errors``. It knows nothing about the
database, Flask or Celery.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

from platforms.errors import (
    AdapterError,
    RateLimited,
    Scope,
    TransientError,
    Unsupported,
    fallback_http_error,
    map_http_error,
    parse_retry_after,
)
from platforms.ratelimit import (
    RateLimiter,
    default_rate_limiter,
    limits_from_config,
    window,
)
from platforms.tokens import TokenStore, default_token_store

log = logging.getLogger(__name__)

_QUERY_SECRET_RE = re.compile(r"((?:access_token|secret|refresh_token|client_secret)=)[^&\s\"']+", re.IGNORECASE)


class RedactSecretsFilter(logging.Filter):
    """Masks ``access_token=...`` and friends in log records (urllib3 logs full URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = _QUERY_SECRET_RE.sub(r"\1***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTION_INSTALLED: list[bool] = []


def install_log_redaction() -> None:
    """Attach ``RedactSecretsFilter`` to urllib3's connection logger (once per process).

    Called by ``platforms.init_app`` (so by every process that runs ``create_app``), never on
    adapter construction."""
    if _REDACTION_INSTALLED:
        return
    logging.getLogger("urllib3.connectionpool").addFilter(RedactSecretsFilter())
    _REDACTION_INSTALLED.append(True)


PLATFORM_LABELS: dict[str, str] = {
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "toutiao": "头条号",
}

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


# --------------------------------------------------------------------------- data types


def _to_epoch(value: Any) -> float | None:
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

    WeChat: ``app_id`` + ``app_secret``. Weibo: ``access_token``. Douyin/Toutiao:
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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], account_ref: str | None = None) -> Credentials:
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in names and v is not None}
        for key in ("expires_at", "refresh_expires_at"):
            if key in values:
                values[key] = _to_epoch(values[key])
        if "renewals" in values:
            values["renewals"] = int(values["renewals"] or 0)
        for key in ("app_id", "app_secret", "access_token", "refresh_token", "open_id", "client_key", "client_secret"):
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
class DiscoveredAccount:
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


@dataclass(frozen=True)
class CodeRule:
    """One row of an adapter's platform-code → error-class table."""

    error: type[AdapterError]
    message: str
    scope: Scope | None = None


CodeTable = Mapping[int, CodeRule]


# --------------------------------------------------------------------------- text helpers

_URL_RE = re.compile(r"https?://[^\s<>\"'，。！？、）)】]+")
_HREF_RE = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup or "")
    parser.close()
    lines = [_SPACE_RE.sub(" ", line).strip() for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


def extract_links(*texts: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in texts:
        for match in _HREF_RE.findall(text or ""):
            if match.startswith(("http://", "https://")):
                seen.setdefault(html_lib.unescape(match), None)
        for match in _URL_RE.findall(text or ""):
            seen.setdefault(match, None)
    return tuple(seen)


def normalize_text(text: str | None) -> str:
    """Text without URLs and whitespace, for "is this the same post" comparisons."""
    return _SPACE_RE.sub("", _URL_RE.sub("", html_lib.unescape(text or "")))


def make_idempotency_key(platform: str, content: ContentInput, text: str) -> str:
    digest = hashlib.sha256()
    for part in (platform, content.title, text, content.html, content.canonical_url or ""):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    for media in (content.cover, *content.media):
        if media is not None:
            digest.update(media.sha256.encode("ascii"))
    return digest.hexdigest()


def from_unix(value: Any) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    return datetime.fromtimestamp(number, tz=UTC)


# --------------------------------------------------------------------------- the base class

_A = TypeVar("_A", bound="ChannelAdapter")


class PlatformSession(requests.Session):
    """A ``requests.Session`` that reads the proxy settings of the environment once per host.

    requests looks up ``*_proxy``/``no_proxy`` on every call by scanning the whole process
    environment twice — about a tenth of a publishing worker's CPU per post. An adapter talks to
    one or two hosts for the life of the process, so the answer per (scheme, host) is kept; the
    proxies, ``no_proxy`` and the CA bundle variables are honoured exactly as requests does.
    Restart the workers after changing proxy variables.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environ_proxies: dict[tuple[str, str, str], dict[str, str]] = {}

    def merge_environment_settings(  # type: ignore[override]
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        proxies = dict(proxies or {})
        if self.trust_env:
            no_proxy = proxies.get("no_proxy")
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, no_proxy or "")
            env = self._environ_proxies.get(key)
            if env is None:
                env = self._environ_proxies[key] = get_environ_proxies(url, no_proxy=no_proxy)
            for name, value in env.items():
                proxies.setdefault(name, value)
            if verify is True or verify is None:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


class ChannelAdapter(ABC):
    """One platform's protocol client. Subclasses register themselves with ``@register``."""

    platform: ClassVar[str]
    default_base_url: ClassVar[str]
    base_capabilities: ClassVar[frozenset[str]]
    #: The single platform-code → error-class table of this adapter.
    code_table: ClassVar[CodeTable]
    #: operation → {scope: count}; overridable through ``options["rate_limits"]``.
    default_rate_limits: ClassVar[Mapping[str, Mapping[str, int]]] = {}

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float | tuple[float, float] = 10.0,
        token_store: TokenStore | None = None,
        rate_limiter: RateLimiter | None = None,
        options: Mapping[str, Any] | None = None,
        on_credentials_changed: Callable[[Credentials], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.timeout = timeout
        self.options: dict[str, Any] = dict(options or {})
        self.token_store: TokenStore = token_store if token_store is not None else default_token_store()
        self.rate_limiter: RateLimiter = rate_limiter if rate_limiter is not None else default_rate_limiter()
        self.on_credentials_changed = on_credentials_changed
        self.session = session or PlatformSession()
        self.capabilities: frozenset[str] = self._capabilities()

    # ----- lifecycle

    def close(self) -> None:
        self.session.close()

    def __enter__(self: _A) -> _A:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def label(self) -> str:
        return PLATFORM_LABELS.get(self.platform, self.platform)

    def _capabilities(self) -> frozenset[str]:
        caps = set(self.base_capabilities)
        if self.options.get("search_url"):
            caps.add("search_accounts")
        return frozenset(caps)

    def supports(self, operation: str) -> bool:
        return operation in self.capabilities

    # ----- the operations

    @abstractmethod
    def render(
        self,
        content: ContentInput,
        overrides: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> RenderResult:
        """Shape ``content`` for this platform and list every limit it breaks (in Chinese)."""

    @abstractmethod
    def publish(self, creds: Credentials, post: RenderedPost) -> PublishResult: ...

    @abstractmethod
    def status(self, creds: Credentials, post_id: str) -> PublishResult: ...

    def withdraw(self, creds: Credentials, post_id: str) -> PublishResult:
        raise Unsupported(self.platform, None, f"{self.label}没有可用的删除接口，请在平台后台人工删除")

    @abstractmethod
    def profile(self, creds: Credentials) -> AccountProfile: ...

    @abstractmethod
    def recent_posts(self, creds: Credentials, limit: int = 10) -> list[RecentPost]: ...

    def search_accounts(self, keyword: str) -> list[DiscoveredAccount]:
        """Accounts matching ``keyword`` through ``options["search_url"]`` (the sandbox's)."""
        url = self.options.get("search_url")
        if not url:
            raise Unsupported(self.platform, None, f"{self.label}没有公开的账号搜索接口")
        count = int(self.options.get("search_page_size", 50))
        max_pages = int(self.options.get("search_max_pages", 5))
        found: list[DiscoveredAccount] = []
        for page in range(1, max_pages + 1):
            resp = self._request("GET", url, params={"q": keyword, "page": page, "count": count})
            body = self._json(resp)
            if resp.status_code >= 400:
                raise fallback_http_error(self.platform, resp.status_code)
            for item in body.get("accounts") or []:
                found.append(
                    DiscoveredAccount(
                        platform=self.platform,
                        uid=str(item.get("uid", "")),
                        name=str(item.get("name", "")),
                        subject=item.get("subject"),
                        verified=item.get("verified"),
                        profile_url=item.get("profile_url"),
                        followers=item.get("followers"),
                        posts_count=item.get("posts_count"),
                        last_post_at=_parse_iso(item.get("last_post_at")),
                        status=item.get("status"),
                    )
                )
            if not body.get("has_more"):
                break
        return found

    def find_published(self, creds: Credentials, post: RenderedPost) -> PublishResult | None:
        """Crash recovery: the post among recent posts (same canonical_url or same text)?"""
        limit = int(self.options.get("find_published_limit", 20))
        for recent in self.recent_posts(creds, limit):
            if self._matches(post, recent):
                return PublishResult(
                    post_id=recent.post_id,
                    url=recent.url,
                    state=recent.state,
                    detail="在平台最近发布的内容中找到了这条内容",
                )
        return None

    def _matches(self, post: RenderedPost, recent: RecentPost) -> bool:
        if recent.original is False:
            return False  # a repost (转发) is never the post we published
        url = post.canonical_url
        if url and (recent.canonical_url == url or url in (recent.text or "") or url == recent.url):
            return True
        ours = normalize_text(post.text)
        return bool(ours) and ours == normalize_text(recent.text)

    def manual_package(
        self,
        post: RenderedPost | None,
        operation: str = "publish",
        *,
        post_id: str | None = None,
    ) -> dict[str, Any]:
        """Everything an operator needs to do ``operation`` by hand, with Chinese instructions."""
        package: dict[str, Any] = {
            "platform": self.platform,
            "platform_label": self.label,
            "operation": operation,
            "post_id": post_id,
            "instructions": self._manual_instructions(operation, post, post_id),
        }
        if post is not None:
            package.update(
                title=post.title,
                text=post.text,
                html=post.html,
                summary=post.summary,
                author=post.author,
                canonical_url=post.canonical_url,
                links=list(post.links),
                cover=post.cover.describe() if post.cover else None,
                media=[m.describe() for m in post.media],
                idempotency_key=post.idempotency_key,
            )
        return package

    def _manual_instructions(self, operation: str, post: RenderedPost | None, post_id: str | None) -> list[str]:
        if operation == "withdraw":
            return [
                f"登录{self.label}管理后台。",
                f"找到作品（平台编号：{post_id or '见发布记录'}），执行删除或设为私密。",
                "在本系统中将该投递标记为“已撤回”。",
            ]
        steps = [f"登录{self.label}管理后台，新建内容。"]
        if post is not None:
            if post.title:
                steps.append("复制“标题”填入标题栏。")
            steps.append("复制“正文”填入正文栏，核对格式与链接。")
            if post.cover:
                steps.append(f"上传封面图片：{post.cover.filename}。")
            if post.media:
                names = "、".join(m.filename for m in post.media)
                steps.append(f"按顺序上传素材：{names}。")
            if post.canonical_url:
                steps.append(f"如平台支持“原文链接”，填写：{post.canonical_url}。")
        steps.append("提交发布，待平台审核通过后，把作品链接填回本系统并标记为“已人工发布”。")
        return steps

    # ----- shared plumbing for subclasses

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        json_body: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """One HTTP call with a timeout; transport errors, 5xx and 429 become adapter errors."""
        url = self._url(path)
        # Only the path is logged: query strings and bodies may hold tokens.
        log.debug("%s %s %s", self.platform, method, url.split("?", 1)[0])
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                data=data,
                json=json_body,
                files=files,
                headers=dict(headers) if headers else None,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except requests.RequestException as exc:
            err = map_http_error(self.platform, exc=exc) or TransientError(self.platform, "request_error")
            # "from None": requests' message contains the URL, which may contain a token.
            raise err from None
        status_error = map_http_error(self.platform, response=resp)
        if status_error is not None:
            raise status_error
        return resp

    def _json(self, resp: requests.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if resp.status_code >= 400:
                raise fallback_http_error(self.platform, resp.status_code)
            raise TransientError(self.platform, "invalid_response", "平台返回了无法解析的响应")
        return body

    def _error_for(
        self,
        code: int | str,
        platform_message: str | None = None,
        resp: requests.Response | None = None,
    ) -> AdapterError:
        """The error for a platform code, from this adapter's one table."""
        try:
            number = int(code)
        except (TypeError, ValueError):
            number = None
        rule = self.code_table.get(number) if number is not None else None
        if rule is None:
            return AdapterError(self.platform, code, f"{self.label}返回未知错误", platform_message=platform_message)
        if rule.error is RateLimited:
            scope: Scope = rule.scope or "minute"
            header = resp.headers.get("Retry-After") if resp is not None else None
            wait = parse_retry_after(header)
            if wait is None:
                wait = self._default_retry_after(scope)
            return RateLimited(
                self.platform,
                code,
                rule.message,
                retry_after=wait,
                scope=scope,
                platform_message=platform_message,
            )
        return rule.error(self.platform, code, rule.message, platform_message=platform_message)

    def _default_retry_after(self, scope: Scope) -> float:
        """Until the current minute/hour/day (Beijing time) ends, at least one second."""
        configured = (self.options.get("retry_after") or {}).get(scope)
        if configured is not None:
            return float(configured)
        return max(window(scope, time.time())[1], 1.0)

    def _account_key(self, creds: Credentials) -> str:
        if creds.account_ref:
            return creds.account_ref
        ident = creds.app_id or creds.open_id
        if ident:
            return ident
        # Weibo: only a token identifies the account; never put the token itself in a key.
        return "t" + hashlib.sha256((creds.access_token or "").encode()).hexdigest()[:16]

    def _limits(self, operation: str) -> tuple[Any, ...]:
        configured = self.options.get("rate_limits")
        if configured is not None and operation in configured:
            return limits_from_config(configured[operation])
        return limits_from_config(self.default_rate_limits.get(operation))

    def _acquire(self, creds: Credentials, operation: str) -> None:
        """Take one unit of this account's quota for ``operation`` or raise ``RateLimited``."""
        limits = self._limits(operation)
        if not limits:
            return
        decision = self.rate_limiter.acquire(self.platform, self._account_key(creds), operation, limits)
        if not decision.allowed:
            scope: Scope = decision.scope or "minute"
            names = {"minute": "每分钟", "hour": "每小时", "day": "每天"}
            raise RateLimited(
                self.platform,
                "local_rate_limit",
                f"已达到{self.label}{names[scope]}调用上限，{int(decision.retry_after) + 1} 秒后可重试",
                retry_after=decision.retry_after,
                scope=scope,
            )

    def _credentials_changed(self, creds: Credentials) -> None:
        if self.on_credentials_changed is not None:
            self.on_credentials_changed(creds)

    def _override(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        """``overrides[platform]`` as a dict: a plain string means the post text."""
        if not overrides:
            return {}
        value = overrides.get(self.platform)
        if isinstance(value, str):
            return {"text": value}
        if isinstance(value, Mapping):
            return dict(value)
        return {}

    def _key(self, content: ContentInput, text: str, given: str | None) -> str:
        return given or make_idempotency_key(self.platform, content, text)


def _parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def problems_for_sizes(
    media: Sequence[MediaFile],
    *,
    field_name: str,
    max_bytes: int,
    allowed_types: Sequence[str] | None,
    label: str,
) -> list[LimitProblem]:
    """Size/type checks shared by renderers."""
    problems = []
    for item in media:
        if allowed_types is not None and item.content_type.lower() not in allowed_types:
            problems.append(
                LimitProblem(
                    "media_type",
                    field_name,
                    f"{label}“{item.filename}”格式不支持（{item.content_type}）",
                )
            )
        if item.size > max_bytes:
            problems.append(
                LimitProblem(
                    "media_too_large",
                    field_name,
                    f"{label}“{item.filename}”大小 {_human(item.size)}，超过上限 {_human(max_bytes)}",
                )
            )
    return problems


def _human(size: int) -> str:
    if size >= 1024 * 1024 * 1024:
        return f"{size / 1024 / 1024 / 1024:.1f} GB"
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, type[ChannelAdapter]] = {}

_C = TypeVar("_C", bound=type[ChannelAdapter])


def register(cls: _C) -> _C:
    """Class decorator: make ``cls`` available as ``get_adapter(cls.platform)``."""
    _REGISTRY[cls.platform] = cls
    return cls


def registered_platforms() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def adapter_class(platform: str) -> type[ChannelAdapter]:
    try:
        return _REGISTRY[platform]
    except KeyError:
        raise ValueError(f"未知平台：{platform}") from None


def get_adapter(
    platform: str,
    *,
    base_url: str | None = None,
    timeout: float | tuple[float, float] = 10.0,
    token_store: TokenStore | None = None,
    rate_limiter: RateLimiter | None = None,
    options: Mapping[str, Any] | None = None,
    on_credentials_changed: Callable[[Credentials], None] | None = None,
    session: requests.Session | None = None,
) -> ChannelAdapter:
    """A new adapter for ``platform`` ("wechat", "weibo", "douyin", "toutiao")."""
    return adapter_class(platform)(
        base_url=base_url,
        timeout=timeout,
        token_store=token_store,
        rate_limiter=rate_limiter,
        options=options,
        on_credentials_changed=on_credentials_changed,
        session=session,
    )
