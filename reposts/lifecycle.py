"""The repost-target lifecycle: every change of ``RepostTarget.status`` goes through this module.

``TABLE`` is the one table of allowed moves; ``transition(target, to, …)`` checks the move,
assigns the status and records the audit entry. Who may make a move (the unit's operator, the
office, the sweep) is :mod:`reposts.service`'s and :mod:`reposts.completion`'s business. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit import service as audit
from common.statemachine import Edge, IllegalTransition, TransitionTable
from reposts.models import TARGET_STATUS_LABELS, RepostTarget, RepostTargetStatus

__all__ = ["INITIAL", "TABLE", "Edge", "IllegalTransition", "allowed", "transition"]

S = RepostTargetStatus
INITIAL = S.pending


def _edges() -> tuple[Edge[RepostTargetStatus], ...]:
    return (
        Edge(S.pending, S.done, "repost:done", "截止前发现转载（本平台发布或巡检发现）", "done"),
        Edge(S.pending, S.done_late, "repost:done_late", "截止后才发现的转载（核对前已过期限）", "done"),
        Edge(S.overdue, S.done_late, "repost:done_late", "逾期后完成转载", "done"),
        Edge(S.pending, S.overdue, "repost:overdue", "期限已过仍未完成（定时核对）", "overdue"),
        Edge(S.pending, S.not_applicable, "repost:not_applicable", "单位说明不适用（须写理由）", "not_applicable"),
        Edge(S.not_applicable, S.pending, "repost:reopen", "网信办不认可不适用说明，退回单位", "reopen"),
        Edge(S.pending, S.cancelled, "repost:cancelled", "网信办撤销任务（须写理由）", "cancel"),
        Edge(S.overdue, S.cancelled, "repost:cancelled", "网信办撤销任务（须写理由），逾期未完成不再计入", "cancel"),
        Edge(S.overdue, S.pending, "repost:deadline_extended", "延后截止时间，逾期未完成重新计为待完成", "extend"),
        Edge(S.done_late, S.done, "repost:deadline_extended", "网信办延后截止时间，完成时间在新期限内", "extend"),
        Edge(S.cancelled, S.pending, "repost:readded", "网信办重新加入此前移除的单位（任务未撤销）", "readd"),
    )


TABLE: TransitionTable[RepostTargetStatus] = TransitionTable("转载任务", TARGET_STATUS_LABELS, _edges())
allowed = TABLE.allowed


def transition(
    target: RepostTarget,
    to: RepostTargetStatus,
    *,
    actor: Any = None,
    actor_label: str | None = None,
    reason: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> Edge[RepostTargetStatus]:
    """Move ``target`` to ``to``: check the table (``IllegalTransition`` before anything changes),
    assign, record the audit entry (with the reason or the evidence)."""
    current = target.status
    move = TABLE.edge(current, to)
    target.status = to
    after: dict[str, Any] = {
        "status": to.value,
        "task_id": target.task_id,
        "unit_id": target.unit_id,
        "platform": target.platform.value,
    }
    if reason:
        after["reason"] = reason
    if evidence:
        after["evidence"] = dict(evidence)
    audit.record(
        move.audit, target, before={"status": current.value}, after=after, actor=actor, actor_label=actor_label
    )
    return move


if __name__ == "__main__":  # python -m reposts.lifecycle: the table for docs/reposts.md
    print(TABLE.markdown())  # noqa: T201
