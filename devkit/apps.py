"""A Flask app configured for tests and benches (its own database URL, in-memory broker)."""

from __future__ import annotations

from typing import Any

from app import create_app


def make_test_app(database_url: str, **extra: Any) -> Any:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "LOGIN_RATE_LIMIT": "10000 per minute",
        # Per-process counters are enough in-process; tests/foundation/test_sessions.py uses the shared one.
        "RATELIMIT_STORAGE_URI": "memory://",
        "BROKER_URL": "memory://",
        "SERVER_NAME": None,
        # Website feeds (intake/feeds.py) reach only 127.0.0.0/8 and ::1 here: the sandbox's sample site.
        "FEED_LOOPBACK_ONLY": True,
    }
    config.update(extra)
    return create_app(config)
