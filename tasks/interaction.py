"""Thin 互动回应 tasks: the scheduled sweep queues one poll per monitored account, staggered per
platform at ``MONITOR_RATE_PER_MINUTE`` (the monitoring queue; see tasks/monitoring.py)."""

from __future__ import annotations

import logging

from celery import shared_task

from extensions import db
from oversight.findings import setting_int
from oversight.interaction import service
from oversight.interaction.cli import poll_one
from registry.models import Account
from tasks.monitoring import _fan_out, _push

log = logging.getLogger("govmedia.interaction")


@shared_task(name="tasks.monitoring.interaction_poll", acks_late=True, reject_on_worker_lost=True)
def interaction_poll(account_id: int) -> str:
    outcome = poll_one(account_id)
    if outcome.error:
        log.info("interaction poll of account %s: %s", account_id, outcome.error.get("message"))
    return f"new={outcome.new_items}"


@shared_task(name="tasks.monitoring.interaction_sweep")
def interaction_sweep(ids: list[int] | None = None, horizon: float | None = None) -> int:
    """Queue every monitored account's poll; ``ids``/``horizon``: a continuation (see _fan_out)."""

    wanted = set(ids) if ids is not None else None
    targets = [
        (a.id, a.platform.value)
        for a in (db.session.get(Account, i) for i in service.poll_targets())
        if a is not None and (wanted is None or a.id in wanted)
    ]
    db.session.commit()
    if horizon is None:
        horizon = setting_int("INTERACTION_POLL_HOURS", 6) * 3600.0
    return _fan_out(interaction_poll, interaction_sweep, targets, horizon)


def run_poll() -> None:
    """Scheduled (INTERACTION_POLL_HOURS): queue the interaction sweep."""

    _push(interaction_sweep)
