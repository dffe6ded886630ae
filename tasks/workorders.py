"""The 整改 work-order sweep: issue missing orders, re-run the checks of orders waiting for an
automatic re-check, escalate overdue orders.

Re-checks reuse the same bodies the monitoring/inspection tasks run (read → commit → ask the
platform with no transaction open → write → commit): the activity check for inactivity findings,
closure verification, the inspection of the account, a discovery search on the platform for an
unregistered account. A resolved finding closes its order as verified
(``oversight.workorders.service.sync_finding``); :func:`recheck_order` then settles the rest.

``run_sweep`` (scheduler, every ``WORKORDER_SWEEP_MINUTES``) queues :func:`sweep_task`;
``flask workorders run`` runs the sweep now in this process.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from celery import shared_task
from flask.cli import with_appcontext

from extensions import db
from oversight import discovery
from oversight.inspection import service as inspection
from oversight.workorders import service
from oversight.workorders.models import WorkOrder, WorkOrderStatus
from tasks import monitoring as monitoring_tasks
from tasks.scheduler import get_app

log = logging.getLogger("govmedia.workorders")


def _run_check(order: WorkOrder) -> dict[str, Any]:
    """Run the order's check; {"ran": bool, "kind", "result", "message"} (no exception escapes)."""

    kind = service.recheck_kind(order)
    finding = order.finding
    account_id = finding.account_id
    if kind in ("activity", "closure", "inspection") and account_id is None:
        return {"ran": False, "kind": kind, "result": "skipped", "message": "问题没有对应的台账账号"}
    try:
        if kind == "activity":
            outcome = monitoring_tasks.monitor_account(account_id).as_dict()  # type: ignore[arg-type]
        elif kind == "closure":
            outcome = monitoring_tasks.verify_closure(account_id).as_dict()  # type: ignore[arg-type]
        elif kind == "inspection":
            outcome = inspection.inspect_account(account_id).as_dict()  # type: ignore[arg-type]
        elif kind == "discovery":
            seen = finding.discovered
            if seen is None:
                return {"ran": False, "kind": kind, "result": "skipped", "message": "没有平台检索记录"}
            platform, name = seen.platform.value, seen.name
            db.session.commit()
            summary = discovery.run_search([platform], [name])
            db.session.commit()
            errors = summary.get("errors") or []
            ok = (summary.get("platforms") or {}).get(platform, {}).get("status") == "ok" and not errors
            outcome = {"result": "checked" if ok else "error", "error": errors[0] if errors else None}
        else:
            return {"ran": False, "kind": kind, "result": "skipped", "message": "该类问题无法自动复查"}
    except Exception as exc:  # a platform or database error must not stop the other orders
        log.exception("re-check of work order %s failed", order.id)
        db.session.rollback()
        return {"ran": False, "kind": kind, "result": "error", "message": f"{type(exc).__name__}: {exc}"[:300]}
    ran = outcome.get("result") == "checked"
    error = outcome.get("error") or {}
    message = (
        None if ran else (error.get("message") if isinstance(error, dict) else str(error)) or outcome.get("result")
    )
    return {"ran": ran, "kind": kind, "result": outcome.get("result"), "message": message}


def recheck_order(order_id: int) -> str | None:
    """Re-check one order in ``rechecking``; returns its status afterwards (None if gone)."""
    order = db.session.get(WorkOrder, order_id)
    if order is None or order.status is not WorkOrderStatus.rechecking:
        return order.status.value if order is not None else None
    outcome = _run_check(order)
    order = db.session.get(WorkOrder, order_id)
    if order is None:
        return None
    service.apply_recheck(order, outcome)
    db.session.commit()
    return order.status.value


def sweep() -> dict[str, Any]:
    """Issue missing orders, run due re-checks, escalate overdue orders; commits."""
    issued = service.ensure_orders()
    db.session.commit()
    rechecked = {order_id: recheck_order(order_id) for order_id in service.due_rechecks()}
    escalated = service.escalate_overdue()
    db.session.commit()
    return {"issued": issued, "rechecked": rechecked, "escalated": escalated}


@shared_task(name="tasks.workorders.sweep")
def sweep_task() -> dict[str, Any]:
    summary = sweep()
    return {k: len(v) for k, v in summary.items()}


def run_sweep() -> None:
    """Scheduled (tasks/jobs.py): queue the sweep on the worker."""

    get_app()
    sweep_task.delay()


@click.group("workorders")
def workorders_cli() -> None:
    """整改工单：补发、自动复查、逾期升级。"""


@workorders_cli.command("run")
@with_appcontext
def run_command() -> None:
    """立即执行一次：为已确认的问题线索补发工单，自动复查待复查的工单，升级逾期工单。"""
    summary = sweep()
    click.echo(
        f"补发工单 {len(summary['issued'])} 个；自动复查 {len(summary['rechecked'])} 个"
        f"（{', '.join(f'#{k}→{v}' for k, v in summary['rechecked'].items()) or '无'}）；"
        f"逾期升级 {len(summary['escalated'])} 个"
    )
