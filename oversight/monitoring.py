"""Monitoring: account activity (更新监测) and closure verification (关停复核).

Each check has three steps, so that no database transaction is open while a platform is
being asked (on SQLite every transaction holds the write lock):

1. ``prepare_probe(account_id)`` reads the account and its stored credentials into a plain
   :class:`Probe` (the caller then ends the transaction);
2. ``fetch_activity(probe)`` / ``fetch_closure(probe)`` talk to the platform through the
   configured adapter — no database — and return an :class:`Observation`; adapter errors are
   caught and carried in it, never raised;
3. ``apply_activity(obs)`` / ``apply_closure(obs)`` update the monitoring cache and write
   findings through :mod:`oversight.findings` (flush; the task or CLI commits).

Activity rules (DOMAIN.md §1 R10, R16, R17; the numbers are settings):

* ``inactive_warning`` — no post for ≥ ``INACTIVE_WARN_DAYS`` (default 7) and ≤ the veto line;
* ``inactive_14d`` — no post for > ``INACTIVE_VETO_DAYS`` (14), the single-veto line;
* ``zombie_90d`` — no post for > ``ZOMBIE_DAYS`` (90), reported in addition to ``inactive_14d``.

Accounts in ``active``, ``changing`` and ``closing`` (停更公告期: the 14-day rule still applies
until the closure is done) are monitored. One finding per silence episode (the fingerprint holds
the date of the last post), so a finding dismissed for one gap does not hide the next one. When
the account posts again every open inactivity finding of it is resolved with reason “恢复更新”.

Closure verification probes ``closed`` / ``closed_on_platform`` accounts with their stored
credentials and, where the platform offers it, account search: still reachable, or posting
after ``closed_on`` → ``closed_but_active`` (关停不彻底); back after having been seen gone →
``reopened`` (私自重开). Fingerprints are the ones reconciliation uses, so discovery and the
probe update the same finding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from common.db import utcnow
from extensions import db
from oversight import findings as findings_service
from oversight.findings import FindingInput, iso_cn, setting_int, to_cn, to_naive_utc
from oversight.models import DiscoveredAccount, Finding, FindingKind
from registry.models import STATUS_LABELS, Account, AccountStatus, Platform

log = logging.getLogger("govmedia.monitoring")

MONITORED_STATUSES = (AccountStatus.active, AccountStatus.changing, AccountStatus.closing)
CLOSED_ACCOUNT_STATUSES = (AccountStatus.closed, AccountStatus.closed_on_platform)
# Platform-side statuses meaning "not there any more" (as in reconcile.Thresholds).
GONE_PLATFORM_STATUSES = ("deregistered", "closed", "banned", "deleted")

REASON_POSTING_AGAIN = "恢复更新"
REASON_ESCALATED = "已升级为超14天未更新（单项否决）"
REASON_NO_LONGER = "按当前阈值已不构成该问题"
REASON_CLOSURE_DONE = "复核确认平台账号已注销或无法访问"


# ----------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class ActivityThresholds:
    warn_days: int = 7
    veto_days: int = 14
    zombie_days: int = 90

    @classmethod
    def from_settings(cls) -> ActivityThresholds:
        return cls(
            warn_days=setting_int("INACTIVE_WARN_DAYS", 7),
            veto_days=setting_int("INACTIVE_VETO_DAYS", 14),
            zombie_days=setting_int("ZOMBIE_DAYS", 90),
        )


def inactivity_kinds(days: int | None, t: ActivityThresholds) -> tuple[FindingKind, ...]:
    """Which inactivity findings ``days`` without a post call for.

    ``inactive_warning`` covers warn ≤ days ≤ veto; above the veto line it becomes
    ``inactive_14d``; ``zombie_90d`` comes on top of ``inactive_14d`` above the zombie line.
    """
    if days is None:
        return ()
    kinds: list[FindingKind] = []
    if days > t.veto_days:
        kinds.append(FindingKind.inactive_14d)
    elif days >= t.warn_days:
        kinds.append(FindingKind.inactive_warning)
    if days > t.zombie_days:
        kinds.append(FindingKind.zombie_90d)
    return tuple(kinds)


def days_since(last: datetime | None, now: datetime) -> int | None:
    """Whole days elapsed since ``last`` (both naive UTC)."""
    if last is None:
        return None
    return max(0, (now - last).days)


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
    from platforms import credentials

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
    from platforms.errors import AdapterError

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
    from platforms import channels

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
    from platforms.ratelimit import limits_from_config

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
    from platforms.errors import AdapterError
    from platforms.types import Credentials

    base = {"account_id": probe.account_id, "platform": probe.platform, "checked_at": now}
    adapter = adapter_or_none(probe.platform)
    if adapter is None:
        return Observation(
            **base,
            ok=False,
            error={"type": "Unsupported", "code": "no_adapter", "message": "该平台没有接口适配器，无法自动监测"},
        )
    if probe.creds is None:
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
        from platforms.errors import AccountUnavailable, RateLimited

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
    from dataclasses import replace

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
    from platforms.errors import AdapterError

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


# ----------------------------------------------------------------------------- apply


@dataclass
class CheckOutcome:
    account_id: int
    result: str  # "checked" | "error" | "deferred" | "skipped"
    days_since_last_post: int | None = None
    kinds: tuple[str, ...] = ()
    created: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    error: dict[str, Any] | None = None
    retry_after: float | None = None
    reachable: bool | None = None
    original_share_30d: float | None = None  # where the platform tells (see original_posts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "result": self.result,
            "days_since_last_post": self.days_since_last_post,
            "kinds": list(self.kinds),
            "created": self.created,
            "reopened": self.reopened,
            "resolved": self.resolved,
            "error": self.error,
            "retry_after": self.retry_after,
            "reachable": self.reachable,
            "original_share_30d": self.original_share_30d,
        }


def _persist_refreshed(obs: Observation) -> None:
    from publishers import credential_admin

    for values in obs.refreshed_credentials:
        credential_admin.set_credentials(obs.account_id, values, actor_label="system:token-refresh")


def _latest_snapshot(platform: str, uid: str | None) -> DiscoveredAccount | None:
    if not uid:
        return None
    return db.session.scalar(
        sa.select(DiscoveredAccount).where(
            DiscoveredAccount.platform == Platform(platform), DiscoveredAccount.platform_uid == uid
        )
    )


def _active_findings(account_id: int, kinds: tuple[FindingKind, ...]) -> list[Finding]:
    return list(
        db.session.scalars(
            sa.select(Finding)
            .where(
                Finding.account_id == account_id,
                Finding.kind.in_(kinds),
                Finding.status.in_(findings_service.ACTIVE_STATUSES),
            )
            .order_by(Finding.id)
        )
    )


def _last_check(obs: Observation) -> dict[str, Any]:
    return {"at": iso_cn(obs.checked_at), "ok": obs.ok, "via": obs.via, "error": obs.error}


def _audit_new(report: findings_service.UpsertReport, label: str) -> None:
    for f in report.created:
        audit.record(
            "finding:create",
            f,
            after={"kind": f.kind.value, "fingerprint": f.fingerprint, "status": f.status.value},
            actor_label=label,
        )
    for f in report.reopened:
        audit.record(
            "finding:status:reopen",
            f,
            before={"status": (f.evidence.get("history") or [{}])[-1].get("status")},
            after={"status": f.status.value, "because": f.evidence.get("reopened_because")},
            actor_label=label,
        )


_INACTIVITY_MESSAGES = {
    FindingKind.inactive_warning: "账号「{name}」已{days}天未更新（预警线{t}天）",
    FindingKind.inactive_14d: "账号「{name}」已{days}天未更新，超过{t}天（单项否决）",
    FindingKind.zombie_90d: "账号「{name}」已{days}天未更新，超过{t}天，疑似僵尸号，应督促整改或关停",
}


def apply_activity(obs: Observation, now: datetime | None = None) -> CheckOutcome:
    """Update the account's monitoring cache and its inactivity findings. Flushes."""
    now = now or obs.checked_at
    account = db.session.get(Account, obs.account_id)
    if account is None or account.status not in MONITORED_STATUSES:
        return CheckOutcome(obs.account_id, "skipped")
    _persist_refreshed(obs)
    if obs.retry_after is not None and not obs.ok:
        return CheckOutcome(account.id, "deferred", error=obs.error, retry_after=obs.retry_after)
    if obs.ok:
        if obs.last_post_at is not None:
            account.last_post_at = obs.last_post_at
        account.posts_7d = obs.posts_7d
        account.posts_30d = obs.posts_30d
        if obs.followers is not None:
            account.followers = obs.followers
        account.monitored_at = now

    # Last known post: the platform API, or a fresher snapshot (search / third-party list).
    last, source = account.last_post_at, "platform_api" if obs.ok else "cache"
    snapshot = _latest_snapshot(account.platform.value, account.platform_uid)
    if snapshot is not None and snapshot.last_post_at is not None and (last is None or snapshot.last_post_at > last):
        last, source = snapshot.last_post_at, f"discovery:{snapshot.source}"
        account.last_post_at = snapshot.last_post_at
    never_posted = last is None
    if never_posted and not obs.ok:
        # Never observed: no evidence either way. The error is reported, nothing concluded.
        db.session.flush()
        return CheckOutcome(account.id, "error", error=obs.error)
    if never_posted:
        reference = account.opened_on or to_cn(account.created_at).date()  # type: ignore[union-attr]
        days: int | None = max(0, (to_cn(now).date() - reference).days)  # type: ignore[union-attr]
        since = "never"
    else:
        days = days_since(last, now)
        since = to_cn(last).date().isoformat()  # type: ignore[union-attr]
    t = ActivityThresholds.from_settings()
    wanted = inactivity_kinds(days, t)

    outcome = CheckOutcome(account.id, "checked" if obs.ok else "error", days, tuple(k.value for k in wanted))
    outcome.error = obs.error
    outcome.original_share_30d = obs.original_share_30d if obs.ok else None
    label = "system:monitoring"
    for f in _active_findings(account.id, findings_service.INACTIVITY_KINDS):
        episode = (f.evidence or {}).get("since")
        if episode != since:
            reason = REASON_POSTING_AGAIN
        elif f.kind in wanted:
            continue
        elif f.kind is FindingKind.inactive_warning and FindingKind.inactive_14d in wanted:
            reason = REASON_ESCALATED
        else:
            reason = REASON_NO_LONGER
        if findings_service.resolve_by_system(f, reason, actor_label=label):
            outcome.resolved.append(f.id)

    unit_name = account.unit.name if account.unit is not None else None
    thresholds = {
        FindingKind.inactive_warning: t.warn_days,
        FindingKind.inactive_14d: t.veto_days,
        FindingKind.zombie_90d: t.zombie_days,
    }
    inputs = []
    for kind in wanted:
        message = _INACTIVITY_MESSAGES[kind].format(name=account.name, days=days, t=thresholds[kind])
        if never_posted:
            message += "（开通以来未发现任何发布）"
        if account.status is AccountStatus.closing:
            message += "；账号处于停更公告期，关停完成前仍须每14天至少更新一次"
        evidence = {
            "message": message,
            "account_name": account.name,
            "platform": account.platform.value,
            "uid": account.platform_uid,
            "unit_name": unit_name,
            "registered_status": account.status.value,
            "registered_status_label": STATUS_LABELS.get(account.status),
            "since": since,
            "never_posted": never_posted,
            "last_post_at": iso_cn(last),
            "days_since_last_post": days,
            "threshold_days": thresholds[kind],
            "posts_7d": account.posts_7d,
            "posts_30d": account.posts_30d,
            "followers": account.followers,
            "data_source": source,
            "last_check": _last_check(obs),
        }
        if obs.ok and obs.original_share_30d is not None:
            # No column for it in the monitoring cache: shown here, where the platform tells.
            evidence["original_posts_30d"] = obs.original_posts_30d
            evidence["original_share_30d"] = obs.original_share_30d
        inputs.append(
            FindingInput(
                kind=kind,
                fingerprint=f"{kind.value}:account={account.id}:since={since}",
                evidence=evidence,
                # No post at all through the API may also mean posts the API does not list.
                confidence=(0.7 if never_posted else 1.0) * (1.0 if obs.ok else 0.8),
                account_id=account.id,
                unit_id=account.unit_id,
            )
        )
    if inputs:
        report = findings_service.upsert_many(inputs, now)
        _audit_new(report, label)
        outcome.created = [f.id for f in report.created]
        outcome.reopened = [f.id for f in report.reopened]
    db.session.flush()
    return outcome


def _closure_fingerprint(kind: str, account: Account, name: str | None) -> str:
    """The fingerprint reconciliation gives the same conclusion (docs/reconcile.md)."""
    from oversight.reconcile import normalise_name

    uid = account.platform_uid
    ident = f"uid={uid}" if uid else f"name={normalise_name(name or account.name)}"
    return f"{kind}:{account.platform.value}:{ident}:account={account.id}"


def _upsert_probe_snapshot(account: Account, obs: Observation, now: datetime) -> tuple[DiscoveredAccount | None, bool]:
    """Record what the probe saw as the platform snapshot; returns (snapshot, was_gone_before)."""
    if not account.platform_uid:
        return None, False
    snap = _latest_snapshot(account.platform.value, account.platform_uid)
    was_gone = snap is not None and (snap.raw or {}).get("platform_status") in (*GONE_PLATFORM_STATUSES, "not_found")
    status = obs.platform_status or ("active" if obs.reachable else "closed")
    if obs.reachable is False and status not in GONE_PLATFORM_STATUSES:
        status = "closed" if status != "not_found" else status
    if snap is None:
        snap = DiscoveredAccount(
            platform=account.platform,
            platform_uid=account.platform_uid,
            name=(obs.name or account.name)[:200],
            first_seen_at=now,
            source="probe",
        )
        db.session.add(snap)
    if obs.name:
        snap.name = obs.name[:200]
    if obs.reachable:
        snap.seen_at = now
        if obs.last_post_at is not None:
            snap.last_post_at = obs.last_post_at
        if obs.followers is not None:
            snap.followers = obs.followers
        if obs.posts_count is not None:
            snap.posts_count = obs.posts_count
        if obs.profile_url:
            snap.profile_url = obs.profile_url[:500]
    snap.source = "probe"
    snap.raw = {**(snap.raw or {}), "platform_status": status, "probed_at": iso_cn(now), "probe_via": obs.via}
    db.session.flush()
    return snap, was_gone


def apply_closure(obs: Observation, now: datetime | None = None) -> CheckOutcome:
    """Write what closure verification found. Flushes."""
    from oversight.discovery import reconcile_thresholds

    now = now or obs.checked_at
    account = db.session.get(Account, obs.account_id)
    if account is None or account.status not in CLOSED_ACCOUNT_STATUSES:
        return CheckOutcome(obs.account_id, "skipped")
    _persist_refreshed(obs)
    if obs.retry_after is not None and obs.reachable is None:
        return CheckOutcome(account.id, "deferred", error=obs.error, retry_after=obs.retry_after)
    label = "system:closure-check"
    outcome = CheckOutcome(account.id, "checked" if obs.reachable is not None else "error", reachable=obs.reachable)
    outcome.error = obs.error
    closure_kinds = (FindingKind.closed_but_active, FindingKind.reopened)
    if obs.reachable is None:
        # Inconclusive: note the failed check on the open closure findings, conclude nothing.
        for f in _active_findings(account.id, closure_kinds):
            f.evidence = {**(f.evidence or {}), "last_check": _last_check(obs)}
        db.session.flush()
        return outcome
    snap, was_gone = _upsert_probe_snapshot(account, obs, now)
    if not obs.reachable:
        for f in _active_findings(account.id, closure_kinds):
            if findings_service.resolve_by_system(f, REASON_CLOSURE_DONE, actor_label=label):
                outcome.resolved.append(f.id)
        db.session.flush()
        return outcome

    t = reconcile_thresholds()
    last = obs.last_post_at
    posted_after = (
        account.closed_on is not None
        and last is not None
        and to_cn(last).date() > account.closed_on + timedelta(days=t.closed_grace_days)  # type: ignore[union-attr]
    )
    evidence: dict[str, Any] = {
        "registered_status": account.status.value,
        "closed_on": account.closed_on.isoformat() if account.closed_on else None,
        "posted_after_closure": posted_after,
        "account_name": account.name,
        "matched_by": "probe",
        "platform": account.platform.value,
        "uid": account.platform_uid,
        "name": obs.name or account.name,
        "subject": None,
        "verified": None,
        "region": None,
        "last_post_at": iso_cn(last),
        "profile_url": obs.profile_url,
        "source": f"probe:{obs.via}",
        "last_check": _last_check(obs),
    }
    inputs: list[FindingInput] = []
    if was_gone:
        inputs.append(
            FindingInput(
                kind=FindingKind.reopened,
                fingerprint=_closure_fingerprint("reopened", account, obs.name),
                evidence={
                    **evidence,
                    "previously_seen": False,
                    "message": f"已关停账号「{account.name}」此前复核时已不在平台，本次重新出现"
                    + ("且关停后仍有发布" if posted_after else ""),
                },
                confidence=0.9 if posted_after else 0.75,
                account_id=account.id,
                unit_id=account.unit_id,
                discovered_id=snap.id if snap is not None else None,
            )
        )
    if posted_after or t.flag_reachable_closed:
        message = (
            f"账号「{account.name}」台账已关停（{evidence['closed_on']}），平台上{iso_cn(last)}仍有发布"
            if posted_after
            else f"账号「{account.name}」台账已关停，平台上仍可访问"
        )
        inputs.append(
            FindingInput(
                kind=FindingKind.closed_but_active,
                fingerprint=_closure_fingerprint("closed_but_active", account, obs.name),
                evidence={**evidence, "message": message},
                confidence=1.0 if posted_after else 0.6,
                account_id=account.id,
                unit_id=account.unit_id,
                discovered_id=snap.id if snap is not None else None,
            )
        )
    outcome.kinds = tuple(i.kind.value for i in inputs)
    if inputs:
        report = findings_service.upsert_many(inputs, now)
        _audit_new(report, label)
        outcome.created = [f.id for f in report.created]
        outcome.reopened = [f.id for f in report.reopened]
    db.session.flush()
    return outcome
