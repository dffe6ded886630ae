"""Monitoring's platform half: which accounts to probe, and asking the platform (no writes).

Steps 1 and 2 of each check (see :mod:`oversight.monitoring` for the whole): ``prepare_probe``
reads the account and its stored credentials into a plain :class:`Probe` (the caller then ends
the transaction); ``fetch_activity`` / ``fetch_closure`` talk to the platform through the
configured adapter — no database — and return an :class:`Observation`; adapter errors are
caught and carried in it, never raised. Discovery shares ``adapter_or_none`` and ``throttle``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from common.db import utcnow
from extensions import db
from oversight.findings import setting_int, to_naive_utc
from platforms import channels, credentials
from platforms.errors import AccountUnavailable, AdapterError, RateLimited
from platforms.ratelimit import limits_from_config
from platforms.types import Credentials
from registry.models import Account, AccountStatus

log = logging.getLogger("govmedia.monitoring")

MONITORED_STATUSES = (AccountStatus.active, AccountStatus.changing, AccountStatus.closing)
CLOSED_ACCOUNT_STATUSES = (AccountStatus.closed, AccountStatus.closed_on_platform)
# Platform-side statuses meaning "not there any more" (as in reconcile.Thresholds).
GONE_PLATFORM_STATUSES = ("deregistered", "closed", "banned", "deleted")


# ----------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class Probe:
    """What a check needs to know about an account, detached from the session."""

    account_id: int
    platform: str
    uid: str | None
    name: str
    status: str
    closed_on: date | None
    creds: dict[str, Any] | None = field(default=None, repr=False)
    creds_problem: str | None = None


@dataclass(frozen=True)
class Observation:
    """What the platform said (or why it could not be asked). Times are naive UTC."""

    account_id: int
    platform: str
    checked_at: datetime
    ok: bool
    via: str = "none"  # "api" | "search" | "none"
    reachable: bool | None = None  # True: the account is there; False: gone; None: unknown
    platform_status: str | None = None
    name: str | None = None
    last_post_at: datetime | None = None
    posts_7d: int | None = None
    posts_30d: int | None = None
    # Original (not reposted) posts in the last 30 days and their share, where the platform tells.
    original_posts_30d: int | None = None
    original_share_30d: float | None = None
    followers: int | None = None
    posts_count: int | None = None
    profile_url: str | None = None
    error: dict[str, Any] | None = None
    retry_after: float | None = None  # rate-limited before anything was asked
    refreshed_credentials: tuple[dict[str, Any], ...] = field(default=(), repr=False)


def _activity_stmt(*columns: Any) -> sa.Select[Any]:
    return (
        sa.select(*columns)
        .where(Account.status.in_(MONITORED_STATUSES))
        .order_by(Account.monitored_at.is_not(None), Account.monitored_at, Account.id)
    )


def _closure_stmt(*columns: Any) -> sa.Select[Any]:
    return sa.select(*columns).where(Account.status.in_(CLOSED_ACCOUNT_STATUSES)).order_by(Account.id)


def activity_targets() -> list[int]:
    """Accounts to check for activity, least recently monitored first."""
    return list(db.session.scalars(_activity_stmt(Account.id)))


def closure_targets() -> list[int]:
    return list(db.session.scalars(_closure_stmt(Account.id)))


def _keep(rows: Iterable[Any], only: Iterable[int] | None) -> list[tuple[int, str]]:
    wanted = set(only) if only is not None else None
    return [(i, p.value) for i, p in rows if wanted is None or i in wanted]


def activity_sweep_targets(only: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """(account id, platform) of :func:`activity_targets`, in its order, for the sweep to stagger
    per platform; ``only`` keeps just those accounts (the continuation of a sweep)."""
    return _keep(db.session.execute(_activity_stmt(Account.id, Account.platform)), only)


def closure_sweep_targets(only: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """(account id, platform) of :func:`closure_targets`, in its order."""
    return _keep(db.session.execute(_closure_stmt(Account.id, Account.platform)), only)


def prepare_probe(account_id: int) -> Probe | None:
    account = db.session.get(Account, account_id)
    if account is None:
        return None
    creds: dict[str, Any] | None = None
    problem: str | None = None
    try:
        creds = credentials.get_credentials(account.id)
    except credentials.CredentialsUnavailable as exc:
        problem = str(exc)
    return Probe(
        account_id=account.id,
        platform=account.platform.value,
        uid=account.platform_uid,
        name=account.name,
        status=account.status.value,
        closed_on=account.closed_on,
        creds=creds,
        creds_problem=problem,
    )


def _error_dict(exc: Exception, platform: str) -> dict[str, Any]:
    if isinstance(exc, AdapterError):
        return {
            "type": type(exc).__name__,
            "code": exc.code,
            "message": exc.message,
            "retryable": exc.retryable,
            "platform": exc.platform,
        }
    return {"type": type(exc).__name__, "code": None, "message": str(exc), "retryable": False, "platform": platform}


def adapter_or_none(platform: str) -> Any:
    """The configured adapter, or None for platforms without one (快手, B站 …)."""

    if platform not in current_app.config.get("PLATFORM_BASE_URLS", {}):
        return None
    try:
        return channels.adapter_for(platform)
    except ValueError:
        return None


def throttle(
    adapter: Any,
    key: str,
    operation: str,
    per_minute: int,
    *,
    max_wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Take one unit of our own per-platform budget from the adapters' shared limiter.

    Returns None when allowed; otherwise the seconds to wait (after waiting up to ``max_wait``).
    """

    limits = limits_from_config({"minute": per_minute})
    waited = 0.0
    while True:
        decision = adapter.rate_limiter.acquire(adapter.platform, key, operation, limits)
        if decision.allowed:
            return None
        wait = max(float(decision.retry_after), 0.01)
        if waited + wait > max_wait:
            return wait
        sleep(wait)
        waited += wait


def _since(posts: list[Any], now: datetime, days: int) -> list[Any]:
    start = now - timedelta(days=days)
    return [p for p in posts if p.created_at is not None and to_naive_utc(p.created_at) >= start]


def _count_since(posts: list[Any], now: datetime, days: int) -> int:
    return len(_since(posts, now, days))


def original_posts(posts: Sequence[Any]) -> tuple[int, float] | None:
    """(original posts, their share) among ``posts`` whose platform says whether they are
    original (R6, R17: "a higher share of original posts", "1 original post a month").

    A post tells through an ``original`` attribute (True: original, False: a repost/转发;
    None or missing: the platform does not say). Posts that do not tell are left out of the
    share; when none tells, the answer is None (unknown), never 0.
    """
    flags = [flag for p in posts if (flag := getattr(p, "original", None)) is not None]
    if not flags:
        return None
    originals = sum(1 for flag in flags if flag)
    return originals, round(originals / len(flags), 3)


def _with_adapter_calls(
    probe: Probe,
    now: datetime,
    *,
    max_wait: float,
    sleep: Callable[[float], None],
    call: Callable[[Any, Any], Observation],
) -> Observation:
    """Common plumbing: adapter lookup, our rate limit, credentials, refreshed-token capture."""

    base = {"account_id": probe.account_id, "platform": probe.platform, "checked_at": now}
    adapter = adapter_or_none(probe.platform)
    if adapter is None:
        return Observation(
            **base,
            ok=False,
            error={"type": "Unsupported", "code": "no_adapter", "message": "该平台没有接口适配器，无法自动监测"},
        )
    if not credentials.callable_with(probe.creds):  # none, or only a push_token
        return Observation(
            **base,
            ok=False,
            error={
                "type": "CredentialsError",
                "code": "no_credentials",
                "message": probe.creds_problem or "未配置凭据",
            },
        )
    wait = throttle(
        adapter, "monitoring", "monitor", setting_int("MONITOR_RATE_PER_MINUTE", 30), max_wait=max_wait, sleep=sleep
    )
    if wait is not None:
        return Observation(
            **base,
            ok=False,
            retry_after=wait,
            error={
                "type": "RateLimited",
                "code": "local_rate_limit",
                "message": "监测调用达到本平台每分钟上限，稍后重试",
            },
        )
    creds = Credentials.from_mapping(probe.creds, account_ref=str(probe.account_id))
    refreshed: list[Any] = []
    previous = adapter.on_credentials_changed
    adapter.on_credentials_changed = refreshed.append
    try:
        obs = call(adapter, creds)
    except AdapterError as exc:
        obs = Observation(
            **base,
            ok=False,
            via="api",
            reachable=False if isinstance(exc, AccountUnavailable) else None,
            platform_status="unavailable" if isinstance(exc, AccountUnavailable) else None,
            error=_error_dict(exc, probe.platform),
            retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
        )
    finally:
        adapter.on_credentials_changed = previous
    if refreshed:
        obs = _replace(obs, refreshed_credentials=tuple(c.to_dict() for c in refreshed))
    return obs


def _replace(obs: Observation, **changes: Any) -> Observation:
    return replace(obs, **changes)


def fetch_activity(
    probe: Probe,
    now: datetime | None = None,
    *,
    max_wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Observation:
    """Recent posts and profile of one account. No database access."""
    now = now or utcnow()
    limit = setting_int("MONITOR_RECENT_POSTS", 50)

    def call(adapter: Any, creds: Any) -> Observation:
        profile = adapter.profile(creds)
        posts = [p for p in adapter.recent_posts(creds, limit) if p.state == "published"]
        times = [to_naive_utc(p.created_at) for p in posts if p.created_at is not None]
        last = max(times, default=None)
        profile_last = to_naive_utc(profile.last_post_at)
        if profile_last is not None and (last is None or profile_last > last):
            last = profile_last
        gone = profile.status in GONE_PLATFORM_STATUSES
        originals = original_posts(_since(posts, now, 30))
        return Observation(
            account_id=probe.account_id,
            platform=probe.platform,
            checked_at=now,
            ok=True,
            via="api",
            reachable=not gone,
            platform_status=profile.status,
            name=profile.name,
            last_post_at=last,
            posts_7d=_count_since(posts, now, 7),
            posts_30d=_count_since(posts, now, 30),
            original_posts_30d=originals[0] if originals else None,
            original_share_30d=originals[1] if originals else None,
            followers=profile.followers,
            posts_count=profile.posts_count,
            profile_url=profile.profile_url,
        )

    return _with_adapter_calls(probe, now, max_wait=max_wait, sleep=sleep, call=call)


def fetch_closure(
    probe: Probe,
    now: datetime | None = None,
    *,
    max_wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Observation:
    """Is a closed account still there? Credentials first; account search when they do not
    settle it (revoked credentials are normal after a closure). No database access."""
    now = now or utcnow()
    obs = fetch_activity(probe, now, max_wait=max_wait, sleep=sleep)
    if obs.retry_after is not None or obs.reachable is not None:
        return obs
    found = _search_for(probe, now, max_wait=max_wait, sleep=sleep)
    if found is None:
        return obs
    if found.error is not None and obs.error is not None:
        return _replace(found, error={**obs.error, "search": found.error})
    return found


def _search_for(probe: Probe, now: datetime, *, max_wait: float, sleep: Callable[[float], None]) -> Observation | None:
    adapter = adapter_or_none(probe.platform)
    if adapter is None or not adapter.supports("search_accounts") or not probe.uid:
        return None
    base = {"account_id": probe.account_id, "platform": probe.platform, "checked_at": now, "via": "search"}
    wait = throttle(
        adapter, "discovery", "search", setting_int("DISCOVERY_SEARCH_PER_MINUTE", 60), max_wait=max_wait, sleep=sleep
    )
    if wait is not None:
        return Observation(
            **base, ok=False, retry_after=wait, error={"type": "RateLimited", "code": "local_rate_limit"}
        )
    try:
        hits = adapter.search_accounts(probe.uid)
        if not any(h.uid == probe.uid for h in hits) and probe.name:
            hits = hits + adapter.search_accounts(probe.name)
    except AdapterError as exc:
        return Observation(**base, ok=False, error=_error_dict(exc, probe.platform))
    match = next((h for h in hits if h.uid == probe.uid), None)
    if match is None:
        # Not found by its own id or name: as far as search can tell, it is gone.
        return Observation(**base, ok=True, reachable=False, platform_status="not_found")
    gone = (match.status or "active") in GONE_PLATFORM_STATUSES
    return Observation(
        **base,
        ok=True,
        reachable=not gone,
        platform_status=match.status,
        name=match.name,
        last_post_at=to_naive_utc(match.last_post_at),
        followers=match.followers,
        posts_count=match.posts_count,
        profile_url=match.profile_url,
    )
