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

The pieces: stored posts in bulk in :mod:`~oversight.inspection.posts`, what they make of findings
in :mod:`~oversight.inspection.judge`, the re-scan after a dictionary change in
:mod:`~oversight.inspection.rescan`, the import of a post export in
:mod:`~oversight.inspection.postimport`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from audit import service as audit
from common.bulk import collector_paused
from common.db import utcnow
from common.errors import Conflict, Invalid, NotFound
from extensions import db
from oversight.inspection import sources, trace
from oversight.inspection.judge import (
    REASON_AUTHORISED,
    REASON_NOT_AUTHORISED_MOOT,
    REMOVED_TEXT_MAX,
    InspectionOutcome,
    _block_keys,
    _not_authorised,
    _post_evidence,
    _prefetch_profiles,
    _profile_checks,
    _set_tamper,
    _unreviewed_since,
    _Writer,
    flush_writers,
    group_day,
    judge_checks,
    judge_tamper,
    lexicon_version,
    not_authorised_fingerprint,
    regroup_many,
    regroup_unreviewed,
    run_checks,
    units_for_batch,
)
from oversight.inspection.models import (
    AccountInspection,
    LivePost,
    PostException,
    PostSource,
    PostState,
    ReadWindow,
)
from oversight.inspection.posts import (
    PostView,
    _essentials,
    _expire_loaded,
    _mark_removed,
    _write_posts,
    stored_many,
    views_by_id,
)
from oversight.models import FindingKind
from oversight.monitoring import _persist_refreshed
from platforms import credentials
from registry.models import Account, AccountStatus

log = logging.getLogger("govmedia.inspection")

#: The ledger the inspection covers (and the coverage view counts).
INSPECTED_STATUSES = (AccountStatus.active, AccountStatus.changing, AccountStatus.closing, AccountStatus.suspended)
#: How far back our own published posts are watched for removal.
WATCH_DAYS = 30
POST_KINDS = (FindingKind.unreviewed_post, FindingKind.post_check_hit, FindingKind.tampered, FindingKind.post_removed)


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
    if creds is not None and not credentials.callable_with(creds):
        # Only the 消息推送 Token is left (a 第三方平台 grant withdrawn): nothing to read with.
        creds, problem = None, f"账号 {account.id} 未配置平台凭据"
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


def _state_row(account_id: int) -> AccountInspection:
    row = db.session.get(AccountInspection, account_id)
    if row is None:
        row = AccountInspection(account_id=account_id, posts_seen=0)
        db.session.add(row)
    return row


def _record_reading(state: AccountInspection, reading: sources.Reading, at: datetime) -> None:
    """The reading of the account's posts, recorded once for the account (not per post): when,
    and what it covered — the whole account, everything published since a time, or only what it
    listed (an export). The posts tab shows a live post inside that window as online at ``at``."""
    state.read_at = at
    if reading.complete_since is None:
        state.read_window, state.read_since = ReadWindow.all, None
    elif reading.complete_since == datetime.max:
        state.read_window, state.read_since = ReadWindow.listed, None
    else:
        state.read_window, state.read_since = ReadWindow.since, reading.complete_since


def apply(reading: sources.Reading, now: datetime | None = None) -> InspectionOutcome:
    """Write what one read found. Flushes."""
    return apply_many([reading], now)[0]


def apply_many(readings: Sequence[sources.Reading], now: datetime | None = None) -> list[InspectionOutcome]:
    """Write what a batch of reads found, each as :func:`apply` would, sharing the work: the
    accounts, states, deliveries, stored posts and discovery snapshots are read in a few queries,
    new posts are written in one go (COPY / executemany) and changed ones in one UPDATE; an
    unchanged post is not written at all (the reading is recorded once per account, see
    :func:`_record_reading`); the checks run only over new or edited text (or after a dictionary
    change); posts a complete listing no longer shows are found among the stored rows already
    read; findings are upserted in one batch and audited in one entry. Flushes."""

    with collector_paused():  # a batch of many posts: see collector_paused
        return _apply_batch(readings, now)


def _apply_batch(readings: Sequence[sources.Reading], now: datetime | None) -> list[InspectionOutcome]:
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
        _record_reading(state, reading, at)
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
    units = units_for_batch(r for r, _, _, _ in work)
    for reading, account, _outcome, w in work:
        _profile_checks(w, account, reading, snaps, mismatches, units=units)
    dmaps = trace.deliveries_by_account([a.id for _, a, _, _ in work], {a.id: a.platform.value for _, a, _, _ in work})
    keys = {r.account_id: [p.post_id for p in r.posts if p.post_id] for r, _, _, _ in work}
    version = lexicon_version()
    # What is stored of the accounts' posts, light (hash, dictionary version, trace); the full rows
    # only of those that changed — an unchanged post is left out of the checks and the writes.
    stored_all = stored_many(keys)
    hashes: dict[tuple[int, str], str] = {}
    changed: list[int] = []
    for r, a, _, _ in work:
        aid = a.id  # a plain int for the per-post lookups (an ORM attribute read costs more)
        stored = stored_all.get(aid, {})
        dmap = dmaps.get(aid, {})
        for post in r.posts:
            if post.post_id and (aid, post.post_id) not in hashes and (sp := stored.get(post.post_id)) is not None:
                h = hashes[(aid, post.post_id)] = sources.text_hash(post.title, post.text)
                ref = dmap.get(post.post_id)
                if not sp.unchanged(h, version, ref.id if ref is not None else None, post):
                    changed.append(sp.id)
    full = views_by_id(changed)
    held = trace.prefetch_deliveries(
        ref.id
        for r, _, _, _ in work
        for key in keys[r.account_id]
        if (ref := dmaps.get(r.account_id, {}).get(key)) is not None
        and (
            (sp := stored_all.get(r.account_id, {}).get(key)) is None or sp.no_expected or sp.tamper_state == "tampered"
        )
    )
    since = _unreviewed_since()
    # The checks over every new post of the batch first, back to back: run between the other
    # steps, each call found less of the automaton and the checks' tables in the CPU caches.
    new_hits: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r, a, _, _ in work:
        aid = a.id
        stored = stored_all.get(aid, {})
        for post in r.posts:
            k = (aid, post.post_id)
            if post.post_id and post.post_id not in stored and k not in new_hits:
                new_hits[k] = run_checks(post.title, post.text)
    rendered: trace.RenderCache = {}
    inserts: list[PostView] = []
    updates: list[PostView] = []
    per_account: list[tuple[Any, ...]] = []
    for reading, account, outcome, w in work:
        now_ = w.now
        platform = account.platform.value
        aid = account.id
        dmap = dmaps.get(aid, {})
        stored = stored_all.get(aid, {})
        src = reading.source or "unknown"
        first_new = len(inserts)
        judged: list[tuple[PostView, frozenset[str] | None, bool, str | None, bool]] = []
        days: set[date] = set()
        seen: dict[str, sources.SeenPost] = {}
        for post in reading.posts:
            if post.post_id and post.post_id not in seen:
                seen[post.post_id] = post
        for key, post in seen.items():
            ref = dmap.get(key)
            sp = stored.get(key)
            if sp is not None and sp.id not in full:
                continue  # seen again, nothing changed: nothing to write
            h = hashes.get((aid, key)) or sources.text_hash(post.title, post.text)
            if sp is None:
                v = PostView(
                    id=None,
                    account_id=aid,
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
                    check_hits=new_hits[(aid, key)],
                    checked_at=now_,
                    expected_text=None,
                    tamper_state=None,
                    state=PostState.live,
                )
                if ref is not None:
                    _set_tamper(v, platform, rendered)
                else:
                    days.add(group_day(now_))
                inserts.append(v)
                judged.append((v, None, False, None, True))
                continue
            v = full[sp.id]
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
            if (
                v.source is PostSource.ours
                and v.delivery_id is not None
                and (edited or v.expected_text is None or v.tamper_state == "tampered")
            ):
                _set_tamper(v, platform, rendered)
            if v.source != was[0]:
                days.add(group_day(v.first_seen_at))
            if not edited and not rechecked and v.tamper_state == before_tamper and was == _essentials(v):
                continue
            v.last_seen = now_
            updates.append(v)
            judged.append((v, None if edited else before_hits, edited, before_tamper, rechecked))
        outcome.new_posts = len(inserts) - first_new
        per_account.append((reading, account, outcome, w, judged, days))
    del held  # kept the prefetched deliveries alive for the tamper comparisons above
    before = _write_posts(inserts, updates)
    groups: list[tuple[_Writer, set[date]]] = []
    gone: dict[datetime, list[int]] = {}
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
                lp = _removed_before_seen(account.id, platform, key, ref, now=now, src=src)
                db.session.add(lp)
            _mark_removed(lp, removal.reason, now)
            db.session.flush()
            if lp.source is PostSource.ours:
                w.add(
                    FindingKind.post_removed,
                    key,
                    {
                        **_post_evidence(account, lp, text_max=REMOVED_TEXT_MAX),
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
        # Posts found earlier that the listing no longer shows (not ours: those were asked), among
        # the account's stored rows read above (no query per account): any, when the platform
        # proved the listing complete; else only those published after its oldest post (one
        # published in the same second as that post may simply be the next one, not listed).
        cs = reading.complete_since
        if cs != datetime.max:
            reported = {sources.live_key(platform, r.post_id) for r in reading.removals}
            gone.setdefault(now, []).extend(
                sp.id
                for key, sp in stored_all.get(account.id, {}).items()
                if sp.state is PostState.live
                and sp.source is PostSource.found
                and key not in seen
                and key not in reported
                and (cs is None or (sp.published_at is not None and sp.published_at > cs))
            )
    for at, ids_ in gone.items():
        _expire_loaded(ids_)
        for i in range(0, len(ids_), 500):
            db.session.execute(
                sa.update(LivePost)
                .where(LivePost.id.in_(ids_[i : i + 500]))
                .values(state=PostState.removed, removed_at=at, removed_reason="平台列表中已不再出现", last_seen_at=at)
                .execution_options(synchronize_session=False)
            )
    regroup_many(groups, since, inserts, before)
    flush_writers([(w, o) for _, _, o, w in work] + coverage)
    db.session.flush()
    return outcomes


def _removed_before_seen(
    account_id: int, platform: str, key: str, ref: trace.DeliveryRef, *, now: datetime, src: str
) -> LivePost:
    """The row of a post of ours removed before any reading listed it: its title, text, link and
    time are what stage 3 approved and the delivery recorded, so the post_removed finding shows
    which post it was."""
    title, text, url = trace.as_published(ref.id)
    return LivePost(
        account_id=account_id,
        platform=platform,
        platform_post_id=key,
        first_seen_at=now,
        published_at=ref.sent_at,
        title=title,
        text=text,
        url=url,
        text_hash="",
        source=PostSource.ours,
        delivery_id=ref.id,
        seen_via=src,
    )


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
