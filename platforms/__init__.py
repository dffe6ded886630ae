"""Channel adapters: one pure protocol client per platform, found through a registry.

    from platforms import get_adapter, Credentials
    adapter = get_adapter("weibo", base_url="http://127.0.0.1:5100/weibo", options={"rip": "..."})

See ``docs/adapters.md`` for pointing them at the real platforms or at the sandbox.
"""

from platforms.base import (
    OPERATIONS,
    PLATFORM_LABELS,
    AccountProfile,
    ChannelAdapter,
    CodeRule,
    ContentInput,
    Credentials,
    DiscoveredAccount,
    LimitProblem,
    MediaFile,
    PublishResult,
    PublishState,
    RecentPost,
    RenderedPost,
    RenderResult,
    adapter_class,
    get_adapter,
    install_log_redaction,
    register,
    registered_platforms,
)
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
from platforms.tokens import InMemoryTokenStore, RedisTokenStore, TokenStore

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
    "DiscoveredAccount",
    "DuplicateContent",
    "InMemoryRateLimiter",
    "InMemoryTokenStore",
    "InvalidRequest",
    "Limit",
    "LimitProblem",
    "MediaFile",
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
