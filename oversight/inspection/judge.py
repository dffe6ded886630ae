"""The inspection's judgement: what the posts and the profile of an account make of findings.

The draft checks over live posts (:func:`run_checks`, :func:`lexicon_version`), ``post_check_hit``
and ``tampered`` per post (:func:`judge_checks`, :func:`judge_tamper`), one ``unreviewed_post``
per account and day of detection (:func:`regroup_many`), the profile by uid (name/subject
mismatch, account unavailable) and ``not_authorised``; :class:`_Writer` collects them and
:func:`flush_writers` upserts a batch in one go with one audit entry. Flushes; the caller commits.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask import current_app

from audit import service as audit
from common.db import utcnow
from common.timefmt import CN_TZ, day_start_utc
from extensions import db
from moderation.checks import KIND_LABELS, CheckFinding, default_pipeline
from oversight import findings as findings_service
from oversight.discovery import (
    _record_of,
    _unit_refs,
    reconcile_thresholds,
)
from oversight.findings import FindingInput, NewFinding, iso_cn
from oversight.inspection import sources, trace
from oversight.inspection.models import LivePost, PostException, PostSource
from oversight.inspection.posts import _GROUP_COLUMNS, GROUP_LIST_MAX, PostView
from oversight.models import DiscoveredAccount, Finding, FindingKind
from oversight.reconcile import RegisteredAccount, reconcile
from registry.models import Account, AccountStatus, Unit

LABEL = "system:inspection"


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
    if not hits:
        return []
    # CheckFinding.to_dict is dataclasses.asdict (a deep copy of scalars): the same dict, built directly.
    out: list[dict[str, Any]] = []
    for h in hits:
        if h.kind != "platform_limit":
            hit = dict(zip(_HIT_FIELDS, _hit_values(h), strict=True))
            hit["kind_label"] = KIND_LABELS.get(h.kind, h.kind)
            out.append(hit)
    return out


_HIT_FIELDS = tuple(f.name for f in dataclasses.fields(CheckFinding))
_hit_values = operator.attrgetter(*_HIT_FIELDS)


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


def _unreviewed_since() -> datetime | None:
    raw = str(current_app.config.get("INSPECTION_UNREVIEWED_SINCE") or "").strip()
    if not raw:
        return None

    return day_start_utc(date.fromisoformat(raw))


def _account_evidence(account: Account) -> dict[str, Any]:
    """Evidence of the account a finding is about."""
    return {
        "platform": account.platform.value,
        "uid": account.platform_uid,
        "account_name": account.name,
        "unit_name": account.unit.name if account.unit is not None else None,
    }


#: How much of a post's text a removal finding keeps (what post it was; the posts tab has it all).
REMOVED_TEXT_MAX = 500


def _post_evidence(account: Account, lp: Any, *, text_max: int = 0) -> dict[str, Any]:
    """Evidence of one post (a LivePost or a PostView): which post, its link and time, its title
    and, where ``text_max`` asks, the beginning of its text — the whole post stays on the
    account's posts tab (``live_post_id``), so a finding does not carry a copy of it."""
    evidence = {
        **_account_evidence(account),
        "post_id": lp.platform_post_id,
        "live_post_id": lp.id,
        "post_url": lp.url,
        "published_at": _iso_cn_fast(lp.published_at),
        "title": lp.title,
        "source": lp.seen_via,
    }
    if text_max:
        evidence["text"] = lp.text[:text_max]
    return evidence


#: Characters of the post shown either side of a hit in a check finding's excerpt, and how many hits.
EXCERPT_CONTEXT = 30
EXCERPT_HITS = 5


def hit_excerpt(title: str, text: str, hits: Sequence[dict[str, Any]]) -> str:
    """The post around its hits, as a check finding shows it: each hit 【marked】 with
    :data:`EXCERPT_CONTEXT` characters either side, windows that overlap merged, …… where text is
    left out, a hit in the title as 标题：…; at most :data:`EXCERPT_HITS` hits."""
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    for h in hits[:EXCERPT_HITS]:
        start, end = h.get("start"), h.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans["title" if h.get("field") == "title" else "body"].append((start, end))
    parts: list[str] = []
    for field_, source, label in (("title", title, "标题："), ("body", text, "")):
        windows: list[list[Any]] = []  # [start, end, [(hit start, hit end), …]]
        for start, stop in sorted(spans[field_]):
            end = min(stop, len(source))
            if start >= end:
                continue
            lo, hi = max(0, start - EXCERPT_CONTEXT), min(len(source), end + EXCERPT_CONTEXT)
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], hi)
                windows[-1][2].append((start, end))
            else:
                windows.append([lo, hi, [(start, end)]])
        for lo, hi, marks in windows:
            pos, piece = lo, [label, "……" if lo > 0 else ""]
            for start, end in marks:
                if end <= pos:
                    continue  # inside the previous mark
                begin = max(start, pos)
                piece += [source[pos:begin], "【", source[begin:end], "】"]
                pos = end
            piece += [source[pos:hi], "……" if hi < len(source) else ""]
            parts.append("".join(piece))
    return " ".join(parts)


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
        report = findings_service.upsert_many(inputs, now, load_created=False)
        if report.new or report.reopened:
            one = len(pairs) == 1
            audit.record(
                "inspection:findings",
                object_type="account" if one else "inspection",
                object_id=pairs[0][0].account.id if one else "batch",
                after={
                    "created": [_audit_ref(f) for f in report.new],
                    "reopened": [
                        {**_audit_ref(f), "because": (f.evidence or {}).get("reopened_because")}
                        for f in report.reopened
                    ],
                },
                actor_label=label,
            )
        for f in report.new:
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


def _audit_ref(f: Finding | NewFinding) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind.value, "fingerprint": f.fingerprint}


def _block_keys(hits: list[dict[str, Any]] | None, *, blocking: bool = False) -> frozenset[str]:
    """The keys of the blocking hits (``blocking``: ``hits`` are those already)."""
    chosen = (hits or []) if blocking else _blocking(hits or [])
    return frozenset(f"{h['rule']}:{h['field']}:{h['start']}:{h['end']}" for h in chosen)


def _set_tamper(v: PostView, platform: str, cache: trace.RenderCache | None = None) -> None:
    """Compare a govmedia post with what stage 3 approved, as the platform shows it (``cache``:
    the batch's renderings, :func:`trace.expected_comparable`)."""
    if v.delivery_id is None:
        return
    expected = trace.expected_comparable(v.delivery_id, platform, cache)
    if expected is not None:
        v.expected_text = expected
        live = trace.comparable(platform, v.title, v.text)
        v.tamper_state = "same" if trace.same(platform, v.expected_text, live) else "tampered"


def judge_checks(w: _Writer, v: PostView | LivePost, before: frozenset[str] | None) -> None:
    """``post_check_hit`` of a post whose checks ran (``before``: its blocking hits until now,
    None for a new or edited post)."""
    blocking = _blocking(v.check_hits or [])
    keys = _block_keys(blocking, blocking=True)
    if blocking and keys != before:
        labels = "、".join(sorted({h["kind_label"] for h in blocking}))
        said = list(dict.fromkeys(h["message"] for h in blocking))  # the same hit three times: said once
        w.add(
            FindingKind.post_check_hit,
            v.platform_post_id,
            {
                **_post_evidence(w.account, v),
                "excerpt": hit_excerpt(v.title, v.text, blocking),
                "message": f"账号「{w.account.name}」已发布内容有 {len(blocking)} 处阻断级问题（{labels}）："
                + "；".join(said[:3])
                + ("等" if len(said) > 3 else ""),
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
    return (value + _BJ).isoformat(timespec="seconds") + "+08:00"


@functools.lru_cache(maxsize=4096)
def group_day(first_seen_at: datetime) -> date:
    """The Beijing date an ``unreviewed_post`` group belongs to: when the inspection first saw
    the post (in the daily routine, the day it was published). Cached: a batch shares one time."""
    return first_seen_at.replace(tzinfo=UTC).astimezone(CN_TZ).date()


def unreviewed_fingerprint(account_id: int, day: date) -> str:
    return f"{FindingKind.unreviewed_post.value}:account={account_id}:day={day.isoformat()}"


#: How much of each post an ``unreviewed_post`` group lists (a line of the table; the whole post is on its page).
GROUP_TITLE_MAX, GROUP_TEXT_MAX = 60, 100


def regroup_unreviewed(w: _Writer, days: Iterable[date], since: datetime | None) -> None:
    """:func:`regroup_many` for one account."""
    regroup_many([(w, set(days))], since)


def regroup_many(
    groups: Sequence[tuple[_Writer, set[date]]],
    since: datetime | None,
    fresh: Sequence[PostView] = (),
    fresh_above: int | None = None,
) -> None:
    """One ``unreviewed_post`` finding per account and day of detection, listing every post of
    that day not published through govmedia and not recorded as an allowed exception (each with
    its link). No post left → resolved. A closed finding whose list only shrank stays closed.
    For a batch of accounts: one query per 200 accounts and one finding lookup. ``fresh``: the
    posts this batch just inserted (every id above ``fresh_above``), taken as they are instead of
    read back (a new post has no exception yet)."""

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
                LivePost.id <= fresh_above if fresh_above is not None else sa.true(),
            )
            .order_by(LivePost.account_id, LivePost.published_at, LivePost.id)
        )
        for r in rows:
            if since is None or (r.published_at is not None and r.published_at >= since):
                listed.setdefault((r.account_id, group_day(r.first_seen_at)), []).append(r)
    if fresh_above is not None:
        wanted_ids = set(ids)
        mixed: set[tuple[int, date]] = set()
        for v in fresh:
            if (
                v.source is PostSource.found
                and v.account_id in wanted_ids
                and start <= v.first_seen_at < end
                and (since is None or (v.published_at is not None and v.published_at >= since))
            ):
                key = (v.account_id, group_day(v.first_seen_at))
                listed.setdefault(key, []).append(v)
                mixed.add(key)
        nulls_first = db.session.get_bind().dialect.name == "sqlite"  # the database's own ORDER BY
        for key in mixed:
            listed[key].sort(key=lambda v: _published_order(v, nulls_first))
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
                    **_account_evidence(account),
                    "source": posts[0].seen_via,
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
                            "title": v.title[:GROUP_TITLE_MAX],
                            "text": v.text if len(v.text) <= GROUP_TEXT_MAX else v.text[:GROUP_TEXT_MAX] + "……",
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


def _published_order(v: Any, nulls_first: bool) -> tuple[bool, datetime, int]:
    """ORDER BY published_at, id as the database sorts (SQLite: NULL first; PostgreSQL: last)."""
    missing = v.published_at is None
    return (not missing if nulls_first else missing, v.published_at or datetime.min, v.id)


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
            snap = snaps[key] = DiscoveredAccount(platform=account.platform, platform_uid=key[1], first_seen_at=now)
            _fill_snapshot(snap, reading, now)  # inserted as _profile_checks leaves it: no UPDATE after
            db.session.add(snap)
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


def _fill_snapshot(snap: DiscoveredAccount, reading: sources.Reading, now: datetime) -> None:
    """The discovery snapshot as this reading of the profile shows it (values unchanged leave
    the row unchanged: SQLAlchemy writes only what differs)."""
    p = reading.profile
    if p is None:
        return
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
    snap.seen_at = now
    snap.source = "inspection"
    snap.source_ref = reading.source
    snap.raw = {**(snap.raw or {}), "platform_status": p.status or "active", "inspected_via": reading.source}


def _profile_checks(
    w: _Writer,
    account: Account,
    reading: sources.Reading,
    snaps: dict[tuple[str, str], DiscoveredAccount],
    mismatches: dict[int, list[Finding]],
    *,
    units: list[Any] | None,
) -> None:
    """Profile by uid: platform status, literal name, 认证主体 (via the reconciliation rules;
    ``units``: :func:`units_for_batch`)."""

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
    _verification_check(w, account, reading)
    if not p.name:
        return
    snap = snaps[(account.platform.value, uid)]
    _fill_snapshot(snap, reading, w.now)
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
    result = reconcile(units or [], [registered], [_record_of(snap)], reconcile_thresholds())
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
        if f.fingerprint == unverified_fingerprint(account):
            continue  # settled by _verification_check on the platform's own word
        if f.kind is FindingKind.subject_mismatch and not snap.subject:
            continue  # nothing was compared
        if f.fingerprint not in produced:
            w.clear.append((f.fingerprint, "巡检复核时平台信息与台账一致"))
    del units


#: How sure a "not verified" reading is, below a 认证主体 that names another body (0.8–0.95): the
#: account may be mid-renewal, or the platform's flag may lag the 年审.
UNVERIFIED_CONFIDENCE = 0.6
REASON_VERIFIED = "巡检复核时平台显示账号已认证"
#: Ledger states in which a missing 认证 is a finding (an account being closed may drop it).
VERIFICATION_STATUSES = (AccountStatus.active, AccountStatus.changing, AccountStatus.suspended)


def unverified_fingerprint(account: Account) -> str:
    """The "not verified" finding's own fingerprint, apart from the 认证主体 comparison's
    (``…:uid=…:account=…``, reconcile) and the ledger's (``subject_mismatch:account:…``), so the
    two neither overwrite nor resolve each other."""
    platform, uid = account.platform.value, account.platform_uid
    return f"{FindingKind.subject_mismatch.value}:{platform}:uid={uid}:account={account.id}:unverified"


def _verification_check(w: _Writer, account: Account, reading: sources.Reading) -> None:
    """A registered government account the platform shows as not verified (认证 lost or never
    done: Weibo ``verified`` false, WeChat 资质认证 false / ``verify_type_info`` −1) →
    ``subject_mismatch`` with ``verified: false`` and a lower confidence than a different
    认证主体; verified again → resolved. Where the platform does not say (None) nothing is
    concluded either way. No ``discovered_id``: a discovery run re-evaluating the snapshot must
    not close it (it compares 认证主体, not the flag)."""
    p = reading.profile
    if p is None or p.verified is None:
        return
    fp = unverified_fingerprint(account)
    if p.verified:
        w.clear.append((fp, REASON_VERIFIED))
        return
    if account.status not in VERIFICATION_STATUSES:
        w.clear.append((fp, "账号正在注销，不再要求认证"))
        return
    unit_name = account.unit.name if account.unit is not None else None
    w.inputs.append(
        FindingInput(
            kind=FindingKind.subject_mismatch,
            fingerprint=fp,
            evidence={
                "message": f"平台显示账号「{account.name}」未认证（或认证已失效），"
                + (f"应以主办单位「{unit_name}」完成机构认证" if unit_name else "应以主办单位完成机构认证"),
                "platform": account.platform.value,
                "uid": account.platform_uid,
                "account_name": account.name,
                "unit_name": unit_name,
                "registered_subject": account.verified_subject,
                "subject": p.subject,
                "verified": False,
                "unverified": True,
                "matched_by": "uid",
                "source": f"inspection:{reading.source}",
            },
            confidence=UNVERIFIED_CONFIDENCE,
            account_id=account.id,
            unit_id=account.unit_id,
        )
    )


def units_for_batch(readings: Iterable[sources.Reading]) -> list[Any] | None:
    """The org list for 认证主体 resolution when the batch has a profile to compare, else None. Kept
    per process with the stamp it was read at (how many units, the highest id, the latest change),
    which one small aggregate query per batch compares: a unit added, renamed or removed in another
    process is seen by the next batch (a time-based cache missed a unit made within its minute)."""

    if not any(r.profile is not None for r in readings):
        return None
    stamp = tuple(
        db.session.execute(sa.select(sa.func.count(), sa.func.max(Unit.id), sa.func.max(Unit.updated_at))).one()
    )
    cache = current_app.extensions.setdefault("govmedia_inspection", {})
    cached = cache.get("units")
    if cached is None or cached[0] != stamp:
        cached = cache["units"] = (stamp, _unit_refs())
    units: list[Any] = cached[1]
    return units


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
