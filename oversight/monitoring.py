"""Monitoring: account activity (更新监测) and closure verification (关停复核).

Each check has three steps, so that no database transaction is open while a platform is
being asked (on SQLite every transaction holds the write lock):

1. ``prepare_probe(account_id)`` reads the account and its stored credentials into a plain
   :class:`Probe` (the caller then ends the transaction);
2. ``fetch_activity(probe)`` / ``fetch_closure(probe)`` talk to the platform through the
   configured adapter — no database — and return an :class:`Observation`; adapter errors are
   caught and carried in it, never raised;
   Steps 1 and 2 are :mod:`oversight.probes` (their names are importable from here too).
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from extensions import db
from oversight import findings as findings_service
from oversight.discovery import reconcile_thresholds
from oversight.findings import FindingInput, iso_cn, setting_int, to_cn
from oversight.models import DiscoveredAccount, Finding, FindingKind
from oversight.probes import (  # the probe half (steps 1 and 2); re-exported in __all__
    CLOSED_ACCOUNT_STATUSES,
    GONE_PLATFORM_STATUSES,
    MONITORED_STATUSES,
    Observation,
    Probe,
    activity_sweep_targets,
    activity_targets,
    adapter_or_none,
    closure_sweep_targets,
    closure_targets,
    fetch_activity,
    fetch_closure,
    original_posts,
    prepare_probe,
    throttle,
)
from oversight.reconcile import normalise_name
from publishers import credential_admin
from registry.models import STATUS_LABELS, Account, AccountStatus, Platform

__all__ = [
    "CLOSED_ACCOUNT_STATUSES",
    "GONE_PLATFORM_STATUSES",
    "MONITORED_STATUSES",
    "REASON_CLOSURE_DONE",
    "REASON_ESCALATED",
    "REASON_NO_LONGER",
    "REASON_POSTING_AGAIN",
    "ActivityThresholds",
    "CheckOutcome",
    "Observation",
    "Probe",
    "activity_sweep_targets",
    "activity_targets",
    "adapter_or_none",
    "apply_activity",
    "apply_closure",
    "closure_sweep_targets",
    "closure_targets",
    "days_since",
    "fetch_activity",
    "fetch_closure",
    "inactivity_kinds",
    "original_posts",
    "prepare_probe",
    "throttle",
]

log = logging.getLogger("govmedia.monitoring")

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
    for values in obs.refreshed_credentials:
        credential_admin.store_refreshed(obs.account_id, values)


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
