"""Thin inspection tasks (巡检): one Celery task per batch of accounts, spread over the day.

``run_inspection`` (scheduler, daily) queues ``inspection_sweep``, which staggers the inspected
accounts per platform — the i-th account of a platform due at
max(i × 60 / INSPECTION_RATE_PER_MINUTE, i × 86400 / N) seconds, so a platform's N accounts are
spread over the whole day and never faster than the rate (monitoring's ``stagger`` and its
continuations beyond the broker's one-hour countdown) — and queues one ``inspect_batch`` per run
of ``INSPECTION_BATCH_SIZE`` consecutive accounts of a platform, at the countdown of its first
account: the batch path of the CLI (``service.inspect_accounts``: prepare all, one commit, read
each, ``apply_many``, one commit). Accounts the platform's limiter defers go again as one batch
after the longest wait. Re-running a batch is harmless (posts by platform id, findings by
fingerprint). More workers on the ``monitoring`` queue take more batches at once.

``run_rescan`` (hourly) re-checks stored posts whose dictionary version is old, in batches, until none is left.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from celery import shared_task
from kombu.exceptions import OperationalError

from extensions import db
from oversight.findings import setting_int
from oversight.inspection import service
from oversight.inspection.rescan import rescan as rescan_posts
from tasks.monitoring import MAX_COUNTDOWN_SECONDS, _push, stagger

log = logging.getLogger("govmedia.inspection")
DAY_SECONDS = 24 * 3600.0


def spread_rate(targets: list[tuple[int, str]], per_minute: int, day: float = DAY_SECONDS) -> int:
    """Per-platform accounts per minute that spreads the largest platform over ``day`` and never
    exceeds ``per_minute`` (≤ 0: no limit, everything now)."""
    if per_minute <= 0:
        return per_minute
    largest = max(Counter(p for _, p in targets).values(), default=0)
    needed = max(1, -(-largest * 60 // int(day)))  # ceil(largest / minutes of the day)
    return min(per_minute, int(needed))


@shared_task(name="tasks.inspection.inspect", acks_late=True, reject_on_worker_lost=True)
def inspect(account_id: int) -> str:
    outcome = service.inspect_account(account_id)
    if outcome.result == "error":
        log.warning("inspection of account %s: %s", account_id, (outcome.error or {}).get("message"))
    wait = outcome.retry_after
    if outcome.result == "deferred" and wait is not None and wait <= MAX_COUNTDOWN_SECONDS:
        inspect.apply_async((account_id,), countdown=wait)
    return outcome.result


@shared_task(name="tasks.inspection.inspect_batch", acks_late=True, reject_on_worker_lost=True)
def inspect_batch(account_ids: list[int]) -> dict[str, int]:
    """Inspect a batch of accounts (one platform's run of the sweep) as the CLI does."""
    outcomes = service.inspect_accounts(list(account_ids), max_wait=0.0, batch=max(1, len(account_ids)))
    deferred = [o for o in outcomes if o.result == "deferred" and o.retry_after is not None]
    for o in outcomes:
        if o.result == "error":
            log.warning("inspection of account %s: %s", o.account_id, (o.error or {}).get("message"))
    again = [o.account_id for o in deferred if (o.retry_after or 0) <= MAX_COUNTDOWN_SECONDS]
    if again:
        wait = max(o.retry_after or 0 for o in deferred if o.account_id in again)
        inspect_batch.apply_async((again,), countdown=wait)
    return dict(Counter(o.result for o in outcomes))


def batch_plan(
    targets: list[tuple[int, str]], per_minute: int, size: int, horizon: float
) -> tuple[list[tuple[list[int], float]], list[int], int]:
    """(batches now as (ids, countdown), ids for the continuation, how many wait for the next
    sweep). Pure: monitoring's per-account ``stagger``, then each platform's consecutive due
    accounts cut into runs of ``size``, each due when its first account is."""
    plan = stagger(targets, per_minute, horizon=horizon)
    platform_of = dict(targets)
    runs: dict[str, list[tuple[list[int], float]]] = {}
    for account_id, due in plan.now:
        mine = runs.setdefault(platform_of[account_id], [])
        if not mine or len(mine[-1][0]) >= size:
            mine.append(([], due))
        mine[-1][0].append(account_id)
    batches = sorted((b for bs in runs.values() for b in bs), key=lambda b: (b[1], b[0][0]))
    return batches, plan.later, len(plan.dropped)


@shared_task(name="tasks.inspection.inspection_sweep")
def inspection_sweep(ids: list[int] | None = None, horizon: float | None = None) -> int:
    """Queue the day's inspection as staggered batches; returns the accounts queued."""
    targets = service.sweep_targets(ids)
    db.session.commit()
    horizon = DAY_SECONDS if horizon is None else horizon
    rate = spread_rate(targets, setting_int("INSPECTION_RATE_PER_MINUTE", 30))
    size = max(1, setting_int("INSPECTION_BATCH_SIZE", 20))
    batches, later, dropped = batch_plan(targets, rate, size, horizon)
    sent = 0
    for account_ids, countdown in batches:
        try:
            inspect_batch.apply_async((account_ids,), countdown=countdown or None, retry=False)
        except OperationalError:
            log.warning("broker unavailable; %d inspections wait for the next sweep", len(targets) - sent)
            return sent
        sent += len(account_ids)
    if later:
        try:
            inspection_sweep.apply_async(
                kwargs={"ids": later, "horizon": horizon - MAX_COUNTDOWN_SECONDS},
                countdown=MAX_COUNTDOWN_SECONDS,
                retry=False,
            )
        except OperationalError:
            log.warning("broker unavailable; %d inspections wait for the next sweep", len(later))
    if dropped:
        log.warning("%d inspections do not fit before the next sweep; they lead it", dropped)
    return sent


@shared_task(name="tasks.inspection.rescan")
def rescan(rounds: int = 20, after_id: int = 0, shard: list[int] | None = None) -> dict[str, Any]:
    """Re-check posts after a dictionary change. Without ``shard``: queue one task per
    ``INSPECTION_RESCAN_WORKERS`` share (ids modulo n), so n worker processes share the work.
    With a shard: up to ``rounds`` batches now (keyset from ``after_id``), then queue itself
    again from where it stopped while posts remain."""
    workers = max(1, setting_int("INSPECTION_RESCAN_WORKERS", 2))
    if shard is None and workers > 1:
        for k in range(workers):
            rescan.apply_async((rounds, 0, [k, workers]))
        return {"shards": workers}
    total: Counter[str] = Counter()
    more = False
    for _ in range(rounds):
        summary = rescan_posts(after_id=after_id, shard=(shard[0], shard[1]) if shard else None)
        db.session.commit()
        total.update({k: summary[k] for k in ("scanned", "created", "resolved")})
        more, after_id = summary["more"], summary["last_id"]
        if not more:
            break
    if more:
        rescan.apply_async((rounds, after_id, shard), countdown=1)
    return dict(total)


def run_inspection() -> None:
    """Scheduled daily: queue the inspection sweep."""

    _push(inspection_sweep)


def run_rescan() -> None:
    """Scheduled hourly: re-check posts after a dictionary change (no-op when none is old)."""

    _push(rescan)
