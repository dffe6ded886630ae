"""Thin monitoring tasks: load by id, run the registry services, commit between the steps.

Scheduler entry points (``tasks.monitoring:run_activity`` …, see tasks/jobs.py) only push one
Celery task each; the sweep tasks then enqueue one task per account. Every check is read →
commit → ask the platform (no transaction open) → write → commit, as on SQLite any open
transaction holds the database's write lock.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import shared_task
from kombu.exceptions import OperationalError

from extensions import db
from registry import discovery, monitoring

log = logging.getLogger("govmedia.monitoring")

# Rate-limit waits longer than this are not retried by this task: the next scheduled sweep
# checks the account again.
MAX_COUNTDOWN_SECONDS = 3600


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


def _fan_out(task: Any, ids: list[int]) -> int:
    sent = 0
    for account_id in ids:
        try:
            task.apply_async((account_id,), retry=False)
        except OperationalError:
            log.warning("broker unavailable; %d monitoring checks wait for the next sweep", len(ids) - sent)
            break
        sent += 1
    return sent


@shared_task(name="tasks.monitoring.activity_sweep")
def activity_sweep() -> int:
    ids = monitoring.activity_targets()
    db.session.commit()
    return _fan_out(check_activity, ids)


@shared_task(name="tasks.monitoring.closure_sweep")
def closure_sweep() -> int:
    ids = monitoring.closure_targets()
    db.session.commit()
    return _fan_out(check_closure, ids)


@shared_task(name="tasks.monitoring.discovery_run")
def discovery_run(platforms: list[str] | None = None, actor_id: int | None = None) -> dict[str, Any]:
    actor = None
    if actor_id is not None:
        from auth.models import User

        actor = db.session.get(User, actor_id)
    summary = discovery_search(platforms, actor=actor)
    return {"findings": summary["findings"], "accounts_seen": summary["accounts_seen"]}


# ----------------------------------------------------------------------------- scheduler entry points


def _push(task: Any) -> None:
    from tasks.scheduler import get_app

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
