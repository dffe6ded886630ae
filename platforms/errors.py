"""Adapter error taxonomy and the one shared HTTP-level mapping.

Every error carries the platform name, the platform's own code (as a string, or an
HTTP-level code such as ``"http_503"`` / ``"timeout"``) and a Chinese message meant for
operators. Messages never contain a raw response body or a token; the platform's own
error text, when there is one, is kept separately in ``platform_message`` after
redaction, for diagnostics only.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from typing import ClassVar, Literal

import requests

Scope = Literal["minute", "hour", "day"]

#: Seconds a fallback wait lasts for each scope when the platform gives no hint.
SCOPE_SECONDS: dict[str, float] = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}

_TOKENISH = re.compile(r"[A-Za-z0-9._\-+/=|]{24,}")


def redact(text: object, limit: int = 200) -> str:
    """A short, token-free excerpt of a platform's error text (never the whole body)."""
    cleaned = _TOKENISH.sub("***", str(text or ""))
    return cleaned[:limit]


class AdapterError(Exception):
    """Base class: something went wrong talking to a platform."""

    #: Whether retrying the same call later may succeed.
    retryable: ClassVar[bool] = False
    #: Whether the account needs a fresh authorisation or corrected credentials.
    needs_reauth: ClassVar[bool] = False
    default_message: ClassVar[str] = "平台调用失败"

    def __init__(
        self,
        platform: str,
        code: str | int | None = None,
        message: str | None = None,
        *,
        platform_message: str | None = None,
    ) -> None:
        self.platform = platform
        self.code = None if code is None else str(code)
        self.message = message or self.default_message
        self.platform_message = redact(platform_message) if platform_message else None
        text = f"{platform}: {self.message}"
        if self.code is not None:
            text += f"（平台代码 {self.code}）"
        super().__init__(text)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keep errors picklable (Celery result backends) despite keyword-only arguments.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[AdapterError], state: dict[str, object]) -> AdapterError:
    err = cls.__new__(cls)
    Exception.__init__(err, f"{state.get('platform')}: {state.get('message')}")
    err.__dict__.update(state)
    return err


class TransientError(AdapterError):
    """Timeouts, connection failures, 5xx, "system busy": retry with backoff."""

    retryable = True
    default_message = "平台暂时不可用，请稍后重试"


class RateLimited(AdapterError):
    """A platform (or our own limiter guarding it) says: not now. Retry after ``retry_after`` s."""

    retryable = True
    default_message = "调用频率超过平台限制"

    def __init__(
        self,
        platform: str,
        code: str | int | None = None,
        message: str | None = None,
        *,
        retry_after: float = 60.0,
        scope: Scope = "minute",
        platform_message: str | None = None,
    ) -> None:
        self.retry_after = float(max(retry_after, 0.0))
        self.scope: Scope = scope
        super().__init__(platform, code, message, platform_message=platform_message)


class TokenExpired(AdapterError):
    """The access token is expired or invalid and could not be refreshed here.

    WeChat and Douyin/Toutiao refresh and retry once inside the adapter before raising
    this; Weibo has no refresh token, so for Weibo this always means re-authorisation.
    """

    needs_reauth = True
    default_message = "访问令牌已过期或失效"


class CredentialsError(AdapterError):
    """Wrong AppID/secret, revoked grant, IP not whitelisted, missing permission: fix, don't retry."""

    needs_reauth = True
    default_message = "平台凭据无效或权限不足，需要重新授权或修正配置"


class ContentRejected(AdapterError):
    """The platform refused this content (review, sensitive words, media format): don't retry."""

    default_message = "内容被平台拒绝"


class DuplicateContent(AdapterError):
    """The platform considers the post a duplicate of an earlier one: don't retry."""

    default_message = "平台判定为重复内容"


class AccountUnavailable(AdapterError):
    """The account is banned, deregistered or no longer authorised for the API."""

    default_message = "账号不可用（被封禁、注销或接口权限被收回）"


class InvalidRequest(AdapterError):
    """The request itself is wrong (a bug or a misconfiguration on our side): don't retry."""

    default_message = "请求参数有误"


class Unsupported(AdapterError):
    """The platform offers no API for this operation; use the manual package instead."""

    default_message = "该平台不支持通过接口完成此操作，请人工处理"


ERROR_CLASSES: dict[str, type[AdapterError]] = {
    cls.__name__: cls
    for cls in (
        AdapterError,
        TransientError,
        RateLimited,
        TokenExpired,
        CredentialsError,
        ContentRejected,
        DuplicateContent,
        AccountUnavailable,
        InvalidRequest,
        Unsupported,
    )
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def map_http_error(
    platform: str,
    response: requests.Response | None = None,
    exc: BaseException | None = None,
) -> AdapterError | None:
    """The one HTTP-level mapping shared by all adapters.

    - timeouts, connection errors and other transport failures → ``TransientError``
    - HTTP 5xx → ``TransientError``
    - HTTP 429 → ``RateLimited`` (``Retry-After`` honoured, else one minute)
    - anything else → ``None``: the adapter parses the body (platform codes win).

    ``fallback_http_error`` covers non-2xx answers whose body carries no platform code.
    """
    if exc is not None:
        if isinstance(exc, requests.Timeout):
            return TransientError(platform, "timeout", "请求平台超时")
        if isinstance(exc, requests.ConnectionError):
            return TransientError(platform, "connection_error", "无法连接平台")
        return TransientError(platform, "request_error", "请求平台失败")
    if response is None:
        return None
    status = response.status_code
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(
            platform,
            "http_429",
            "平台返回请求过多（HTTP 429）",
            retry_after=60.0 if wait is None else wait,
            scope="minute",
        )
    if status >= 500:
        return TransientError(platform, f"http_{status}", f"平台服务异常（HTTP {status}）")
    return None


def fallback_http_error(platform: str, status: int) -> AdapterError:
    """A non-2xx answer without a recognisable platform error body."""
    if status in (401, 403):
        return CredentialsError(platform, f"http_{status}", f"平台拒绝访问（HTTP {status}）")
    if status == 404:
        return InvalidRequest(platform, "http_404", "平台接口地址不存在（HTTP 404），请检查 base_url")
    return InvalidRequest(platform, f"http_{status}", f"平台返回错误（HTTP {status}）")
