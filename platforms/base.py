"""The adapter contract: the ``ChannelAdapter`` base class.

An adapter is a pure protocol client for one platform. It takes credentials and a rendered
post, talks HTTP to ``base_url`` (the real platform or the sandbox), and returns typed results
or raises one of the errors in ``platforms.errors``. It knows nothing about the
database, Flask or Celery. Types live in ``platforms.types``, text helpers in
``platforms.text``, the HTTP session in ``platforms.session``, the registry in
``platforms.registry``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import requests

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
from platforms.manual_files import manual_file_steps, package_files, package_html
from platforms.ratelimit import (
    RateLimiter,
    default_rate_limiter,
    limits_from_config,
    window,
)
from platforms.session import PlatformSession
from platforms.text import make_idempotency_key, normalize_text, parse_iso
from platforms.tokens import TokenStore, default_token_store
from platforms.types import (
    PLATFORM_LABELS,
    AccountProfile,
    CodeTable,
    ContentInput,
    Credentials,
    PlatformAccount,
    PublishResult,
    RecentListing,
    RecentPost,
    RenderedPost,
    RenderResult,
)

log = logging.getLogger(__name__)

_A = TypeVar("_A", bound="ChannelAdapter")


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

    def recent_listing(self, creds: Credentials, limit: int = 10) -> RecentListing:
        """The newest posts and whether the platform proved they are all of them (see
        :class:`~platforms.types.RecentListing`). By default nothing is proved."""
        return RecentListing(tuple(self.recent_posts(creds, limit)), complete=False)

    def search_accounts(self, keyword: str) -> list[PlatformAccount]:
        """Accounts matching ``keyword`` through ``options["search_url"]`` (the sandbox's)."""
        url = self.options.get("search_url")
        if not url:
            raise Unsupported(self.platform, None, f"{self.label}没有公开的账号搜索接口")
        count = int(self.options.get("search_page_size", 50))
        max_pages = int(self.options.get("search_max_pages", 5))
        found: list[PlatformAccount] = []
        for page in range(1, max_pages + 1):
            resp = self._request("GET", url, params={"q": keyword, "page": page, "count": count})
            body = self._json(resp)
            if resp.status_code >= 400:
                raise fallback_http_error(self.platform, resp.status_code)
            for item in body.get("accounts") or []:
                found.append(
                    PlatformAccount(
                        platform=self.platform,
                        uid=str(item.get("uid", "")),
                        name=str(item.get("name", "")),
                        subject=item.get("subject"),
                        verified=item.get("verified"),
                        profile_url=item.get("profile_url"),
                        followers=item.get("followers"),
                        posts_count=item.get("posts_count"),
                        last_post_at=parse_iso(item.get("last_post_at")),
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
            files = package_files(post)  # the cover cropped as chosen; body images named
            cover = next((f for f in files if f.role == "cover"), None)
            package.update(
                title=post.title,
                text=post.text,
                html=package_html(post, files),  # <img src> → the package's 正文图片/ files
                summary=post.summary,
                author=post.author,
                canonical_url=post.canonical_url,
                links=list(post.links),
                cover=cover.describe() if cover else None,
                media=[f.describe() for f in files if f.role != "cover"],
                files=[f.describe() for f in files],
                idempotency_key=post.idempotency_key,
            )
        return package

    @staticmethod
    def manual_files(post: RenderedPost) -> list[tuple[str, bytes]]:
        """The package's files as (path in the package, bytes): 封面/, 正文图片/, 素材/."""
        return [(f.path, f.media.data) for f in package_files(post)]

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
            steps += manual_file_steps(post)
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
            # PlatformSession.call: the same call on requests' short path (a session passed in by
            # a caller gets the ordinary one)
            send = self.session.call if isinstance(self.session, PlatformSession) else self.session.request
            resp = send(
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
            if resp.status_code >= 500:
                coded = self._server_error(resp)
                if coded is not None:
                    raise coded
            raise status_error
        return resp

    def _server_error(self, resp: requests.Response) -> AdapterError | None:
        """The platform's own error in a 5xx body, for platforms that send one (Weibo)."""
        return None

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
