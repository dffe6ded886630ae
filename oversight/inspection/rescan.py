"""The re-scan after a dictionary change: re-runs the draft checks over stored posts of the last
``INSPECTION_RESCAN_DAYS`` whose dictionary version is older than the current one, in keyset
batches (optionally sharded), and updates their ``post_check_hit`` findings. Flushes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from common.db import utcnow
from extensions import db
from oversight.findings import setting_int
from oversight.inspection.judge import (
    InspectionOutcome,
    _block_keys,
    _Writer,
    judge_checks,
    lexicon_version,
    run_checks,
)
from oversight.inspection.models import LivePost, PostState
from oversight.inspection.posts import PostView, _expire_loaded, views_by_id
from registry.models import Account

# ----------------------------------------------------------------------------- re-scan


def rescan(
    now: datetime | None = None, *, batch: int = 2000, after_id: int = 0, shard: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Re-check one batch of stored posts of the window whose dictionary version is old, in id
    order from ``after_id`` (keyset: each batch reads forward, never the whole table again);
    ``shard=(k, n)`` takes the posts with ``id % n == k`` so n workers share the work.
    Rows are read and written in bulk, only the text and the stored hits of each (the full row
    only of the posts whose blocking hits changed: those touch findings).
    Returns {"scanned", "created", "resolved", "more", "last_id", "version"}. Flushes."""
    now = now or utcnow()
    version = lexicon_version()
    start = now - timedelta(days=setting_int("INSPECTION_RESCAN_DAYS", 365))
    stmt = (
        sa.select(
            LivePost.id,
            LivePost.account_id,
            LivePost.title,
            LivePost.text,
            sa.cast(LivePost.check_hits, sa.Text).label("hits"),
            LivePost.state,
        )
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
    rows = db.session.execute(stmt).all()
    summary: dict[str, Any] = {"scanned": len(rows), "created": 0, "resolved": 0, "version": version}
    changed: list[dict[str, Any]] = []
    same: list[int] = []
    moved: dict[int, tuple[list[dict[str, Any]], frozenset[str]]] = {}  # blocking hits changed
    for post_id, _account_id, title, text, stored, state in rows:
        hits = run_checks(title, text)
        if not hits and stored == "[]":  # the common case: nothing before, nothing now
            same.append(post_id)
            continue
        old = json.loads(stored) if stored else []
        if hits == old:  # hits unchanged (most posts with hits): so are their blocking keys
            same.append(post_id)
            continue
        changed.append({"_id": post_id, "check_hits": hits, "checked_version": version, "checked_at": now})
        before = _block_keys(old)
        if state is PostState.live and _block_keys(hits) != before:
            moved[post_id] = (hits, before)
    judge: dict[int, list[tuple[PostView, frozenset[str]]]] = {}
    for post_id, v in sorted(views_by_id(moved).items()):
        v.check_hits, before = moved[post_id]
        v.checked_version = version
        judge.setdefault(v.account_id, []).append((v, before))
    if changed:
        table = LivePost.__table__
        db.session.connection().execute(sa.update(table).where(table.c.id == sa.bindparam("_id")), changed)
    _expire_loaded(r[0] for r in rows)
    _mark_checked(same, version, now)
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
    summary["more"] = len(rows) == batch
    summary["last_id"] = rows[-1][0] if rows else after_id
    db.session.flush()
    return summary


def _mark_checked(ids: list[int], version: str, now: datetime) -> None:
    """Set the dictionary version of posts whose hits did not change. On PostgreSQL one array
    parameter (``id = ANY(:ids)``): an IN list of 1,000 parameters cost the driver more CPU to
    prepare than the server to run; elsewhere IN lists of 1,000."""
    if not ids:
        return
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("UPDATE live_posts SET checked_version = :v, checked_at = :now WHERE id = ANY(:ids)"),
            {"v": version, "now": now, "ids": ids},
        )
        return
    for i in range(0, len(ids), 1000):
        db.session.execute(
            sa.update(LivePost)
            .where(LivePost.id.in_(ids[i : i + 1000]))
            .values(checked_version=version, checked_at=now)
            .execution_options(synchronize_session=False)
        )
