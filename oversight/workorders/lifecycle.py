"""The work-order lifecycle: every change of ``WorkOrder.status`` goes through this module.

``TABLE`` is the one table of allowed moves; ``transition(order, to, …)`` checks the move,
assigns the status, appends the order's history row and records the audit entry. Who may make a
move (the unit's operator, the office, the scheduler) is the caller's business
(:mod:`oversight.workorders.service`). Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit import service as audit
from common.db import utcnow
from common.statemachine import Edge, IllegalTransition, TransitionTable
from extensions import db
from oversight.workorders.models import (
    OPEN_STATUSES,
    WORK_ORDER_STATUS_LABELS,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
)

__all__ = ["INITIAL", "TABLE", "Edge", "IllegalTransition", "allowed", "transition"]

S = WorkOrderStatus
INITIAL = S.issued
TERMINAL = (S.accepted, S.verified, S.cancelled)
UNIT_AND_OFFICE = (S.issued, S.returned, S.submitted)


def _edges() -> tuple[Edge[WorkOrderStatus], ...]:
    return (
        Edge(S.issued, S.submitted, "workorder:feedback", "单位提交整改反馈", "feedback"),
        Edge(S.returned, S.submitted, "workorder:feedback", "单位再次提交整改反馈", "feedback"),
        Edge(S.submitted, S.rechecking, "workorder:recheck:request", "可自动复查的问题：提交反馈后自动复查", "recheck"),
        Edge(S.submitted, S.accepted, "workorder:accept", "网信办验收通过（问题线索办结）", "accept"),
        Edge(S.submitted, S.returned, "workorder:return", "网信办退回（须写理由）", "return"),
        Edge(S.rechecking, S.verified, "workorder:verify", "自动复查通过（问题线索办结）", "verify"),
        Edge(S.rechecking, S.returned, "workorder:recheck:failed", "自动复查仍发现问题，退回单位", "recheck_failed"),
        Edge(
            S.rechecking,
            S.submitted,
            "workorder:recheck:unavailable",
            "复查无法完成，转网信办人工审核",
            "recheck_error",
        ),
        # The monitoring, inspection or discovery saw the problem gone before anyone answered.
        *(Edge(s, S.verified, "workorder:verify", "监测/巡检/发现已确认问题消除", "verify") for s in UNIT_AND_OFFICE),
        *(Edge(s, S.cancelled, "workorder:cancel", "问题线索被排除（误报）", "cancel") for s in OPEN_STATUSES),
        # A closed finding reopened on new evidence and confirmed again: the same order, a new deadline.
        *(Edge(s, S.issued, "workorder:reissue", "问题线索重新打开后再次确认", "reissue") for s in TERMINAL),
    )


TABLE: TransitionTable[WorkOrderStatus] = TransitionTable("整改工单", WORK_ORDER_STATUS_LABELS, _edges())
allowed = TABLE.allowed


def transition(
    order: WorkOrder,
    to: WorkOrderStatus,
    *,
    actor: Any = None,
    actor_label: str | None = None,
    text: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> WorkOrderEvent:
    """Move ``order`` to ``to``: check the table (``IllegalTransition`` before anything changes),
    assign, append the history row, record the audit entry. Flushes."""
    current = order.status
    move = TABLE.edge(current, to)
    order.status = to
    if to in TERMINAL:
        order.closed_at = utcnow()
    event = WorkOrderEvent(
        order=order,
        kind=move.event,
        from_status=current.value,
        to_status=to.value,
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "username", None) or "system",
        text=text,
        evidence=dict(evidence or {}),
        at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    after: dict[str, Any] = {"status": to.value}
    if text:
        after["text"] = text
    if evidence:
        after["evidence"] = dict(evidence)
    audit.record(
        move.audit,
        order,
        before={"status": current.value},
        after=after,
        actor=actor,
        actor_label=actor_label,
    )
    return event


if __name__ == "__main__":  # python -m oversight.workorders.lifecycle: the table for docs/workorders.md
    print(TABLE.markdown())  # noqa: T201
