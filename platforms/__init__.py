"""Channel adapters: one pure protocol client per platform, found through a registry.

    from platforms import get_adapter, Credentials
    adapter = get_adapter("weibo", base_url="http://127.0.0.1:5100/weibo", options={"rip": "..."})

See ``docs/adapters.md`` for pointing them at the real platforms or at the sandbox.
"""

from platforms.base import ChannelAdapter
from platforms.errors import (
    AccountUnavailable,
    AdapterError,
    ContentRejected,
    CredentialsError,
    DuplicateContent,
    InvalidRequest,
    RateLimited,
    TokenExpired,
    TransientError,
    Unsupported,
)
from platforms.ratelimit import (
    InMemoryRateLimiter,
    Limit,
    RateLimiter,
    RedisRateLimiter,
)
from platforms.registry import adapter_class, get_adapter, register, registered_platforms
from platforms.session import install_log_redaction
from platforms.tokens import InMemoryTokenStore, RedisTokenStore, TokenStore
from platforms.types import (
    OPERATIONS,
    PLATFORM_LABELS,
    AccountProfile,
    CodeRule,
    ContentInput,
    Credentials,
    LimitProblem,
    MediaFile,
    PlatformAccount,
    PublishResult,
    PublishState,
    RecentPost,
    RenderedPost,
    RenderResult,
)

# Importing the platform modules registers them.
from platforms import douyin, toutiao, wechat, weibo  # isort: skip

__all__ = [
    "OPERATIONS",
    "PLATFORM_LABELS",
    "AccountProfile",
    "AccountUnavailable",
    "AdapterError",
    "ChannelAdapter",
    "CodeRule",
    "ContentInput",
    "ContentRejected",
    "Credentials",
    "CredentialsError",
    "DuplicateContent",
    "InMemoryRateLimiter",
    "InMemoryTokenStore",
    "InvalidRequest",
    "Limit",
    "LimitProblem",
    "MediaFile",
    "PlatformAccount",
    "PublishResult",
    "PublishState",
    "RateLimited",
    "RateLimiter",
    "RecentPost",
    "RedisRateLimiter",
    "RedisTokenStore",
    "RenderResult",
    "RenderedPost",
    "TokenExpired",
    "TokenStore",
    "TransientError",
    "Unsupported",
    "adapter_class",
    "douyin",
    "get_adapter",
    "init_app",
    "register",
    "registered_platforms",
    "toutiao",
    "wechat",
    "weibo",
]


def init_app(app: object) -> None:
    """Process-wide setup of the platform layer: redact secrets from urllib3's request logs."""
    install_log_redaction()
