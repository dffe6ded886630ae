"""整改 work orders: issue, the unit's feedback with evidence, the office's decision, automatic
re-check, escalation.

* ``issue`` — a confirmed finding becomes (or, re-confirmed, re-opens) the work order of the
  finding's unit, due on the finding's deadline (working days, :mod:`common.workdays`).
* ``feedback`` — an operator of the unit (or of a unit above it) answers with a text, links and
  files (the media store, ``MEDIA_MAX_MB`` per file, ``WORKORDER_MAX_FILES`` per answer). Where the
  finding's kind can be checked again by the system (``RECHECK_KINDS``) the order goes on to
  ``rechecking`` and the scheduler re-runs the check (``tasks/workorders.py``); otherwise the office
  decides.
* ``accept`` / ``return_order`` — the office (auditor, admin). Accepting resolves the finding.
* ``sync_finding`` — a finding resolved by the system (the account posts again, the post was
  removed…) closes its order as verified; a dismissed finding cancels it. ``findings`` calls it.
* ``apply_recheck`` — after the scheduler re-ran the check: still found → back to the unit
  (returned), could not check → the office decides (submitted).
* ``escalate_overdue`` — the unit's turn and past the deadline: once, to the superior unit and/or
  the office (``WORKORDER_ESCALATE_TO``); ``notify`` turns that into reminders.

Every change of status goes through :mod:`oversight.workorders.lifecycle`. Services flush.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from audit import service as audit
from auth.models import Role, User
from auth.scoping import can_see_unit, scope_filter
from common import media
from common.db import utcnow
from common.errors import Conflict, Forbidden, Invalid
from common.timefmt import today_cn
from common.validation import control_char_problem, http_url
from common.workdays import add_workdays, span_is_exact
from extensions import db
from oversight import findings
from oversight.models import FINDING_LABELS, Finding, FindingKind, FindingStatus
from oversight.workorders import lifecycle
from oversight.workorders.models import (
    OPEN_STATUSES,
    UNIT_TURN,
    WORK_ORDER_STATUS_LABELS,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
)
from registry.models import Unit

S = WorkOrderStatus
OFFICE_ROLES = (Role.auditor, Role.admin)
ANSWER_ROLES = (Role.operator,)
VIEW_ROLES = (Role.operator, Role.auditor, Role.admin)
TEXT_MAX = 5000
LINKS_MAX = 20

#: How the system can check a kind again (tasks/workorders.py runs it): the activity check,
#: closure verification, inspection of the account, or a discovery search on the platform.
RECHECK_KINDS: dict[FindingKind, str] = {
    FindingKind.inactive_warning: "activity",
    FindingKind.inactive_14d: "activity",
    FindingKind.zombie_90d: "activity",
    FindingKind.closed_but_active: "closure",
    FindingKind.reopened: "closure",
    FindingKind.unreviewed_post: "inspection",
    FindingKind.post_check_hit: "inspection",
    FindingKind.tampered: "inspection",
    FindingKind.post_removed: "inspection",
    FindingKind.account_unavailable: "inspection",
    FindingKind.name_mismatch: "inspection",
    FindingKind.subject_mismatch: "inspection",
    FindingKind.not_authorised: "inspection",
    FindingKind.unregistered: "discovery",
}
RECHECK_LABELS = {
    "activity": "重新读取账号最近发布（更新情况）",
    "closure": "重新核查账号是否已在平台注销",
    "inspection": "重新巡检账号资料和发布内容",
    "discovery": "在该平台重新检索并与台账比对",
}
ESCALATE_TARGETS = ("superior", "office", "both")


def setting(name: str, default: Any) -> Any:
    value = current_app.config.get(name) if has_app_context() else None
    return default if value in (None, "") else value


def recheck_kind(order: WorkOrder) -> str | None:
    return RECHECK_KINDS.get(order.finding.kind)


def _event(order: WorkOrder, kind: str, actor: Any, actor_label: str | None, text: str | None, **evidence: Any) -> None:
    db.session.add(
        WorkOrderEvent(
            order=order,
            kind=kind,
            from_status=order.status.value,
            to_status=order.status.value,
            actor_id=getattr(actor, "id", None),
            actor_label=actor_label or getattr(actor, "username", None) or "system",
            text=text,
            evidence=evidence,
            at=utcnow(),
        )
    )


# ----------------------------------------------------------------------------- issue


def order_of(finding: Finding) -> WorkOrder | None:
    return db.session.scalar(sa.select(WorkOrder).where(WorkOrder.finding_id == finding.id))


def issue(finding: Finding, actor: Any = None, *, actor_label: str | None = None) -> WorkOrder | None:
    """The finding's work order, created (or re-issued) for a confirmed finding with a unit.

    None when the finding has no unit (an unregistered account nobody could attribute, confirmed
    without naming a 责任单位: the office follows it up itself). Flushes."""
    if finding.status is not FindingStatus.confirmed or finding.unit_id is None:
        return None
    due = finding.due_on or add_workdays(today_cn(), int(setting("FINDING_DEADLINE_WORKDAYS", 5)))
    exact = span_is_exact(today_cn(), due)
    order = order_of(finding)
    if order is not None:
        if order.status in OPEN_STATUSES:
            return order
        order.due_on, order.due_is_exact = due, exact
        order.escalation_level, order.escalated_at, order.escalated_to = 0, None, None
        order.closed_at = None
        lifecycle.transition(order, S.issued, actor=actor, actor_label=actor_label, text="问题线索再次确认，重新下发")
        return order
    order = WorkOrder(
        finding=finding,
        unit_id=finding.unit_id,
        status=lifecycle.INITIAL,
        due_on=due,
        due_is_exact=exact,
        issued_by_id=getattr(actor, "id", None),
    )
    db.session.add(order)
    db.session.flush()
    text = f"请于 {due.isoformat()} 前完成整改并提交反馈" + ("" if exact else "（期限按周一至周五估算）")
    if finding.reason:
        text = f"整改要求：{finding.reason}。{text}"
    db.session.add(
        WorkOrderEvent(
            order=order,
            kind="issue",
            from_status=None,
            to_status=order.status.value,
            actor_id=getattr(actor, "id", None),
            actor_label=actor_label or getattr(actor, "username", None) or "system",
            text=text,
            evidence={},
            at=utcnow(),
        )
    )
    db.session.flush()
    audit.record(
        "workorder:issue",
        order,
        after={"status": order.status.value, "finding_id": finding.id, "unit_id": order.unit_id, "due_on": due},
        actor=actor,
        actor_label=actor_label,
    )
    return order


def ensure_orders(actor_label: str = "system:workorders") -> list[int]:
    """Issue the missing orders of confirmed findings (those confirmed before work orders existed)."""
    missing = db.session.scalars(
        sa.select(Finding)
        .outerjoin(WorkOrder, WorkOrder.finding_id == Finding.id)
        .where(Finding.status == FindingStatus.confirmed, Finding.unit_id.is_not(None), WorkOrder.id.is_(None))
    ).all()
    return [o.id for f in missing if (o := issue(f, actor_label=actor_label)) is not None]


# ----------------------------------------------------------------------------- the unit answers


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def can_answer(user: User, order: WorkOrder) -> bool:
    return user.has_role(*ANSWER_ROLES) and can_see_unit(user, order.unit_id) and order.status in UNIT_TURN


def can_decide(user: User, order: WorkOrder) -> bool:
    return user.has_role(*OFFICE_ROLES) and order.status is S.submitted


def _clean_text(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) < 2:
        raise Invalid("请填写整改情况说明（至少 2 个字）", details={"text": ["必填，至少 2 个字"]})
    if len(text) > TEXT_MAX:
        raise Invalid(f"整改情况说明不能超过 {TEXT_MAX} 字", details={"text": [f"最多 {TEXT_MAX} 字"]})
    problem = control_char_problem(text, single_line=False)
    if problem:
        raise Invalid(f"整改情况说明{problem}", details={"text": [problem]})
    return text


def _clean_links(links: Iterable[str] | None) -> list[str]:
    out: list[str] = []
    bad: list[str] = []
    for raw in links or ():
        value = (raw or "").strip()
        if not value:
            continue
        (out if http_url(value) else bad).append(value)
    if bad:
        raise Invalid(
            "链接格式不正确（须以 http:// 或 https:// 开头）", details={"links": [f"无效链接：{b[:100]}" for b in bad]}
        )
    if len(out) > LINKS_MAX:
        raise Invalid(f"链接最多 {LINKS_MAX} 个", details={"links": [f"最多 {LINKS_MAX} 个"]})
    return out


def feedback(
    order: WorkOrder, actor: User, text: str | None, *, links: Iterable[str] | None = None, files: Sequence[Upload] = ()
) -> WorkOrder:
    """The unit's 整改反馈. Role and state are checked here (scope by the view: 404). Flushes."""
    if not actor.has_role(*ANSWER_ROLES):
        raise Forbidden("只有本单位的运营人员可以提交整改反馈", code="wrong_role")
    db.session.refresh(order, with_for_update=True)
    if order.status not in UNIT_TURN:
        raise Conflict(
            f"整改工单当前为“{WORK_ORDER_STATUS_LABELS[order.status]}”，现在不能提交反馈",
            code="invalid_state",
            details={"status": order.status.value},
        )
    clean_text = _clean_text(text)
    clean_links = _clean_links(links)
    max_files = int(setting("WORKORDER_MAX_FILES", 10))
    if len(files) > max_files:
        raise Invalid(f"每次反馈最多上传 {max_files} 个文件", details={"files": [f"最多 {max_files} 个"]})
    stored = [
        {"name": f.name, "content_type": media.sniff(f.data), "sha256": media.save(f.data), "size": len(f.data)}
        for f in files
    ]
    lifecycle.transition(
        order, S.submitted, actor=actor, text=clean_text, evidence={"links": clean_links, "files": stored}
    )
    kind = recheck_kind(order)
    if kind is not None:
        order.recheck_requested_at = utcnow()
        lifecycle.transition(
            order, S.rechecking, actor_label="system:workorders", text=f"自动复查：{RECHECK_LABELS[kind]}"
        )
    db.session.flush()
    return order


# ----------------------------------------------------------------------------- the office decides


def _require_office(actor: User) -> None:
    if not actor.has_role(*OFFICE_ROLES):
        raise Forbidden("只有网信办（审计）或管理员可以审核整改反馈", code="wrong_role")


def _require_status(order: WorkOrder, *statuses: WorkOrderStatus, doing: str) -> None:
    if order.status not in statuses:
        raise Conflict(
            f"整改工单当前为“{WORK_ORDER_STATUS_LABELS[order.status]}”，不能{doing}",
            code="invalid_state",
            details={"status": order.status.value},
        )


def accept(order: WorkOrder, actor: User, reason: str | None = None) -> WorkOrder:
    """Accept the unit's feedback: the order is accepted and the finding resolved. Flushes."""

    _require_office(actor)
    db.session.refresh(order, with_for_update=True)
    _require_status(order, S.submitted, doing="验收")
    reason = (reason or "").strip() or "整改反馈已验收"
    lifecycle.transition(order, S.accepted, actor=actor, text=reason)
    if order.finding.status in findings.ACTIVE_STATUSES:
        findings.act(order.finding, "resolve", actor, f"整改验收通过：{reason}")
    return order


def return_order(order: WorkOrder, actor: User, reason: str | None) -> WorkOrder:
    """Send the feedback back to the unit with the office's reason (required). Flushes."""
    _require_office(actor)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid("退回时请写明理由（至少 2 个字）", details={"reason": ["退回必须填写理由"]})
    db.session.refresh(order, with_for_update=True)
    _require_status(order, S.submitted, doing="退回")
    lifecycle.transition(order, S.returned, actor=actor, text=reason)
    return order


def request_recheck(order: WorkOrder, actor: User) -> WorkOrder:
    """The office asks the system to check again (kinds in RECHECK_KINDS). Flushes."""
    _require_office(actor)
    db.session.refresh(order, with_for_update=True)
    _require_status(order, S.submitted, doing="发起自动复查")
    kind = recheck_kind(order)
    if kind is None:
        raise Conflict("该类问题无法自动复查，请人工审核", code="no_recheck")
    order.recheck_requested_at = utcnow()
    lifecycle.transition(order, S.rechecking, actor=actor, text=f"自动复查：{RECHECK_LABELS[kind]}")
    return order


# ----------------------------------------------------------------------------- the system


def sync_finding(finding: Finding, *, actor: Any = None, actor_label: str | None = None) -> WorkOrder | None:
    """Follow the finding: resolved → the open order is verified; dismissed → cancelled;
    confirmed → issued. Called by ``oversight.findings`` after each change. Flushes."""
    if finding.status is FindingStatus.confirmed:
        return issue(finding, actor, actor_label=actor_label)
    order = order_of(finding)
    if order is None or order.status not in OPEN_STATUSES:
        return order
    decision = (finding.evidence or {}).get("decision") or {}
    text = decision.get("reason") or None
    if finding.status is FindingStatus.resolved:
        label = actor_label or (None if actor is not None else decision.get("by"))
        lifecycle.transition(order, S.verified, actor=actor, actor_label=label, text=text)
    elif finding.status is FindingStatus.dismissed:
        lifecycle.transition(order, S.cancelled, actor=actor, actor_label=actor_label, text=text)
    return order


def due_rechecks(limit: int = 100) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(WorkOrder.id)
            .where(WorkOrder.status == S.rechecking)
            .order_by(WorkOrder.recheck_requested_at, WorkOrder.id)
            .limit(limit)
        )
    )


def apply_recheck(order: WorkOrder, outcome: dict[str, Any]) -> WorkOrder:
    """After the check ran (``outcome``: {"ran": bool, "result", "message"}): a resolved finding
    has already verified the order (``sync_finding``); still found → returned; not checked →
    submitted (the office decides). Flushes."""
    db.session.refresh(order)
    db.session.refresh(order.finding)
    order.last_recheck = {**outcome, "at": utcnow().isoformat(timespec="seconds") + "Z"}
    if order.status is not S.rechecking:
        return order
    if order.finding.status is FindingStatus.resolved:
        lifecycle.transition(order, S.verified, actor_label="system:workorders", text="自动复查通过", evidence=outcome)
    elif order.finding.status is FindingStatus.dismissed:
        lifecycle.transition(order, S.cancelled, actor_label="system:workorders", evidence=outcome)
    elif outcome.get("ran"):
        message = (order.finding.evidence or {}).get("message") or FINDING_LABELS.get(order.finding.kind, "")
        lifecycle.transition(
            order,
            S.returned,
            actor_label="system:workorders",
            text=f"自动复查仍发现问题：{message}",
            evidence=outcome,
        )
    else:
        reason = outcome.get("message") or "平台暂时无法读取"
        lifecycle.transition(
            order,
            S.submitted,
            actor_label="system:workorders",
            text=f"自动复查无法完成（{reason}），请网信办人工审核",
            evidence=outcome,
        )
    return order


def escalation_targets(order: WorkOrder) -> dict[str, Any]:
    to = str(setting("WORKORDER_ESCALATE_TO", "both"))
    unit = db.session.get(Unit, order.unit_id)
    superior = unit.parent_id if unit is not None else None
    unit_ids = [superior] if to in ("superior", "both") and superior is not None else []
    # No superior unit (a county government itself): the office is told instead.
    office = to in ("office", "both") or not unit_ids
    return {"unit_ids": unit_ids, "office": office}


def escalate_overdue(today: date | None = None) -> list[int]:
    """Orders past their deadline while the unit has to act, escalated once. Flushes."""
    today = today or today_cn()
    rows = db.session.scalars(
        sa.select(WorkOrder).where(
            WorkOrder.status.in_(UNIT_TURN), WorkOrder.due_on < today, WorkOrder.escalation_level == 0
        )
    ).all()
    done: list[int] = []
    for order in rows:
        targets = escalation_targets(order)
        order.escalation_level = 1
        order.escalated_at = utcnow()
        order.escalated_to = targets
        days = (today - order.due_on).days
        text = f"已超过整改期限（{order.due_on.isoformat()}）{days} 天，升级督办"
        _event(order, "escalate", None, "system:workorders", text, **targets)
        db.session.flush()
        audit.record(
            "workorder:escalate",
            order,
            before={"escalation_level": 0},
            after={"escalation_level": 1, "due_on": order.due_on, **targets},
            actor_label="system:workorders",
        )
        done.append(order.id)
    return done


# ----------------------------------------------------------------------------- reading


def is_overdue(order: WorkOrder, today: date | None = None) -> bool:
    return order.status in UNIT_TURN and order.due_on < (today or today_cn())


#: 整改工单 whose deadline falls within this many days count as 即将到期 (dashboard, 问题线索)
DUE_SOON_DAYS = 3


def due_counts(user: User) -> dict[str, int]:
    """整改工单 ``user`` sees that are not closed; of those waiting for the unit, how many are past
    their deadline and how many are due within :data:`DUE_SOON_DAYS` days (Beijing dates)."""
    today = today_cn()
    still_open = (
        sa.select(sa.func.count())
        .select_from(WorkOrder)
        .where(scope_filter(user, WorkOrder.unit_id), WorkOrder.status.in_(OPEN_STATUSES))
    )
    waiting = still_open.where(WorkOrder.status.in_(UNIT_TURN))
    soon = today + timedelta(days=DUE_SOON_DAYS)
    return {
        "open": db.session.scalar(still_open) or 0,
        "overdue": db.session.scalar(waiting.where(WorkOrder.due_on < today)) or 0,
        "due_soon": db.session.scalar(waiting.where(WorkOrder.due_on >= today, WorkOrder.due_on <= soon)) or 0,
        "soon_days": DUE_SOON_DAYS,
    }


def listing(user: User, q: dict[str, Any]) -> sa.Select[Any]:
    stmt = sa.select(WorkOrder).where(scope_filter(user, WorkOrder.unit_id))
    if q.get("status"):
        stmt = stmt.where(WorkOrder.status == WorkOrderStatus(q["status"]))
    if q.get("open"):
        stmt = stmt.where(WorkOrder.status.in_(OPEN_STATUSES))
    if q.get("overdue"):
        stmt = stmt.where(WorkOrder.status.in_(UNIT_TURN), WorkOrder.due_on < today_cn())
    if q.get("unit_id") is not None:
        stmt = stmt.where(WorkOrder.unit_id == q["unit_id"])
    order = sa.case({s: i for i, s in enumerate(OPEN_STATUSES)}, value=WorkOrder.status, else_=len(OPEN_STATUSES))
    return stmt.order_by(order, WorkOrder.due_on, WorkOrder.id)


def _event_dict(e: WorkOrderEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "by": e.actor_label,
        "text": e.text,
        "links": list((e.evidence or {}).get("links") or []),
        "files": [
            {k: f.get(k) for k in ("name", "content_type", "sha256", "size")}
            for f in (e.evidence or {}).get("files") or []
        ],
        "at": e.at,
    }


def order_dict(order: WorkOrder, user: User | None = None, *, with_events: bool = False) -> dict[str, Any]:
    f = order.finding
    out: dict[str, Any] = {
        "id": order.id,
        "finding_id": f.id,
        "finding_kind": f.kind.value,
        "finding_label": FINDING_LABELS.get(f.kind, f.kind.value),
        "message": (f.evidence or {}).get("message"),
        "unit_id": order.unit_id,
        "unit_name": order.unit.name if order.unit is not None else None,
        "account_id": f.account_id,
        "status": order.status.value,
        "status_label": WORK_ORDER_STATUS_LABELS[order.status],
        "due_on": order.due_on,
        "due_is_exact": order.due_is_exact,
        "overdue": is_overdue(order),
        "escalated": order.escalation_level > 0,
        "escalated_at": order.escalated_at,
        "recheck": recheck_kind(order),
        "recheck_label": RECHECK_LABELS.get(recheck_kind(order) or ""),
        "last_recheck": order.last_recheck,
        "created_at": order.created_at,
        "closed_at": order.closed_at,
    }
    if user is not None:
        actions = []
        if can_answer(user, order):
            actions.append("feedback")
        if can_decide(user, order):
            actions += ["accept", "return"] + (["recheck"] if recheck_kind(order) else [])
        out["actions"] = actions
    if with_events:
        out["events"] = [_event_dict(e) for e in order.events]
    return out


def file_of(order: WorkOrder, sha256: str) -> dict[str, Any] | None:
    """The stored file entry of one of the order's feedback answers, or None."""
    for e in order.events:
        for f in (e.evidence or {}).get("files") or []:
            if f.get("sha256") == sha256:
                return f
    return None
