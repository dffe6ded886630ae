"""Thin monitoring tasks: load by id, run the registry services, commit between the steps.

Scheduler entry points (``tasks.monitoring:run_activity`` …, see tasks/jobs.py) only push one
Celery task each; the sweep tasks then enqueue one task per account, staggered per platform at
``MONITOR_RATE_PER_MINUTE`` (:func:`stagger`) so that checks rarely meet the rate limit. Every check is read →
commit → ask the platform (no transaction open) → write → commit, as on SQLite any open
transaction holds the database's write lock.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from kombu.exceptions import OperationalError

from auth.models import User
from extensions import db
from oversight import discovery, monitoring
from oversight.findings import setting_int
from tasks.scheduler import get_app

log = logging.getLogger("govmedia.monitoring")

# Rate-limit waits longer than this are not retried by this task: the next scheduled sweep
# checks the account again.
MAX_COUNTDOWN_SECONDS = 3600
# Closure verification runs daily (tasks/jobs.py): its checks must fit before the next one.
CLOSURE_HORIZON_SECONDS = 24 * 3600.0


# ----------------------------------------------------------------------------- bodies (also used by tests)


def monitor_account(account_id: int, *, max_wait: float = 0.0) -> monitoring.CheckOutcome:
    """Activity check of one account (what ``check_activity`` runs)."""
    probe = monitoring.prepare_probe(account_id)
    db.session.commit()
    if probe is None:
        return monitoring.CheckOutcome(account_id, "skipped")
    observation = monitoring.fetch_activity(probe, max_wait=max_wait)
    outcome = monitoring.apply_activity(observation)
    db.session.commit()
    return outcome


def verify_closure(account_id: int, *, max_wait: float = 0.0) -> monitoring.CheckOutcome:
    """Closure verification of one closed account (what ``check_closure`` runs)."""
    probe = monitoring.prepare_probe(account_id)
    db.session.commit()
    if probe is None:
        return monitoring.CheckOutcome(account_id, "skipped")
    observation = monitoring.fetch_closure(probe, max_wait=max_wait)
    outcome = monitoring.apply_closure(observation)
    db.session.commit()
    return outcome


def discovery_search(platforms: list[str] | None = None, actor: Any = None) -> dict[str, Any]:
    """Platform search → record → reconcile (what ``discovery_run`` runs)."""
    summary = discovery.run_search(platforms, actor=actor)
    db.session.commit()
    return summary


def _retry_later(task: Any, outcome: monitoring.CheckOutcome) -> None:
    if outcome.result == "deferred" and outcome.retry_after is not None:
        countdown = outcome.retry_after + random.uniform(0, 5)
        if countdown <= MAX_COUNTDOWN_SECONDS:
            task.apply_async((outcome.account_id,), countdown=countdown)


# ----------------------------------------------------------------------------- Celery tasks


@shared_task(name="tasks.monitoring.check_activity", acks_late=True, reject_on_worker_lost=True)
def check_activity(account_id: int) -> str:
    outcome = monitor_account(account_id)
    if outcome.error:
        log.warning("activity check of account %s: %s", account_id, outcome.error.get("message"))
    _retry_later(check_activity, outcome)
    return outcome.result


@shared_task(name="tasks.monitoring.check_closure", acks_late=True, reject_on_worker_lost=True)
def check_closure(account_id: int) -> str:
    outcome = verify_closure(account_id)
    if outcome.error:
        log.warning("closure check of account %s: %s", account_id, outcome.error.get("message"))
    _retry_later(check_closure, outcome)
    return outcome.result


@dataclass(frozen=True)
class SweepPlan:
    """When each check of a sweep runs, so that a platform's checks arrive at its rate."""

    now: list[tuple[int, float]]  # (account id, countdown in seconds), within this window
    later: list[int]  # after this window, before the horizon: the sweep's continuation
    dropped: list[int]  # beyond the horizon: left to the next scheduled sweep


def stagger(
    targets: Sequence[tuple[int, str]],
    per_minute: int,
    *,
    window: float = MAX_COUNTDOWN_SECONDS,
    horizon: float | None = None,
) -> SweepPlan:
    """Spread checks per platform at the monitoring rate (pure).

    The i-th account of a platform (in ``targets`` order) is due at ``i * 60 / per_minute``
    seconds. Those due within ``window`` (countdowns we may schedule: the broker's visibility
    timeout) are queued now with that countdown; those due later but before ``horizon`` (the
    next scheduled sweep) go to a continuation sweep queued ``window`` seconds from now, which
    plans them again from 0; the rest wait for the next scheduled sweep (least recently
    monitored first, so they lead it). ``per_minute`` ≤ 0 means no limit: everything now.
    """
    spacing = 60.0 / per_minute if per_minute > 0 else 0.0
    seen: dict[str, int] = {}
    now: list[tuple[int, float]] = []
    later: list[int] = []
    dropped: list[int] = []
    for account_id, platform in targets:
        i = seen.get(platform, 0)
        seen[platform] = i + 1
        due = round(i * spacing, 3)
        if due < window:
            now.append((account_id, due))
        elif horizon is None or due < horizon:
            later.append(account_id)
        else:
            dropped.append(account_id)
    return SweepPlan(now, later, dropped)


def _fan_out(
    task: Any, sweep: Any, targets: list[tuple[int, str]], horizon: float, per_minute: int | None = None
) -> int:
    """Queue the staggered checks (and the continuation); returns the checks queued.
    ``per_minute``: per platform (default ``MONITOR_RATE_PER_MINUTE``)."""
    rate = setting_int("MONITOR_RATE_PER_MINUTE", 30) if per_minute is None else per_minute
    plan = stagger(targets, rate, horizon=horizon)
    sent = 0
    for account_id, countdown in plan.now:
        try:
            if countdown > 0:
                task.apply_async((account_id,), countdown=countdown, retry=False)
            else:
                task.apply_async((account_id,), retry=False)
        except OperationalError:
            log.warning("broker unavailable; %d monitoring checks wait for the next sweep", len(targets) - sent)
            return sent
        sent += 1
    if plan.later:
        try:
            sweep.apply_async(
                kwargs={"ids": plan.later, "horizon": horizon - MAX_COUNTDOWN_SECONDS},
                countdown=MAX_COUNTDOWN_SECONDS,
                retry=False,
            )
        except OperationalError:
            log.warning("broker unavailable; %d monitoring checks wait for the next sweep", len(plan.later))
    if plan.dropped:
        log.warning(
            "%d monitoring checks do not fit before the next sweep at MONITOR_RATE_PER_MINUTE; they lead it",
            len(plan.dropped),
        )
    return sent


@shared_task(name="tasks.monitoring.activity_sweep")
def activity_sweep(ids: list[int] | None = None, horizon: float | None = None) -> int:
    """Queue every monitored account's check, staggered per platform; ``ids``/``horizon``: a
    continuation of an earlier sweep (the accounts it could not fit in its window)."""
    targets = monitoring.activity_sweep_targets(ids)
    db.session.commit()
    if horizon is None:
        horizon = setting_int("MONITOR_INTERVAL_HOURS", 24) * 3600.0
    return _fan_out(check_activity, activity_sweep, targets, horizon)


@shared_task(name="tasks.monitoring.closure_sweep")
def closure_sweep(ids: list[int] | None = None, horizon: float | None = None) -> int:
    """Queue every closed account's probe, staggered per platform (runs daily)."""
    targets = monitoring.closure_sweep_targets(ids)
    db.session.commit()
    return _fan_out(check_closure, closure_sweep, targets, CLOSURE_HORIZON_SECONDS if horizon is None else horizon)


@shared_task(name="tasks.monitoring.discovery_run")
def discovery_run(platforms: list[str] | None = None, actor_id: int | None = None) -> dict[str, Any]:
    actor = None
    if actor_id is not None:
        actor = db.session.get(User, actor_id)
    summary = discovery_search(platforms, actor=actor)
    return {"findings": summary["findings"], "accounts_seen": summary["accounts_seen"]}


# ----------------------------------------------------------------------------- scheduler entry points


def _push(task: Any) -> None:
    get_app()  # configures the Celery app of this process
    task.delay()


def run_activity() -> None:
    """Scheduled (MONITOR_INTERVAL_HOURS): queue the activity sweep."""
    _push(activity_sweep)


def run_closure() -> None:
    """Scheduled daily: queue closure verification."""
    _push(closure_sweep)


def run_discovery() -> None:
    """Scheduled weekly: queue a platform search run."""
    _push(discovery_run)
