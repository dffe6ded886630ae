"""Thin inspection tasks (巡检): one Celery task per account, spread over the day.

``run_inspection`` (scheduler, daily) queues ``inspection_sweep``, which staggers one
``inspect`` per inspected account per platform — the i-th account of a platform at
max(i × 60 / INSPECTION_RATE_PER_MINUTE, i × 86400 / N) seconds, so a platform's N accounts are
spread over the whole day and never faster than the rate (monitoring's ``stagger`` and its
continuations beyond the broker's one-hour countdown). More workers on the ``monitoring`` queue
take more accounts at once. ``run_rescan`` (hourly) re-checks stored posts whose dictionary
version is old, in batches, until none is left.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from celery import shared_task

from extensions import db
from oversight.findings import setting_int
from oversight.inspection import service
from tasks.monitoring import MAX_COUNTDOWN_SECONDS, _fan_out, _push

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


@shared_task(name="tasks.inspection.inspection_sweep")
def inspection_sweep(ids: list[int] | None = None, horizon: float | None = None) -> int:
    targets = service.sweep_targets(ids)
    db.session.commit()
    rate = spread_rate(targets, setting_int("INSPECTION_RATE_PER_MINUTE", 30))
    return _fan_out(inspect, inspection_sweep, targets, DAY_SECONDS if horizon is None else horizon, per_minute=rate)


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
        summary = service.rescan(after_id=after_id, shard=(shard[0], shard[1]) if shard else None)
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
