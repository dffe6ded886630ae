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

import functools
import hashlib
import json
import logging
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask import current_app

from audit import service as audit
from common.db import utcnow
from common.errors import Conflict, Invalid, NotFound
from common.timefmt import CN_TZ, day_start_utc
from extensions import db
from moderation.checks import KIND_LABELS, default_pipeline
from oversight import findings as findings_service
from oversight.discovery import (
    ImportRowsInvalid,
    _as_text,
    _parse_time,
    _platform_of,
    _record_of,
    _unit_refs,
    read_sheet,
    reconcile_thresholds,
)
from oversight.findings import FindingInput, iso_cn, setting_int
from oversight.inspection import sources, trace
from oversight.inspection.models import AccountInspection, ImportedPost, LivePost, PostException, PostSource, PostState
from oversight.models import DiscoveredAccount, Finding, FindingKind
from oversight.monitoring import _persist_refreshed
from oversight.reconcile import RegisteredAccount, reconcile
from platforms import credentials
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

    pipeline = default_pipeline()
    pipeline.maybe_reload()
    raw = json.dumps(pipeline.lexicon.signature, default=str)
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


def run_checks(title: str, text: str) -> list[dict[str, Any]]:
    """The draft checks over a live post (platform limits left out: it is already published)."""

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

    return day_start_utc(date.fromisoformat(raw))


def _post_evidence(account: Account, lp: Any) -> dict[str, Any]:
    """Evidence of one post (a LivePost or a PostView)."""
    return {
        "platform": account.platform.value,
        "uid": account.platform_uid,
        "account_name": account.name,
        "unit_name": account.unit.name if account.unit is not None else None,
        "post_id": lp.platform_post_id,
        "live_post_id": lp.id,
        "post_url": lp.url,
        "published_at": _iso_cn_fast(lp.published_at),
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

    def gone_fp(self, fingerprint: str, reason: str) -> None:
        self.clear.append((fingerprint, reason))

    def flush(self, outcome: InspectionOutcome, label: str = LABEL) -> None:
        flush_writers([(self, outcome)], label)


def flush_writers(pairs: Sequence[tuple[_Writer, InspectionOutcome]], label: str = LABEL) -> None:
    """Upsert the findings of a batch in one go and record them in one audit entry
    (``inspection:findings``: the created and reopened findings' ids, kinds, fingerprints);
    system resolutions keep their own ``finding:status:auto_resolve`` entries."""
    inputs = [i for w, _ in pairs for i in w.inputs]
    by_account = {w.account.id: o for w, o in pairs}
    now = pairs[0][0].now if pairs else utcnow()
    if inputs:
        report = findings_service.upsert_many(inputs, now)
        if report.created or report.reopened:
            one = len(pairs) == 1
            audit.record(
                "inspection:findings",
                object_type="account" if one else "inspection",
                object_id=pairs[0][0].account.id if one else "batch",
                after={
                    "created": [_audit_ref(f) for f in report.created],
                    "reopened": [
                        {**_audit_ref(f), "because": (f.evidence or {}).get("reopened_because")}
                        for f in report.reopened
                    ],
                },
                actor_label=label,
            )
        for f in report.created:
            if f.account_id in by_account:
                by_account[f.account_id].created.append(f.id)
        for w, o in pairs:
            o.kinds.extend(sorted({i.kind.value for i in w.inputs}))
    reasons = {fp: (why, w.account.id) for w, _ in pairs for fp, why in w.clear}
    if reasons:
        found = findings_service.load_by_fingerprints(reasons)
        for fp, finding in found.items():
            if findings_service.resolve_by_system(finding, reasons[fp][0], actor_label=label):
                by_account[reasons[fp][1]].resolved.append(finding.id)


def _audit_ref(f: Finding) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind.value, "fingerprint": f.fingerprint}


# ----------------------------------------------------------------------------- stored posts (bulk)

#: How many posts one ``unreviewed_post`` finding lists in its evidence (the posts tab lists all).
GROUP_LIST_MAX = 500

#: What an ``unreviewed_post`` group lists of each post.
_GROUP_COLUMNS = (
    LivePost.id,
    LivePost.account_id,
    LivePost.platform_post_id,
    LivePost.published_at,
    LivePost.first_seen_at,
    LivePost.url,
    LivePost.title,
    LivePost.text,
    LivePost.original,
    LivePost.seen_via,
)
_VIEW_COLUMNS = (
    *_GROUP_COLUMNS,
    LivePost.platform,
    LivePost.links,
    LivePost.source,
    LivePost.delivery_id,
    LivePost.text_hash,
    LivePost.checked_version,
    LivePost.check_hits,
    LivePost.checked_at,
    LivePost.expected_text,
    LivePost.tamper_state,
    LivePost.state,
)


@dataclass
class PostView:
    """A stored post as plain data: the hot path reads and writes rows in bulk (Core), not ORM
    objects. Attribute names are LivePost's, so evidence and judges take either."""

    id: int | None
    account_id: int
    platform: str
    platform_post_id: str
    published_at: datetime | None
    first_seen_at: datetime
    url: str | None
    title: str
    text: str
    links: list[Any]
    original: bool | None
    seen_via: str
    source: PostSource
    delivery_id: int | None
    text_hash: str
    checked_version: str | None
    check_hits: list[Any]
    checked_at: datetime | None
    expected_text: str | None
    tamper_state: str | None
    state: PostState

    last_seen: datetime | None = None

    def row(self) -> dict[str, Any]:
        """The columns to write (``media`` given, so that no per-row Python default runs)."""
        return {**dict(zip(_ROW_FIELDS, _row_values(self), strict=True)), "media": []}


_ROW_FIELDS = tuple(f.name for f in fields(PostView) if f.name not in ("id", "last_seen"))
_row_values = operator.attrgetter(*_ROW_FIELDS)


def _views(account_id: int, keys: Iterable[str]) -> dict[str, PostView]:
    """Stored posts of the account with these platform ids (chunked IN lists)."""
    wanted = list(keys)
    out: dict[str, PostView] = {}
    for i in range(0, len(wanted), 500):
        stmt = sa.select(*_VIEW_COLUMNS).where(
            LivePost.account_id == account_id, LivePost.platform_post_id.in_(wanted[i : i + 500])
        )
        for r in db.session.execute(stmt):
            out[r.platform_post_id] = PostView(**r._mapping)
    return out


def _views_many(keys: dict[int, list[str]]) -> dict[int, dict[str, PostView]]:
    """Stored posts of several accounts by account and platform id (a few queries)."""
    out: dict[int, dict[str, PostView]] = {}
    items = sorted(keys.items())
    for i in range(0, len(items), 200):
        chunk = items[i : i + 200]
        wanted = {a: set(k) for a, k in chunk}
        for r in db.session.execute(sa.select(*_VIEW_COLUMNS).where(LivePost.account_id.in_([a for a, _ in chunk]))):
            if r.platform_post_id in wanted[r.account_id]:
                out.setdefault(r.account_id, {})[r.platform_post_id] = PostView(**r._mapping)
    return out


def _block_keys(hits: list[dict[str, Any]] | None) -> frozenset[str]:
    return frozenset(f"{h['rule']}:{h['field']}:{h['start']}:{h['end']}" for h in _blocking(hits or []))


def _set_tamper(v: PostView, platform: str) -> None:
    """Compare a govmedia post with what stage 3 approved, as the platform shows it."""
    if v.delivery_id is None:
        return
    expected = trace.expected_text(v.delivery_id, platform)
    if expected is not None:
        v.expected_text = trace.comparable(platform, *expected)
        live = trace.comparable(platform, v.title, v.text)
        v.tamper_state = "same" if live == v.expected_text else "tampered"


def judge_checks(w: _Writer, v: PostView | LivePost, before: frozenset[str] | None) -> None:
    """``post_check_hit`` of a post whose checks ran (``before``: its blocking hits until now,
    None for a new or edited post)."""
    blocking = _blocking(v.check_hits or [])
    keys = _block_keys(v.check_hits)
    if blocking and keys != before:
        labels = "、".join(sorted({h["kind_label"] for h in blocking}))
        w.add(
            FindingKind.post_check_hit,
            v.platform_post_id,
            {
                **_post_evidence(w.account, v),
                "message": f"账号「{w.account.name}」已发布内容命中{labels}："
                + "；".join(h["message"] for h in blocking[:3]),
                "hits": blocking[:50],
                "hit_keys": sorted(keys),
                "checked_version": v.checked_version,
            },
        )
    elif not blocking and before:
        w.gone(FindingKind.post_check_hit, v.platform_post_id, "按当前词库复查未再命中")


def judge_tamper(w: _Writer, v: PostView, before: str | None, edited: bool) -> None:
    if v.tamper_state == "tampered" and (before != "tampered" or edited):
        w.add(
            FindingKind.tampered,
            v.platform_post_id,
            {
                **_post_evidence(w.account, v),
                "message": f"账号「{w.account.name}」经三审发布的内容在平台上已与终审稿不一致"
                "（疑似被篡改或账号被盗用）",
                "severity": "high",
                "approved_text": v.expected_text,
                "live_text": trace.comparable(w.account.platform.value, v.title, v.text),
                "live_text_hash": v.text_hash,
                "delivery_id": v.delivery_id,
            },
        )
    elif v.tamper_state == "same" and before == "tampered":
        w.gone(FindingKind.tampered, v.platform_post_id, "平台上的内容已与终审稿一致")


_BJ = timedelta(hours=8)


def _iso_cn_fast(value: datetime | None) -> str | None:
    """``iso_cn`` for naive-UTC times of this era (Beijing has kept UTC+8 without DST since
    1991), without a zoneinfo lookup per post; the rest goes through ``iso_cn``."""
    if value is None or value.tzinfo is not None or value.year < 1992:
        return iso_cn(value)
    return (value + _BJ).replace(microsecond=0).isoformat() + "+08:00"


@functools.lru_cache(maxsize=4096)
def group_day(first_seen_at: datetime) -> date:
    """The Beijing date an ``unreviewed_post`` group belongs to: when the inspection first saw
    the post (in the daily routine, the day it was published). Cached: a batch shares one time."""
    return first_seen_at.replace(tzinfo=UTC).astimezone(CN_TZ).date()


def unreviewed_fingerprint(account_id: int, day: date) -> str:
    return f"{FindingKind.unreviewed_post.value}:account={account_id}:day={day.isoformat()}"


def regroup_unreviewed(w: _Writer, days: Iterable[date], since: datetime | None) -> None:
    """:func:`regroup_many` for one account."""
    regroup_many([(w, set(days))], since)


def regroup_many(groups: Sequence[tuple[_Writer, set[date]]], since: datetime | None) -> None:
    """One ``unreviewed_post`` finding per account and day of detection, listing every post of
    that day not published through govmedia and not recorded as an allowed exception (each with
    its link). No post left → resolved. A closed finding whose list only shrank stays closed.
    For a batch of accounts: one query per 200 accounts and one finding lookup."""

    wanted = [(w, day) for w, days in groups for day in sorted(days)]
    if not wanted:
        return
    start = day_start_utc(min(d for _, d in wanted))
    end = day_start_utc(max(d for _, d in wanted) + timedelta(days=1))
    listed: dict[tuple[int, date], list[Any]] = {}
    ids = sorted({w.account.id for w, _ in wanted})
    for i in range(0, len(ids), 200):
        rows = db.session.execute(
            sa.select(*_GROUP_COLUMNS)
            .outerjoin(PostException, PostException.live_post_id == LivePost.id)
            .where(
                LivePost.account_id.in_(ids[i : i + 200]),
                LivePost.source == PostSource.found,
                LivePost.first_seen_at >= start,
                LivePost.first_seen_at < end,
                PostException.id.is_(None),
            )
            .order_by(LivePost.account_id, LivePost.published_at, LivePost.id)
        )
        for r in rows:
            if since is None or (r.published_at is not None and r.published_at >= since):
                listed.setdefault((r.account_id, group_day(r.first_seen_at)), []).append(r)
    fps = {(w.account.id, day): unreviewed_fingerprint(w.account.id, day) for w, day in wanted}
    current = findings_service.load_by_fingerprints(fps.values())
    for w, day in wanted:
        account = w.account
        fp = fps[(account.id, day)]
        posts = listed.get((account.id, day), [])
        if not posts:
            w.gone_fp(fp, "当日发现的内容均已追溯到本平台的发布记录或登记为允许的例外")
            continue
        post_ids = sorted(v.platform_post_id for v in posts)
        found = current.get(fp)
        if (
            found is not None
            and found.status in findings_service.CLOSED_STATUSES
            and set(post_ids) <= set((found.evidence or {}).get("post_ids") or ())
        ):
            continue  # fewer posts than when it was decided: nothing new
        reposts = sum(1 for v in posts if v.original is False)
        w.inputs.append(
            FindingInput(
                kind=FindingKind.unreviewed_post,
                fingerprint=fp,
                evidence={
                    **_post_evidence(account, posts[0]),
                    "message": f"账号「{account.name}」有{len(posts)}条内容未经本平台三审发布"
                    + (f"（其中转发{reposts}条）" if reposts else "")
                    + f"（巡检于{day.isoformat()}在平台上发现，无对应发布记录）",
                    "day": day.isoformat(),
                    "post_count": len(posts),
                    "post_ids": post_ids,
                    "posts": [
                        {
                            "post_id": v.platform_post_id,
                            "live_post_id": v.id,
                            "post_url": v.url,
                            "published_at": _iso_cn_fast(v.published_at),
                            "title": v.title[:100],
                            "text": v.text[:200],
                            "repost": v.original is False,
                        }
                        for v in posts[:GROUP_LIST_MAX]
                    ],
                    "repost": reposts == len(posts),
                },
                confidence=0.8 if reposts == len(posts) else 0.95,
                account_id=account.id,
                unit_id=account.unit_id,
            )
        )


def _prefetch_profiles(
    work: list[tuple[sources.Reading, Account, InspectionOutcome, _Writer]],
) -> tuple[dict[tuple[str, str], DiscoveredAccount], dict[int, list[Finding]]]:
    """For a batch: the discovery snapshots by (platform, uid), created where missing (one
    flush), and the active name/subject mismatch findings by account, in a few queries."""
    wanted = {
        (a.platform.value, a.platform_uid): (a, r, w.now)
        for r, a, _, w in work
        if r.profile is not None and a.platform_uid and r.profile.name and r.profile.status not in sources.PLATFORM_GONE
    }
    snaps: dict[tuple[str, str], DiscoveredAccount] = {}
    uids = sorted({uid for _, uid in wanted})
    for i in range(0, len(uids), 500):
        for snap in db.session.scalars(
            sa.select(DiscoveredAccount).where(DiscoveredAccount.platform_uid.in_(uids[i : i + 500]))
        ):
            snaps[(snap.platform.value, snap.platform_uid)] = snap
    for key, (account, reading, now) in wanted.items():
        if key not in snaps:
            snaps[key] = DiscoveredAccount(
                platform=account.platform,
                platform_uid=key[1],
                name=str(getattr(reading.profile, "name", ""))[:200],
                first_seen_at=now,
                source="inspection",
            )
            db.session.add(snaps[key])
    db.session.flush()
    mismatches: dict[int, list[Finding]] = {}
    ids = sorted({a.id for _, a, _, _ in work})
    for i in range(0, len(ids), 500):
        for f in db.session.scalars(
            sa.select(Finding).where(
                Finding.account_id.in_(ids[i : i + 500]),
                Finding.kind.in_((FindingKind.name_mismatch, FindingKind.subject_mismatch)),
                Finding.status.in_(findings_service.ACTIVE_STATUSES),
            )
        ):
            mismatches.setdefault(f.account_id, []).append(f)  # type: ignore[arg-type]
    return snaps, mismatches


def _profile_checks(
    w: _Writer,
    account: Account,
    reading: sources.Reading,
    snaps: dict[tuple[str, str], DiscoveredAccount],
    mismatches: dict[int, list[Finding]],
) -> None:
    """Profile by uid: platform status, literal name, 认证主体 (via the reconciliation rules)."""

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
    snap = snaps[(account.platform.value, uid)]
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
    for f in mismatches.get(account.id, ()):
        if f.kind is FindingKind.subject_mismatch and not snap.subject:
            continue  # nothing was compared
        if f.fingerprint not in produced:
            w.clear.append((f.fingerprint, "巡检复核时平台信息与台账一致"))
    del units


def _cached_units() -> list[Any]:
    """The org list for 认证主体 resolution, kept a minute per process (a sweep reads it often)."""

    cache = current_app.extensions.setdefault("govmedia_inspection", {})
    at, units = cache.get("units", (None, None))
    now = utcnow()
    if units is None or at is None or (now - at).total_seconds() > 60:
        units = _unit_refs()
        cache["units"] = (now, units)
    return units


def apply(reading: sources.Reading, now: datetime | None = None) -> InspectionOutcome:
    """Write what one read found. Flushes."""
    return apply_many([reading], now)[0]


def apply_many(readings: Sequence[sources.Reading], now: datetime | None = None) -> list[InspectionOutcome]:
    """Write what a batch of reads found, each as :func:`apply` would, sharing the work: the
    accounts, states, deliveries, stored posts and discovery snapshots are read in a few queries,
    new posts are written in one executemany INSERT and changed ones in one UPDATE, unchanged
    ones only get their ``last_seen_at``, the checks run only over new or edited text (or after a
    dictionary change), findings are upserted in one batch and audited in one entry. Flushes."""

    ids = sorted({r.account_id for r in readings})
    accounts: dict[int, Account] = {}
    states: dict[int, AccountInspection] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        accounts.update(
            (a.id, a)
            for a in db.session.scalars(
                sa.select(Account).where(Account.id.in_(chunk)).options(sa.orm.selectinload(Account.unit))
            )
        )
        states.update(
            (s.account_id, s)
            for s in db.session.scalars(sa.select(AccountInspection).where(AccountInspection.account_id.in_(chunk)))
        )
    outcomes: list[InspectionOutcome] = []
    work: list[tuple[sources.Reading, Account, InspectionOutcome, _Writer]] = []
    coverage: list[tuple[_Writer, InspectionOutcome]] = []  # not_authorised findings of unread accounts
    for reading in readings:
        at = now or reading.at
        account = accounts.get(reading.account_id)
        if account is None or account.status not in INSPECTED_STATUSES:
            outcomes.append(InspectionOutcome(reading.account_id, "skipped"))
            continue
        _persist_refreshed(reading)  # type: ignore[arg-type]
        state = states.get(account.id)
        if state is None:
            state = states[account.id] = AccountInspection(account_id=account.id, posts_seen=0)
            db.session.add(state)
        if reading.not_checkable:
            state.source = None
            state.not_checkable_reason = reading.not_checkable
            state.last_attempt_at = at
            outcome = InspectionOutcome(account.id, "not_checkable", reason=reading.not_checkable)
            outcomes.append(outcome)
            w = _Writer(account, at)
            if reading.not_checkable == "no_source":
                w.inputs.append(_not_authorised(account))
            else:  # no uid / no adapter: authorising would not help; other work (registry) applies
                w.gone_fp(not_authorised_fingerprint(account.id), REASON_NOT_AUTHORISED_MOOT)
            coverage.append((w, outcome))
            continue
        if not reading.ok:
            if reading.retry_after is not None:
                outcomes.append(
                    InspectionOutcome(
                        account.id, "deferred", reading.source, error=reading.error, retry_after=reading.retry_after
                    )
                )
                continue
            state.source = reading.source
            state.not_checkable_reason = None
            state.last_attempt_at = at
            state.last_error = reading.error
            outcomes.append(InspectionOutcome(account.id, "error", reading.source, error=reading.error))
            continue
        outcome = InspectionOutcome(
            account.id, "checked", reading.source, posts_seen=len(reading.posts), error=reading.error
        )
        state.source = reading.source
        state.not_checkable_reason = None
        state.last_attempt_at = at
        state.last_success_at = at
        state.last_error = reading.error
        state.posts_seen = len(reading.posts)
        if reading.profile is not None:
            state.profile = dict(reading.profile.__dict__)
        outcomes.append(outcome)
        w = _Writer(account, at)
        w.gone_fp(not_authorised_fingerprint(account.id), REASON_AUTHORISED)
        work.append((reading, account, outcome, w))
    db.session.flush()
    if not work:
        if coverage:
            flush_writers(coverage)
        return outcomes

    snaps, mismatches = _prefetch_profiles(work)
    for reading, account, _outcome, w in work:
        _profile_checks(w, account, reading, snaps, mismatches)
    dmaps = trace.deliveries_by_account([a.id for _, a, _, _ in work], {a.id: a.platform.value for _, a, _, _ in work})
    keys = {r.account_id: [p.post_id for p in r.posts if p.post_id] for r, _, _, _ in work}
    stored_all = _views_many(keys)
    held = trace.prefetch_deliveries(
        ref.id
        for r, a, _, _ in work
        for key in keys[a.id]
        if (ref := dmaps.get(a.id, {}).get(key)) is not None
        and ((v := stored_all.get(a.id, {}).get(key)) is None or v.expected_text is None)
    )
    version = lexicon_version()
    since = _unreviewed_since()
    inserts: list[PostView] = []
    updates: list[PostView] = []
    untouched: dict[tuple[str, datetime], list[int]] = {}
    per_account: list[tuple[Any, ...]] = []
    for reading, account, outcome, w in work:
        now_ = w.now
        platform = account.platform.value
        dmap = dmaps.get(account.id, {})
        stored = stored_all.get(account.id, {})
        src = reading.source or "unknown"
        first_new = len(inserts)
        judged: list[tuple[PostView, frozenset[str] | None, bool, str | None, bool]] = []
        days: set[date] = set()
        skip: list[int] = untouched.setdefault((src, now_), [])
        seen: dict[str, sources.SeenPost] = {}
        for post in reading.posts:
            if post.post_id and post.post_id not in seen:
                seen[post.post_id] = post
        for key, post in seen.items():
            h = sources.text_hash(post.title, post.text)
            ref = dmap.get(key)
            v = stored.get(key)
            if v is None:
                v = PostView(
                    id=None,
                    account_id=account.id,
                    platform=platform,
                    platform_post_id=key,
                    published_at=post.published_at,
                    first_seen_at=now_,
                    url=post.url,
                    title=post.title,
                    text=post.text,
                    links=list(post.links),
                    original=post.original,
                    seen_via=src,
                    source=PostSource.ours if ref is not None else PostSource.found,
                    delivery_id=ref.id if ref is not None else None,
                    text_hash=h,
                    checked_version=version,
                    check_hits=run_checks(post.title, post.text),
                    checked_at=now_,
                    expected_text=None,
                    tamper_state=None,
                    state=PostState.live,
                )
                if ref is not None:
                    _set_tamper(v, platform)
                else:
                    days.add(group_day(now_))
                inserts.append(v)
                judged.append((v, None, False, None, True))
                continue
            edited = v.text_hash != h
            was = _essentials(v)
            before_hits = _block_keys(v.check_hits)
            before_tamper = v.tamper_state
            v.published_at = post.published_at or v.published_at
            v.url = post.url or v.url
            v.links, v.original = list(post.links), post.original
            v.state = PostState.live
            if ref is not None:
                v.source, v.delivery_id = PostSource.ours, ref.id
            if edited:
                v.title, v.text, v.text_hash = post.title, post.text, h
            rechecked = edited or v.checked_version != version
            if rechecked:
                v.check_hits, v.checked_version, v.checked_at = run_checks(v.title, v.text), version, now_
            if v.source is PostSource.ours and v.delivery_id is not None and (edited or v.expected_text is None):
                _set_tamper(v, platform)
            if v.source != was[0]:
                days.add(group_day(v.first_seen_at))
            if not edited and not rechecked and v.tamper_state == before_tamper and was == _essentials(v):
                skip.append(v.id)  # type: ignore[arg-type]
                continue
            v.last_seen = now_
            updates.append(v)
            judged.append((v, None if edited else before_hits, edited, before_tamper, rechecked))
        outcome.new_posts = len(inserts) - first_new
        per_account.append((reading, account, outcome, w, judged, days))
    del held  # kept the prefetched deliveries alive for the tamper comparisons above
    _write_posts(inserts, updates, untouched)
    groups: list[tuple[_Writer, set[date]]] = []
    for reading, account, _outcome, w, judged, days in per_account:
        now = w.now
        platform = account.platform.value
        dmap = dmaps.get(account.id, {})
        src = reading.source or "unknown"
        seen = {p.post_id for p in reading.posts if p.post_id}
        for v, before_hits, edited, before_tamper, rechecked in judged:
            if rechecked:
                judge_checks(w, v, before_hits)
            judge_tamper(w, v, before_tamper, edited)
        if days:
            groups.append((w, days))
        # Removals the platform reported for our posts, or an import marked.
        for removal in reading.removals:
            key = sources.live_key(platform, removal.post_id)
            ref = dmap.get(key)
            lp = db.session.scalar(
                sa.select(LivePost).where(LivePost.account_id == account.id, LivePost.platform_post_id == key)
            )
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
                    seen_via=src,
                )
                db.session.add(lp)
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
            stmt = sa.select(LivePost.id, LivePost.platform_post_id).where(
                LivePost.account_id == account.id,
                LivePost.state == PostState.live,
                LivePost.source == PostSource.found,
            )
            if reading.complete_since is not None:
                stmt = stmt.where(LivePost.published_at >= reading.complete_since)
            gone = [i for i, key in db.session.execute(stmt) if key not in seen and key not in reported]
            for i in range(0, len(gone), 500):
                db.session.execute(
                    sa.update(LivePost)
                    .where(LivePost.id.in_(gone[i : i + 500]))
                    .values(state=PostState.removed, removed_at=now, removed_reason="平台列表中已不再出现")
                    .execution_options(synchronize_session=False)
                )
    regroup_many(groups, since)
    flush_writers([(w, o) for _, _, o, w in work] + coverage)
    db.session.flush()
    return outcomes


REASON_AUTHORISED = "账号已可巡检（已授权或有其他数据来源）"
REASON_NOT_AUTHORISED_MOOT = "账号缺少平台ID或平台没有接口适配器，授权不能解决，见覆盖页原因"


def not_authorised_fingerprint(account_id: int) -> str:
    return f"{FindingKind.not_authorised.value}:account={account_id}"


def _not_authorised(account: Account) -> FindingInput:
    """An account no source can read: its unit has not authorised it to govmedia (the office
    holds no commercial contract for it and no recent third-party export covers it). Confirmed,
    it becomes the unit's work order 「请授权账号以纳入巡检」; it resolves itself once the
    account is readable."""
    return FindingInput(
        kind=FindingKind.not_authorised,
        fingerprint=not_authorised_fingerprint(account.id),
        evidence={
            "message": f"账号「{account.name}」未向本平台授权，也没有商业接口或近期导入的监测数据，"
            "每日巡检无法读取它的资料和发布内容。请单位在台账账号页完成平台授权，以纳入巡检。",
            "platform": account.platform.value,
            "uid": account.platform_uid,
            "account_name": account.name,
            "unit_name": account.unit.name if account.unit is not None else None,
            "todo": "请授权账号以纳入巡检：台账 → 账号页 → 平台凭据（公众号 AppID/AppSecret，微博、抖音、头条授权）",
        },
        confidence=1.0,
        account_id=account.id,
        unit_id=account.unit_id,
    )


def _expire_loaded(ids: Iterable[int | None]) -> None:
    """Core UPDATEs bypass the session: expire any LivePost of these ids it holds."""
    wanted = set(ids)
    if not wanted:
        return
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, LivePost) and obj.id in wanted:
            db.session.expire(obj)


def _essentials(v: PostView) -> tuple[Any, ...]:
    """What, besides the text, makes a stored post worth rewriting."""
    return (v.source, v.delivery_id, v.state, v.published_at, v.url, v.links, v.original, v.checked_version)


def _write_posts(
    inserts: list[PostView], updates: list[PostView], untouched: dict[tuple[str, datetime], list[int]]
) -> None:
    """New posts in one executemany INSERT (ids come back through RETURNING), changed ones in one
    executemany UPDATE by primary key, unchanged ones only get ``last_seen_at`` (UPDATE … IN).
    Core statements on the table: the ORM's per-row bookkeeping is what made the first version slow."""
    table = LivePost.__table__
    db.session.flush()
    for i in range(0, len(inserts), 1000):
        chunk = inserts[i : i + 1000]
        rows = [{**v.row(), "last_seen_at": v.checked_at or v.first_seen_at} for v in chunk]
        ids = {
            (r.account_id, r.platform_post_id): r.id
            for r in db.session.connection().execute(
                sa.insert(table).returning(table.c.id, table.c.account_id, table.c.platform_post_id), rows
            )
        }
        for v in chunk:
            v.id = ids[(v.account_id, v.platform_post_id)]
    if updates:
        db.session.connection().execute(
            sa.update(table).where(table.c.id == sa.bindparam("_id")),
            [
                {**v.row(), "_id": v.id, "last_seen_at": v.last_seen, "removed_at": None, "removed_reason": None}
                for v in updates
            ],
        )
    _expire_loaded([v.id for v in updates] + [i for ids_ in untouched.values() for i in ids_])
    for (via, at), ids_ in untouched.items():
        for i in range(0, len(ids_), 1000):
            db.session.execute(
                sa.update(LivePost)
                .where(LivePost.id.in_(ids_[i : i + 1000]))
                .values(last_seen_at=at, seen_via=via)
                .execution_options(synchronize_session=False)
            )


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


def inspect_accounts(
    account_ids: Sequence[int], *, max_wait: float = 0.0, batch: int = 200, now: datetime | None = None
) -> list[InspectionOutcome]:
    """The batch path (CLI): per batch, prepare all → commit → fetch each (no transaction open)
    → :func:`apply_many` → one commit."""
    outcomes: list[InspectionOutcome] = []
    for i in range(0, len(account_ids), batch):
        chunk = account_ids[i : i + batch]
        targets = {a: prepare(a, now) for a in chunk}
        db.session.commit()
        readings = []
        for account_id in chunk:
            target = targets[account_id]
            if target is not None:
                readings.append(fetch(target, now, max_wait=max_wait))
        db.session.rollback()  # the import source read; end that transaction before writing
        applied = {o.account_id: o for o in apply_many(readings, now)}
        db.session.commit()
        outcomes.extend(applied.get(a) or InspectionOutcome(a, "skipped") for a in chunk)
    return outcomes


# ----------------------------------------------------------------------------- re-scan


def rescan(
    now: datetime | None = None, *, batch: int = 2000, after_id: int = 0, shard: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Re-check one batch of stored posts of the window whose dictionary version is old, in id
    order from ``after_id`` (keyset: each batch reads forward, never the whole table again);
    ``shard=(k, n)`` takes the posts with ``id % n == k`` so n workers share the work.
    Rows are read and written in bulk; only posts whose blocking hits changed touch findings.
    Returns {"scanned", "created", "resolved", "more", "last_id", "version"}. Flushes."""
    now = now or utcnow()
    version = lexicon_version()
    start = now - timedelta(days=setting_int("INSPECTION_RESCAN_DAYS", 365))
    stmt = (
        sa.select(*_VIEW_COLUMNS)
        .where(
            LivePost.id > after_id,
            LivePost.published_at >= start,
            sa.or_(LivePost.checked_version.is_(None), LivePost.checked_version != version),
        )
        .order_by(LivePost.id)
        .limit(batch)
    )
    if shard is not None:
        stmt = stmt.where(LivePost.id % shard[1] == shard[0])
    views = [PostView(**r._mapping) for r in db.session.execute(stmt)]
    summary: dict[str, Any] = {"scanned": len(views), "created": 0, "resolved": 0, "version": version}
    changed: list[dict[str, Any]] = []
    same: list[int] = []
    judge: dict[int, list[tuple[PostView, frozenset[str]]]] = {}
    for v in views:
        hits = run_checks(v.title, v.text)
        before = _block_keys(v.check_hits)
        if hits != v.check_hits:
            changed.append({"_id": v.id, "check_hits": hits, "checked_version": version, "checked_at": now})
        else:
            same.append(v.id)  # type: ignore[arg-type]
        v.check_hits, v.checked_version = hits, version
        if v.state is PostState.live and _block_keys(hits) != before:
            judge.setdefault(v.account_id, []).append((v, before))
    if changed:
        table = LivePost.__table__
        db.session.connection().execute(sa.update(table).where(table.c.id == sa.bindparam("_id")), changed)
    _expire_loaded(v.id for v in views)
    for i in range(0, len(same), 1000):
        db.session.execute(
            sa.update(LivePost)
            .where(LivePost.id.in_(same[i : i + 1000]))
            .values(checked_version=version, checked_at=now)
            .execution_options(synchronize_session=False)
        )
    for account_id, items in judge.items():
        account = db.session.get(Account, account_id)
        if account is None:
            continue
        w = _Writer(account, now)
        for v, before in items:
            judge_checks(w, v, before)
        out = InspectionOutcome(account_id, "rescan")
        w.flush(out, "system:inspection-rescan")
        summary["created"] += len(out.created)
        summary["resolved"] += len(out.resolved)
    summary["more"] = len(views) == batch
    summary["last_id"] = views[-1].id if views else after_id
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
    regroup_unreviewed(w, [group_day(lp.first_seen_at)], _unreviewed_since())
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
