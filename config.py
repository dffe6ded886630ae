"""Configuration from environment variables only (docker-compose is the source of truth).

Every setting has a documented default so that `make run` works on a fresh machine with
nothing but Python: a SQLite file under instance/, a broker that needs no server (the
SQLAlchemy transport on a second SQLite file) and the sandbox platforms on 127.0.0.1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def from_env() -> dict[str, Any]:
    """Read the configuration now (not at import time)."""
    env = os.environ.get
    sandbox_port = _int("SANDBOX_PORT", 5100)
    sandbox_base = env("SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}")
    return {
        "SECRET_KEY": env("SECRET_KEY", "dev-only-change-me"),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{INSTANCE / 'govmedia.sqlite'}"),
        "BROKER_URL": env("BROKER_URL", f"sqla+sqlite:///{INSTANCE / 'broker.sqlite'}"),
        "REDIS_URL": env("REDIS_URL", ""),
        "FERNET_KEY": env("FERNET_KEY", ""),
        "SESSION_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": _int("SESSION_HOURS", 8) * 3600,
        "LOGIN_RATE_LIMIT": env("LOGIN_RATE_LIMIT", "10 per minute"),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
        "SANDBOX_URL": sandbox_base,
        "PLATFORM_BASE_URLS": {
            "wechat": env("WECHAT_BASE_URL", f"{sandbox_base}/wechat"),
            "weibo": env("WEIBO_BASE_URL", f"{sandbox_base}/weibo"),
            "douyin": env("DOUYIN_BASE_URL", f"{sandbox_base}/douyin"),
            "toutiao": env("TOUTIAO_BASE_URL", f"{sandbox_base}/toutiao"),
        },
        "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL", "https://gov.example.cn"),
        "WEIBO_RIP": env("WEIBO_RIP", "127.0.0.1"),
        # Per-adapter options (docs/adapters.md). Covers go up as permanent "image" material,
        # which accepts PNG/JPEG up to 10 MB (a "thumb" must be a JPEG under 64 KB).
        "ADAPTER_OPTIONS": {"wechat": {"thumb_material_type": env("WECHAT_THUMB_MATERIAL_TYPE", "image")}},
        "SCHEDULER_INTERVAL_SECONDS": _int("SCHEDULER_INTERVAL_SECONDS", 3),
        "SCHEDULER_HEARTBEAT_STALE_SECONDS": _int("SCHEDULER_HEARTBEAT_STALE_SECONDS", 60),
        # Local rules (DOMAIN.md [L]): settings, not constants.
        "FILING_DEADLINE_WORKDAYS": _int("FILING_DEADLINE_WORKDAYS", 5),
        "CLOSURE_NOTICE_WORKDAYS": _int("CLOSURE_NOTICE_WORKDAYS", 15),
        "INACTIVE_WARN_DAYS": _int("INACTIVE_WARN_DAYS", 7),
        "INACTIVE_VETO_DAYS": _int("INACTIVE_VETO_DAYS", 14),
        "ZOMBIE_DAYS": _int("ZOMBIE_DAYS", 90),
        "REVIEW_OVERDUE_HOURS": _int("REVIEW_OVERDUE_HOURS", 24),
        "FINDING_DEADLINE_WORKDAYS": _int("FINDING_DEADLINE_WORKDAYS", 5),
        "MONITOR_INTERVAL_HOURS": _int("MONITOR_INTERVAL_HOURS", 24),
        "MONITOR_RATE_PER_MINUTE": _int("MONITOR_RATE_PER_MINUTE", 30),
        "MONITOR_RECENT_POSTS": _int("MONITOR_RECENT_POSTS", 50),
        "DISCOVERY_SEARCH_PER_MINUTE": _int("DISCOVERY_SEARCH_PER_MINUTE", 60),
        "DISCOVERY_MAX_KEYWORDS": _int("DISCOVERY_MAX_KEYWORDS", 500),
        "DISCOVERY_MAX_WAIT_SECONDS": _int("DISCOVERY_MAX_WAIT_SECONDS", 120),
        "DISCOVERY_EXTRA_KEYWORDS": env("DISCOVERY_EXTRA_KEYWORDS", ""),
        "DELIVERY_MAX_ATTEMPTS": _int("DELIVERY_MAX_ATTEMPTS", 6),
        "SENDING_LEASE_SECONDS": _int("SENDING_LEASE_SECONDS", 120),
        "ENQUEUE_STALE_SECONDS": _int("ENQUEUE_STALE_SECONDS", 60),
        "JOB_REQUEUE_SECONDS": _int("JOB_REQUEUE_SECONDS", 60),
        "JOB_STALE_SECONDS": _int("JOB_STALE_SECONDS", 900),
        "RETRY_BASE_SECONDS": _int("RETRY_BASE_SECONDS", 5),
        "RETRY_MAX_SECONDS": _int("RETRY_MAX_SECONDS", 900),
        "STATUS_POLL_SECONDS": _int("STATUS_POLL_SECONDS", 3),
        "AMBIGUOUS_SETTLE_SECONDS": _int("AMBIGUOUS_SETTLE_SECONDS", 30),
        "ACCOUNT_BUSY_RETRY_SECONDS": _int("ACCOUNT_BUSY_RETRY_SECONDS", 20),
        "ADAPTER_TIMEOUT_SECONDS": _int("ADAPTER_TIMEOUT_SECONDS", 15),
        "MEDIA_DIR": env("MEDIA_DIR", str(INSTANCE / "media")),
    }
