"""The inspection (巡检) of one registered account, in three steps like monitoring, so that no
database transaction is open while a platform is asked:

1. :func:`prepare` reads the account, its credentials, our published posts to watch and picks the
   best source (:func:`oversight.inspection.sources.choose`) into a plain ``Target``;
2. :func:`fetch` reads the profile and the recent posts from that source (no writes);
3. :func:`apply` stores the posts (:class:`LivePost`), traces each to a delivery (ours) or not
   (found → ``unreviewed_post`` unless the unit recorded an exception), runs the draft checks on new
   or changed text (blocking hits → ``post_check_hit``), compares our posts with the approved text
   (``tampered``), records removals (``post_removed``), checks the profile by uid (literal name →
   ``name_mismatch``, 认证主体 → ``subject_mismatch``, banned/deregistered →
   ``account_unavailable``) and the account's coverage state. Flushes; the caller commits.

:func:`rescan` re-runs the checks over stored posts of the last ``INSPECTION_RESCAN_DAYS`` whose
dictionary version is older than the current one (a dictionary change).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from common.db import utcnow
from common.errors import Conflict, Invalid, NotFound
from extensions import db
from oversight import findings as findings_service
from oversight.findings import FindingInput, iso_cn, setting_int
from oversight.inspection import sources, trace
from oversight.inspection.models import AccountInspection, LivePost, PostException, PostSource, PostState
from oversight.models import DiscoveredAccount, Finding, FindingKind
from registry.models import Account, AccountStatus, Platform

log = logging.getLogger("govmedia.inspection")

#: The ledger the inspection covers (and the coverage view counts).
INSPECTED_STATUSES = (AccountStatus.active, AccountStatus.changing, AccountStatus.closing, AccountStatus.suspended)
#: How far back our own published posts are watched for removal.
WATCH_DAYS = 30
POST_KINDS = (FindingKind.unreviewed_post, FindingKind.post_check_hit, FindingKind.tampered, FindingKind.post_removed)
LABEL = "system:inspection"


# ----------------------------------------------------------------------------- targets


def _stmt(*columns: Any) -> sa.Select[Any]:
    last = (
        sa.select(AccountInspection.last_attempt_at).where(AccountInspection.account_id == Account.id).scalar_subquery()
    )
    return (
        sa.select(*columns).where(Account.status.in_(INSPECTED_STATUSES)).order_by(last.is_not(None), last, Account.id)
    )


def sweep_targets(only: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """(account id, platform) of every inspected account, least recently tried first."""
    wanted = set(only) if only is not None else None
    return [
        (i, p.value)
        for i, p in db.session.execute(_stmt(Account.id, Account.platform))
        if wanted is None or i in wanted
    ]


def prepare(account_id: int, now: datetime | None = None) -> sources.Target | None:
    from platforms import credentials

    now = now or utcnow()
    account = db.session.get(Account, account_id)
    if account is None:
        return None
    creds: dict[str, Any] | None = None
    problem: str | None = None
    try:
        creds = credentials.get_credentials(account.id)
    except credentials.CredentialsUnavailable as exc:
        problem = str(exc)
    return sources.Target(
        account_id=account.id,
        platform=account.platform.value,
        uid=account.platform_uid,
        name=account.name,
        creds=creds,
        creds_problem=problem,
        watch_post_ids=trace.watched_post_ids(account.id, now - timedelta(days=WATCH_DAYS)),
    )


def fetch(target: sources.Target, now: datetime | None = None, *, max_wait: float = 0.0) -> sources.Reading:
    """Pick the best source and read from it. Only the import source touches the database."""
    now = now or utcnow()
    source, why = sources.choose(target)
    if source is None:
        return sources.Reading(account_id=target.account_id, source=None, at=now, ok=False, not_checkable=why)
    return source.read(target, now, max_wait=max_wait)


# ----------------------------------------------------------------------------- checks


def lexicon_version() -> str:
    """Identifies the dictionaries in use (changes when a data file changes)."""
    from moderation.checks import default_pipeline

    pipeline = default_pipeline()
    pipeline.maybe_reload()
    raw = json.dumps(pipeline.lexicon.signature, default=str)
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


def run_checks(title: str, text: str) -> list[dict[str, Any]]:
    """The draft checks over a live post (platform limits left out: it is already published)."""
    from moderation.checks import KIND_LABELS, default_pipeline

    hits = default_pipeline().run({"title": title, "body": text})
    return [{**h.to_dict(), "kind_label": KIND_LABELS.get(h.kind, h.kind)} for h in hits if h.kind != "platform_limit"]


def _blocking(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [h for h in hits if h.get("severity") == "block"]


# ----------------------------------------------------------------------------- apply


@dataclass
class InspectionOutcome:
    account_id: int
    result: str  # checked | error | deferred | not_checkable | skipped
    source: str | None = None
    reason: str | None = None
    posts_seen: int = 0
    new_posts: int = 0
    kinds: list[str] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    error: dict[str, Any] | None = None
    retry_after: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _state_row(account_id: int) -> AccountInspection:
    row = db.session.get(AccountInspection, account_id)
    if row is None:
        row = AccountInspection(account_id=account_id, posts_seen=0)
        db.session.add(row)
    return row


def _unreviewed_since() -> datetime | None:
    raw = str(current_app.config.get("INSPECTION_UNREVIEWED_SINCE") or "").strip()
    if not raw:
        return None
    from common.timefmt import day_start_utc

    return day_start_utc(date.fromisoformat(raw))


def _post_evidence(account: Account, lp: LivePost) -> dict[str, Any]:
    return {
        "platform": account.platform.value,
        "uid": account.platform_uid,
        "account_name": account.name,
        "unit_name": account.unit.name if account.unit is not None else None,
        "post_id": lp.platform_post_id,
        "live_post_id": lp.id,
        "post_url": lp.url,
        "published_at": iso_cn(lp.published_at),
        "title": lp.title,
        "text": lp.text[:2000],
        "source": lp.seen_via,
    }


class _Writer:
    """Collects the findings of one apply and what they make obsolete."""

    def __init__(self, account: Account, now: datetime) -> None:
        self.account = account
        self.now = now
        self.inputs: list[FindingInput] = []
        self.clear: list[tuple[str, str]] = []  # (fingerprint, reason)

    def fp(self, kind: FindingKind, post_id: str) -> str:
        fp = f"{kind.value}:account={self.account.id}:post={post_id}"
        if len(fp) > 200:
            fp = f"{kind.value}:account={self.account.id}:sha={hashlib.sha256(post_id.encode()).hexdigest()[:40]}"
        return fp

    def add(self, kind: FindingKind, post_id: str, evidence: dict[str, Any], confidence: float = 1.0) -> None:
        self.inputs.append(
            FindingInput(
                kind=kind,
                fingerprint=self.fp(kind, post_id),
                evidence=evidence,
                confidence=confidence,
                account_id=self.account.id,
                unit_id=self.account.unit_id,
            )
        )

    def gone(self, kind: FindingKind, post_id: str, reason: str) -> None:
        self.clear.append((self.fp(kind, post_id), reason))

    def flush(self, outcome: InspectionOutcome, label: str = LABEL) -> None:
        from oversight.monitoring import _audit_new

        if self.inputs:
            report = findings_service.upsert_many(self.inputs, self.now)
            _audit_new(report, label)
            outcome.created.extend(f.id for f in report.created)
            outcome.kinds.extend(sorted({i.kind.value for i in self.inputs}))
        if self.clear:
            reasons = dict(self.clear)
            found = findings_service.load_by_fingerprints(reasons)
            for fp, finding in found.items():
                if findings_service.resolve_by_system(finding, reasons[fp], actor_label=label):
                    outcome.resolved.append(finding.id)


def exceptions_of(account_id: int) -> dict[int, str]:
    """Allowed exceptions of the account's posts (live post id → reason), in one query."""
    return dict(
        db.session.execute(
            sa.select(PostException.live_post_id, PostException.reason)
            .join(LivePost, LivePost.id == PostException.live_post_id)
            .where(LivePost.account_id == account_id)
        ).all()
    )


def judge_post(w: _Writer, lp: LivePost, *, since: datetime | None, exceptions: dict[int, str]) -> None:
    """Findings of one stored post (trace, checks, tamper) from its current state."""
    account = w.account
    ev = _post_evidence(account, lp)
    pid = lp.platform_post_id
    if lp.source is PostSource.found:
        allowed = exceptions.get(lp.id)
        if allowed is not None:
            w.gone(FindingKind.unreviewed_post, pid, f"单位登记为允许的例外：{allowed}")
        elif since is None or (lp.published_at is not None and lp.published_at >= since):
            repost = lp.original is False
            w.add(
                FindingKind.unreviewed_post,
                pid,
                {
                    **ev,
                    "message": f"账号「{account.name}」{iso_cn(lp.published_at) or ''}发布的"
                    + ("转发" if repost else "内容")
                    + "未经本平台三审（平台上发现，无对应发布记录）",
                    "repost": repost,
                },
                0.8 if repost else 0.95,
            )
    else:
        w.gone(FindingKind.unreviewed_post, pid, "已追溯到本平台的发布记录（经三审）")
    blocking = _blocking(lp.check_hits or [])
    if blocking:
        labels = "、".join(sorted({h["kind_label"] for h in blocking}))
        w.add(
            FindingKind.post_check_hit,
            pid,
            {
                **ev,
                "message": f"账号「{account.name}」已发布内容命中{labels}："
                + "；".join(h["message"] for h in blocking[:3]),
                "hits": blocking[:50],
                "hit_keys": sorted(f"{h['rule']}:{h['field']}:{h['start']}:{h['end']}" for h in blocking),
                "checked_version": lp.checked_version,
            },
        )
    else:
        w.gone(FindingKind.post_check_hit, pid, "按当前词库复查未再命中")
    if lp.tamper_state == "tampered":
        w.add(
            FindingKind.tampered,
            pid,
            {
                **ev,
                "message": f"账号「{account.name}」经三审发布的内容在平台上已与终审稿不一致（疑似被篡改或账号被盗用）",
                "severity": "high",
                "approved_text": lp.expected_text,
                "live_text": trace.comparable(lp.platform, lp.title, lp.text),
                "live_text_hash": lp.text_hash,
                "delivery_id": lp.delivery_id,
            },
        )
    elif lp.tamper_state == "same":
        w.gone(FindingKind.tampered, pid, "平台上的内容已与终审稿一致")


def _profile_checks(w: _Writer, account: Account, reading: sources.Reading, outcome: InspectionOutcome) -> None:
    """Profile by uid: platform status, literal name, 认证主体 (via the reconciliation rules)."""
    from oversight.discovery import _record_of, reconcile_thresholds
    from oversight.reconcile import RegisteredAccount, reconcile

    p = reading.profile
    if p is None or not account.platform_uid:
        return
    uid = account.platform_uid
    fp_gone = f"account_unavailable:{account.platform.value}:uid={uid}:account={account.id}"
    if p.status in sources.PLATFORM_GONE:
        w.inputs.append(
            FindingInput(
                kind=FindingKind.account_unavailable,
                fingerprint=fp_gone,
                evidence={
                    "message": f"账号「{account.name}」在平台上已不可用（{p.status}），台账状态仍为运行中",
                    "platform": account.platform.value,
                    "uid": uid,
                    "account_name": account.name,
                    "platform_status": p.status,
                    "source": reading.source,
                    "error": reading.error,
                },
                confidence=0.9,
                account_id=account.id,
                unit_id=account.unit_id,
            )
        )
        return
    w.clear.append((fp_gone, "平台上账号已恢复正常"))
    if not p.name:
        return
    snap = db.session.scalar(
        sa.select(DiscoveredAccount).where(
            DiscoveredAccount.platform == account.platform, DiscoveredAccount.platform_uid == uid
        )
    )
    if snap is None:
        snap = DiscoveredAccount(
            platform=account.platform, platform_uid=uid, name=p.name[:200], first_seen_at=w.now, source="inspection"
        )
        db.session.add(snap)
    snap.name = p.name[:200]
    if p.subject is not None:
        snap.subject = p.subject[:200]
    if p.verified is not None:
        snap.verified = p.verified
    if p.followers is not None:
        snap.followers = p.followers
    if p.posts_count is not None:
        snap.posts_count = p.posts_count
    if p.profile_url:
        snap.profile_url = p.profile_url[:500]
    times = [x.published_at for x in reading.posts if x.published_at is not None]
    if times and (snap.last_post_at is None or max(times) > snap.last_post_at):
        snap.last_post_at = max(times)
    snap.seen_at = w.now
    snap.source = "inspection"
    snap.source_ref = reading.source
    snap.raw = {**(snap.raw or {}), "platform_status": p.status or "active", "inspected_via": reading.source}
    db.session.flush()
    registered = RegisteredAccount(
        id=account.id,
        platform=account.platform.value,
        uid=uid,
        name=account.name,
        unit_id=account.unit_id,
        subject=account.verified_subject,
        status=account.status.value,
        region=account.unit.region if account.unit is not None else None,
        closed_on=account.closed_on,
        duplicate_reason=account.duplicate_reason,
    )
    units = _cached_units()
    result = reconcile(units, [registered], [_record_of(snap)], reconcile_thresholds())
    produced = set()
    for f in result.findings:
        if f.kind not in ("name_mismatch", "subject_mismatch"):
            continue
        produced.add(f.fingerprint)
        w.inputs.append(
            FindingInput(
                kind=FindingKind(f.kind),
                fingerprint=f.fingerprint,
                evidence={**f.evidence, "source": f"inspection:{reading.source}"},
                confidence=f.confidence,
                account_id=account.id,
                unit_id=account.unit_id,
                discovered_id=snap.id,
            )
        )
    for kind in ("name_mismatch", "subject_mismatch"):
        if kind == "subject_mismatch" and not snap.subject:
            continue  # nothing was compared
        for f in db.session.scalars(
            sa.select(Finding).where(
                Finding.account_id == account.id,
                Finding.kind == FindingKind(kind),
                Finding.status.in_(findings_service.ACTIVE_STATUSES),
            )
        ):
            if f.fingerprint not in produced:
                w.clear.append((f.fingerprint, "巡检复核时平台信息与台账一致"))
    del units


def _cached_units() -> list[Any]:
    """The org list for 认证主体 resolution, kept a minute per process (a sweep reads it often)."""
    from oversight.discovery import _unit_refs

    cache = current_app.extensions.setdefault("govmedia_inspection", {})
    at, units = cache.get("units", (None, None))
    now = utcnow()
    if units is None or at is None or (now - at).total_seconds() > 60:
        units = _unit_refs()
        cache["units"] = (now, units)
    return units


def apply(reading: sources.Reading, now: datetime | None = None) -> InspectionOutcome:
    """Write what one read found. Flushes."""
    from oversight.monitoring import _persist_refreshed

    now = now or reading.at
    account = db.session.get(Account, reading.account_id)
    if account is None or account.status not in INSPECTED_STATUSES:
        return InspectionOutcome(reading.account_id, "skipped")
    _persist_refreshed(reading)  # type: ignore[arg-type]
    state = _state_row(account.id)
    if reading.not_checkable:
        state.source = None
        state.not_checkable_reason = reading.not_checkable
        state.last_attempt_at = now
        db.session.flush()
        return InspectionOutcome(account.id, "not_checkable", reason=reading.not_checkable)
    if not reading.ok:
        if reading.retry_after is not None:
            return InspectionOutcome(
                account.id, "deferred", reading.source, error=reading.error, retry_after=reading.retry_after
            )
        state.source = reading.source
        state.not_checkable_reason = None
        state.last_attempt_at = now
        state.last_error = reading.error
        db.session.flush()
        return InspectionOutcome(account.id, "error", reading.source, error=reading.error)

    outcome = InspectionOutcome(
        account.id, "checked", reading.source, posts_seen=len(reading.posts), error=reading.error
    )
    state.source = reading.source
    state.not_checkable_reason = None
    state.last_attempt_at = now
    state.last_success_at = now
    state.last_error = reading.error
    state.posts_seen = len(reading.posts)
    if reading.profile is not None:
        state.profile = dict(reading.profile.__dict__)
    w = _Writer(account, now)
    _profile_checks(w, account, reading, outcome)

    platform = account.platform.value
    dmap = trace.deliveries_by_key(account.id, platform)
    stored = db.session.scalars(sa.select(LivePost).where(LivePost.account_id == account.id))
    existing = {lp.platform_post_id: lp for lp in stored}
    version = lexicon_version()
    since = _unreviewed_since()
    seen_ids: set[str] = set()
    for post in reading.posts:
        if not post.post_id or post.post_id in seen_ids:
            continue
        seen_ids.add(post.post_id)
        lp = existing.get(post.post_id)
        h = sources.text_hash(post.title, post.text)
        if lp is None:
            lp = LivePost(
                account_id=account.id,
                platform=platform,
                platform_post_id=post.post_id,
                first_seen_at=now,
                text_hash=h,
                source=PostSource.found,
            )
            db.session.add(lp)
            existing[post.post_id] = lp
            outcome.new_posts += 1
            changed = True
        else:
            changed = lp.text_hash != h
        lp.published_at = post.published_at or lp.published_at
        lp.title, lp.text, lp.url = post.title, post.text, (post.url or lp.url)
        lp.links, lp.original = list(post.links), post.original
        lp.text_hash = h
        lp.seen_via = reading.source or "unknown"
        lp.last_seen_at = now
        if lp.state is PostState.removed:
            lp.state, lp.removed_at, lp.removed_reason = PostState.live, None, None
        ref = dmap.get(post.post_id)
        if ref is not None:
            lp.source, lp.delivery_id = PostSource.ours, ref.id
        if changed or lp.checked_version != version:
            lp.check_hits = run_checks(lp.title, lp.text)
            lp.checked_version = version
            lp.checked_at = now
        if lp.source is PostSource.ours and lp.delivery_id is not None and (changed or lp.expected_text is None):
            expected = trace.expected_text(lp.delivery_id, platform)
            if expected is not None:
                lp.expected_text = trace.comparable(platform, *expected)
                live = trace.comparable(platform, lp.title, lp.text)
                lp.tamper_state = "same" if live == lp.expected_text else "tampered"
    db.session.flush()
    allowed = exceptions_of(account.id)
    with db.session.no_autoflush:
        for key in seen_ids:
            judge_post(w, existing[key], since=since, exceptions=allowed)

    # Removals the platform reported for our posts, or an import marked.
    for removal in reading.removals:
        key = sources.live_key(platform, removal.post_id)
        lp = existing.get(key)
        ref = dmap.get(key)
        if lp is None:
            if ref is None:
                continue
            lp = LivePost(
                account_id=account.id,
                platform=platform,
                platform_post_id=key,
                first_seen_at=now,
                text_hash="",
                source=PostSource.ours,
                delivery_id=ref.id,
                seen_via=reading.source or "unknown",
            )
            db.session.add(lp)
            existing[key] = lp
        _mark_removed(lp, removal.reason, now)
        db.session.flush()
        if lp.source is PostSource.ours:
            w.add(
                FindingKind.post_removed,
                key,
                {
                    **_post_evidence(account, lp),
                    "message": f"账号「{account.name}」经本平台发布的内容已被"
                    + ("平台屏蔽" if removal.by_platform else "删除")
                    + f"：{removal.reason}",
                    "removed_reason": removal.reason,
                    "raw_status": removal.raw_status,
                    "by_platform": removal.by_platform,
                    "delivery_id": lp.delivery_id,
                },
                1.0 if removal.by_platform else 0.8,
            )
    # Posts found earlier that a complete listing no longer shows (not ours: those were asked).
    if reading.complete_since != datetime.max:
        reported = {sources.live_key(platform, r.post_id) for r in reading.removals}
        for key, lp in existing.items():
            if key in seen_ids or key in reported or lp.state is PostState.removed or lp.source is PostSource.ours:
                continue
            if reading.complete_since is None or (
                lp.published_at is not None and lp.published_at >= reading.complete_since
            ):
                _mark_removed(lp, "平台列表中已不再出现", now)
    w.flush(outcome)
    db.session.flush()
    return outcome


def _mark_removed(lp: LivePost, reason: str, now: datetime) -> None:
    if lp.state is not PostState.removed:
        lp.state = PostState.removed
        lp.removed_at = now
    lp.removed_reason = reason[:200]


def inspect_account(account_id: int, *, max_wait: float = 0.0, now: datetime | None = None) -> InspectionOutcome:
    """prepare → commit → fetch → apply → commit (what the Celery task and the CLI run)."""
    target = prepare(account_id, now)
    db.session.commit()
    if target is None:
        return InspectionOutcome(account_id, "skipped")
    reading = fetch(target, now, max_wait=max_wait)
    db.session.rollback()  # the import source read; end that transaction before writing
    outcome = apply(reading, now)
    db.session.commit()
    return outcome


# ----------------------------------------------------------------------------- re-scan


def rescan(now: datetime | None = None, *, batch: int = 500) -> dict[str, Any]:
    """Re-check one batch of stored posts of the window whose dictionary version is old.
    Returns {"scanned", "created", "resolved", "more"}. Flushes."""
    now = now or utcnow()
    version = lexicon_version()
    start = now - timedelta(days=setting_int("INSPECTION_RESCAN_DAYS", 365))
    rows = list(
        db.session.scalars(
            sa.select(LivePost)
            .where(
                LivePost.published_at >= start,
                sa.or_(LivePost.checked_version.is_(None), LivePost.checked_version != version),
            )
            .order_by(LivePost.account_id, LivePost.id)
            .limit(batch)
        )
    )
    summary: dict[str, Any] = {"scanned": 0, "created": 0, "resolved": 0, "version": version}
    by_account: dict[int, list[LivePost]] = {}
    for lp in rows:
        by_account.setdefault(lp.account_id, []).append(lp)
    since = _unreviewed_since()
    for account_id, posts in by_account.items():
        account = db.session.get(Account, account_id)
        w = _Writer(account, now)
        allowed = exceptions_of(account_id)
        for lp in posts:
            lp.check_hits = run_checks(lp.title, lp.text)
            lp.checked_version = version
            lp.checked_at = now
            summary["scanned"] += 1
            if lp.state is PostState.live:
                judge_post(w, lp, since=since, exceptions=allowed)
        out = InspectionOutcome(account_id, "rescan")
        w.flush(out, "system:inspection-rescan")
        summary["created"] += len(out.created)
        summary["resolved"] += len(out.resolved)
    summary["more"] = len(rows) == batch
    db.session.flush()
    return summary


# ----------------------------------------------------------------------------- exceptions


def allow_post(live_post_id: int, reason: str | None, actor: Any) -> PostException:
    """Record a unit's allowed exception for a post not published through govmedia (audited);
    its ``unreviewed_post`` finding is resolved. Scope is checked by the view."""
    lp = db.session.get(LivePost, live_post_id)
    if lp is None:
        raise NotFound("内容不存在")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid("请填写允许的原因（至少 2 个字）", details={"reason": ["例如：转发指定稿源单位的稿件"]})
    if lp.source is PostSource.ours:
        raise Conflict("该内容经本平台三审发布，无需登记例外", code="post_is_ours")
    if lp.exception is not None:
        raise Conflict("该内容已登记为例外", code="exception_exists")
    exc = PostException(live_post_id=lp.id, reason=reason[:2000], created_by_id=getattr(actor, "id", None))
    db.session.add(exc)
    db.session.flush()
    db.session.refresh(lp)
    audit.record(
        "live_post:exception",
        lp,
        after={"reason": exc.reason, "platform_post_id": lp.platform_post_id, "account_id": lp.account_id},
        actor=actor,
    )
    account = db.session.get(Account, lp.account_id)
    w = _Writer(account, utcnow())
    w.gone(FindingKind.unreviewed_post, lp.platform_post_id, f"单位登记为允许的例外：{exc.reason}")
    w.flush(InspectionOutcome(lp.account_id, "exception"), label=f"user:{getattr(actor, 'username', '')}")
    return exc


def _platform_or_none(value: str) -> Platform | None:
    try:
        return Platform(value)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- import of posts

POST_HEADERS: dict[str, tuple[str, ...]] = {
    "platform": ("平台", "平台类型", "platform"),
    "uid": ("账号ID", "账号id", "平台ID", "平台账号ID", "UID", "uid", "微信号", "抖音号"),
    "post_id": ("内容ID", "内容id", "帖子ID", "微博ID", "作品ID", "文章ID", "post_id"),
    "published_at": ("发布时间", "发文时间", "published_at"),
    "title": ("标题", "title"),
    "text": ("正文", "内容", "摘要", "text"),
    "url": ("链接", "内容链接", "原文链接", "url"),
    "state": ("状态", "内容状态", "state"),
}
POST_REQUIRED = ("platform", "uid", "post_id")
_REMOVED_WORDS = {"已删除", "删除", "被删除", "屏蔽", "已屏蔽", "removed", "deleted"}
_LIVE_WORDS = {"正常", "在线", "live", "published", ""}


def parse_post_import(data: bytes, filename: str, *, source_ref: str | None = None) -> list[dict[str, Any]]:
    """Rows of a third-party monitor's post export; all valid or ``ImportRowsInvalid``
    (spreadsheet row numbers, header = row 1). Reuses discovery's file reading."""
    from oversight.discovery import ImportRowsInvalid, _as_text, _parse_time, _platform_of, read_sheet

    rows, index = read_sheet(data, filename, POST_HEADERS, POST_REQUIRED)
    label = {k: v[0] for k, v in POST_HEADERS.items()}
    errors: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    first: dict[tuple[str, str, str], int] = {}
    now = utcnow()
    for number, row in rows[1:]:
        cells = {k: (row[i] if i < len(row) else None) for k, i in index.items()}
        text = {k: _as_text(v) for k, v in cells.items()}
        if not any(text.values()):
            continue
        row_errors: list[dict[str, Any]] = []

        def bad(key: str, reason: str, number: int = number, row_errors: list[dict[str, Any]] = row_errors) -> None:
            row_errors.append({"row": number, "column": label[key], "reason": reason})

        platform = _platform_of(text.get("platform", "")) if text.get("platform") else None
        if not text.get("platform"):
            bad("platform", "不能为空")
        elif platform is None:
            bad("platform", f"无法识别的平台“{text['platform']}”")
        for key in ("uid", "post_id"):
            if not text.get(key):
                bad(key, "不能为空")
            elif len(text[key]) > 128:
                bad(key, "超过 128 个字符")
        published = None
        if cells.get("published_at") not in (None, ""):
            try:
                published = _parse_time(cells["published_at"])
            except ValueError:
                bad("published_at", f"无法识别的时间“{text['published_at']}”（示例：2026-05-01 09:30）")
            else:
                if published > now:
                    bad("published_at", "时间晚于当前时间")
        url = text.get("url") or None
        if url and (not url.startswith(("http://", "https://")) or len(url) > 500):
            bad("url", "不是有效的 http(s) 链接")
        state = text.get("state", "").lower()
        if state not in _REMOVED_WORDS and state not in _LIVE_WORDS:
            bad("state", f"无法识别的状态“{text.get('state')}”（正常/已删除）")
        if platform is not None and text.get("uid") and text.get("post_id"):
            key3 = (platform.value, text["uid"], text["post_id"])
            if key3 in first:
                bad("post_id", f"与第 {first[key3]} 行重复（同一账号同一内容ID）")
            else:
                first[key3] = number
        if row_errors:
            errors.extend(row_errors)
            continue
        assert platform is not None  # noqa: S101 - narrowed above
        out.append(
            {
                "platform": platform.value,
                "platform_uid": text["uid"],
                "platform_post_id": text["post_id"],
                "published_at": published,
                "title": text.get("title", ""),
                "text": text.get("text", ""),
                "url": url,
                "removed": state in _REMOVED_WORDS,
                "source_ref": (source_ref or filename or "import")[:200],
            }
        )
    if errors:
        raise ImportRowsInvalid(errors)
    if not out:
        raise ImportRowsInvalid([{"row": 2, "column": None, "reason": "文件没有数据行"}])
    return out


def import_posts(data: bytes, filename: str, *, actor: Any = None, source_ref: str | None = None) -> dict[str, Any]:
    """Parse (all-or-nothing) and store a post export; the next inspection of each registered
    account reads them (source ``import``). Audited. Flushes."""
    from oversight.inspection.models import ImportedPost

    rows = parse_post_import(data, filename, source_ref=source_ref)
    now = utcnow()
    created = updated = 0
    for r in rows:
        row = db.session.scalar(
            sa.select(ImportedPost).where(
                ImportedPost.platform == r["platform"],
                ImportedPost.platform_uid == r["platform_uid"],
                ImportedPost.platform_post_id == r["platform_post_id"],
            )
        )
        if row is None:
            row = ImportedPost(**r, imported_at=now)
            db.session.add(row)
            created += 1
        else:
            for k, v in r.items():
                setattr(row, k, v)
            row.imported_at = now
            updated += 1
    db.session.flush()
    registered = {
        (p.value, u) for p, u in db.session.execute(sa.select(Account.platform, Account.platform_uid)) if u is not None
    }
    matched = sum(1 for r in rows if (r["platform"], r["platform_uid"]) in registered)
    summary = {
        "rows": len(rows),
        "created": created,
        "updated": updated,
        "rows_of_registered_accounts": matched,
        "source_ref": source_ref or filename,
    }
    audit.record("inspection:import_posts", object_type="inspection", object_id="import", after=summary, actor=actor)
    return summary
