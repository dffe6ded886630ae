"""The to-do centre (待办中心): what waits for this user, by role, within their scope.

* 运营人员: rejected drafts, failed or manual deliveries, 整改 work orders to answer, 备案 filings due,
  accounts the daily inspection cannot read because the unit has not authorised them,
  转载任务 still to do (reposts/), comments and messages not yet answered (互动回应, oldest first).
* 审核人员: the queue of each of their stages (the same statement as the review page).
* 网信办: findings to confirm, feedback to decide, overdue work orders, applications to approve.
* 管理员: platform credentials that need re-authorisation.

``sections(user)`` gives each section's count and its first items; ``total(user)`` the sum
(the header's count); ``summary(user)`` the sections with something waiting (the operator's
landing page). Counts are COUNT queries; only the listed items are loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request, url_for

from auth.models import Role, User
from auth.scoping import scope_filter
from common.db import utcnow
from common.timefmt import bj, today_cn
from extensions import db
from moderation import review as workflow
from moderation.models import Content, ContentStatus
from oversight.inspection.models import AccountInspection
from oversight.inspection.service import INSPECTED_STATUSES
from oversight.interaction import service as interaction
from oversight.interaction.models import KIND_LABELS, InteractionItem
from oversight.models import FINDING_LABELS, Finding, FindingStatus
from oversight.workorders.models import UNIT_TURN, WORK_ORDER_STATUS_LABELS, WorkOrder, WorkOrderStatus
from platforms.models import AccountCredential
from publishers.models import DELIVERY_STATUS_LABELS, Delivery, DeliveryStatus
from registry.models import Account, AccountStatus
from reposts import service as reposts

ITEMS_PER_SECTION = 20


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    roles: tuple[Role, ...]
    statement: Callable[[User], sa.Select[Any]]
    item: Callable[[Any], dict[str, Any]]


# ----------------------------------------------------------------------------- statements


def _rejected(user: User) -> sa.Select[Any]:
    return (
        sa.select(Content)
        .where(Content.status == ContentStatus.rejected, scope_filter(user, Content.unit_id))
        .order_by(Content.updated_at.desc(), Content.id.desc())
    )


def _deliveries(user: User) -> sa.Select[Any]:
    return (
        sa.select(Delivery)
        .join(Content, Content.id == Delivery.content_id)
        .where(Delivery.status.in_((DeliveryStatus.failed, DeliveryStatus.manual)), scope_filter(user, Content.unit_id))
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc())
    )


def _orders_to_answer(user: User) -> sa.Select[Any]:
    return (
        sa.select(WorkOrder)
        .where(WorkOrder.status.in_(UNIT_TURN), scope_filter(user, WorkOrder.unit_id))
        .order_by(WorkOrder.due_on, WorkOrder.id)
    )


def _filings(user: User) -> sa.Select[Any]:
    return (
        sa.select(Account)
        .where(Account.filing_due_on.is_not(None), scope_filter(user, Account.unit_id))
        .order_by(Account.filing_due_on, Account.id)
    )


def _review_queue(stage: int) -> Callable[[User], sa.Select[Any]]:
    def statement(user: User) -> sa.Select[Any]:
        return workflow.queue_statement(user, [stage])

    return statement


def _findings_open(user: User) -> sa.Select[Any]:
    return (
        sa.select(Finding)
        .where(Finding.status == FindingStatus.open, scope_filter(user, Finding.unit_id))
        .order_by(Finding.last_seen_at.desc(), Finding.id.desc())
    )


def _feedback_to_decide(user: User) -> sa.Select[Any]:
    return (
        sa.select(WorkOrder)
        .where(WorkOrder.status == WorkOrderStatus.submitted, scope_filter(user, WorkOrder.unit_id))
        .order_by(WorkOrder.updated_at, WorkOrder.id)
    )


def _overdue_orders(user: User) -> sa.Select[Any]:
    return (
        sa.select(WorkOrder)
        .where(WorkOrder.status.in_(UNIT_TURN), WorkOrder.due_on < today_cn(), scope_filter(user, WorkOrder.unit_id))
        .order_by(WorkOrder.due_on, WorkOrder.id)
    )


def _applications(user: User) -> sa.Select[Any]:
    return (
        sa.select(Account)
        .where(
            Account.status.in_((AccountStatus.applying, AccountStatus.changing, AccountStatus.closed_on_platform)),
            scope_filter(user, Account.unit_id),
        )
        .order_by(Account.updated_at, Account.id)
    )


def _unauthorised(user: User) -> sa.Select[Any]:
    """The unit's accounts the last inspection could not read for want of any source (no
    authorisation, contract or import): 请授权账号以纳入巡检."""

    return (
        sa.select(Account)
        .join(AccountInspection, AccountInspection.account_id == Account.id)
        .where(
            AccountInspection.not_checkable_reason == "no_source",
            Account.status.in_(INSPECTED_STATUSES),
            scope_filter(user, Account.unit_id),
        )
        .order_by(Account.id)
    )


def _credentials(user: User) -> sa.Select[Any]:
    return (
        sa.select(Account)
        .join(AccountCredential, AccountCredential.account_id == Account.id)
        .where(AccountCredential.needs_reauth.is_(True), scope_filter(user, Account.unit_id))
        .order_by(Account.id)
    )


def _reposts(user: User) -> sa.Select[Any]:
    return reposts.open_tasks_statement(user)


def _unanswered(user: User) -> sa.Select[Any]:
    return (
        sa.select(InteractionItem)
        .join(Account, Account.id == InteractionItem.account_id)
        .where(InteractionItem.replied_at.is_(None), scope_filter(user, Account.unit_id))
        .order_by(InteractionItem.received_at, InteractionItem.id)
    )


# ----------------------------------------------------------------------------- items


def _content_item(c: Any) -> dict[str, Any]:
    rejection = workflow.open_rejection(c)  # the reason, so the author knows what to change
    detail = "审核退回，请修改后重新提交"
    if rejection is not None and rejection.comment:
        detail = f"{workflow.STAGE_LABELS.get(rejection.stage, '')}退回：{rejection.comment}"
    return {
        "title": c.title,
        "detail": detail,
        "url": url_for("moderation.content_detail", content_id=c.id),
        "at": c.updated_at,
    }


def _delivery_item(d: Any) -> dict[str, Any]:
    detail = f"{d.account.name}：{DELIVERY_STATUS_LABELS[d.status]}"
    if d.last_error_message:
        detail += f"（{d.last_error_message}）"
    return {
        "title": d.content.title,
        "detail": detail,
        "url": url_for("publishers.deliveries_page", content_id=d.content_id),
        "at": d.updated_at,
    }


def _order_item(o: Any) -> dict[str, Any]:
    overdue = o.due_on < today_cn()
    return {
        "title": f"整改工单 #{o.id} {FINDING_LABELS.get(o.finding.kind, o.finding.kind.value)}",
        "detail": f"{o.unit.name} · {WORK_ORDER_STATUS_LABELS[o.status]} · 期限 {o.due_on.isoformat()}",
        "url": url_for("workorders.detail", order_id=o.id),
        "due_on": o.due_on,
        "overdue": overdue,
    }


def _filing_item(a: Any) -> dict[str, Any]:
    return {
        "title": f"账号「{a.name}」待备案",
        "detail": f"报送系统备案期限 {a.filing_due_on.isoformat()}",
        "url": url_for("registry.account_page", account_id=a.id),
        "due_on": a.filing_due_on,
        "overdue": a.filing_due_on < today_cn(),
    }


def _queue_item(c: Any) -> dict[str, Any]:
    overdue = workflow.is_overdue(c, utcnow())
    return {
        "title": c.title,
        "detail": "已超时" if overdue else "待审",
        "url": url_for("moderation.review_page", content_id=c.id),
        "at": c.stage_entered_at,
        "overdue": overdue,
    }


def _finding_item(f: Any) -> dict[str, Any]:
    return {
        "title": f"问题线索 #{f.id} {FINDING_LABELS.get(f.kind, f.kind.value)}",
        "detail": (f.evidence or {}).get("message") or "",
        "url": url_for("findings.detail", finding_id=f.id),
        "at": f.last_seen_at,
    }


def _application_item(a: Any) -> dict[str, Any]:
    what = {AccountStatus.applying: "开设申请", AccountStatus.changing: "变更申请"}.get(a.status, "待关停备案")
    return {
        "title": f"账号「{a.name}」{what}",
        "detail": "",
        "url": url_for("registry.account_page", account_id=a.id),
        "at": a.updated_at,
    }


def _unauthorised_item(a: Any) -> dict[str, Any]:
    return {
        "title": f"请授权账号「{a.name}」以纳入巡检",
        "detail": "每日巡检无法读取该账号（未保存平台凭据，也没有其他数据来源）",
        "url": url_for("registry.account_page", account_id=a.id),
    }


def _repost_item(t: Any) -> dict[str, Any]:
    overdue = t.deadline_at < utcnow()
    return {
        "title": f"转载任务：{t.title}",
        "detail": f"来源：{t.source_name} · 截止 {bj(t.deadline_at)}（北京时间）",
        "url": url_for("reposts.mine"),
        "at": t.issued_at,
        "overdue": overdue,
    }


def _unanswered_item(i: Any) -> dict[str, Any]:
    text = i.text if len(i.text) <= 30 else i.text[:30] + "…"
    return {
        "title": f"「{i.account.name}」{KIND_LABELS[i.kind]}：{text}",
        "detail": f"来自 {i.author_name or '网友'}，请回复或标记已在平台处理",
        "url": url_for("interaction.inbox", account_id=i.account_id),
        "at": i.received_at,
        "overdue": interaction.is_overdue(i, utcnow(), interaction.Thresholds.from_settings()),
    }


def _credential_item(a: Any) -> dict[str, Any]:
    return {
        "title": f"账号「{a.name}」的平台凭据需重新授权",
        "detail": "",
        "url": url_for("registry.account_page", account_id=a.id),
    }


OFFICE = (Role.auditor, Role.admin)
SECTIONS: tuple[Section, ...] = (
    Section("rejected_drafts", "被退回的稿件", (Role.operator,), _rejected, _content_item),
    Section("deliveries", "发布失败或待人工处理", (Role.operator,), _deliveries, _delivery_item),
    Section("orders_to_answer", "待提交的整改反馈", (Role.operator,), _orders_to_answer, _order_item),
    Section("filings", "待备案的账号", (Role.operator,), _filings, _filing_item),
    Section("unauthorised", "待授权以纳入巡检的账号", (Role.operator,), _unauthorised, _unauthorised_item),
    Section("reposts", "待完成的转载任务", (Role.operator,), _reposts, _repost_item),
    Section("unanswered", "未回复的评论和私信", (Role.operator,), _unanswered, _unanswered_item),
    Section("review_1", "初审待审", (Role.reviewer_1,), _review_queue(1), _queue_item),
    Section("review_2", "复审待审", (Role.reviewer_2,), _review_queue(2), _queue_item),
    Section("review_3", "终审待审", (Role.reviewer_3,), _review_queue(3), _queue_item),
    Section("findings_open", "待确认的问题线索", OFFICE, _findings_open, _finding_item),
    Section("feedback_to_decide", "待审核的整改反馈", OFFICE, _feedback_to_decide, _order_item),
    Section("orders_overdue", "逾期未整改的工单", OFFICE, _overdue_orders, _order_item),
    Section("applications", "待审批的开设、变更和关停备案", OFFICE, _applications, _application_item),
    Section("credentials", "需重新授权的平台凭据", (Role.admin,), _credentials, _credential_item),
)


def _count(stmt: sa.Select[Any]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0


def sections(user: User, *, with_items: bool = True) -> list[dict[str, Any]]:
    out = []
    for s in SECTIONS:
        if not user.has_role(*s.roles):
            continue
        stmt = s.statement(user)
        entry: dict[str, Any] = {"key": s.key, "label": s.label, "count": _count(stmt)}
        if with_items:
            entry["items"] = [s.item(row) for row in db.session.scalars(stmt.limit(ITEMS_PER_SECTION))]
        out.append(entry)
    return out


def counts(user: User) -> list[dict[str, Any]]:
    """``sections(user, with_items=False)``, counted once per request: the header's 待办（N） and
    the operator's landing summary (``summary``) share one pass of COUNT queries."""
    if not has_request_context():
        return sections(user, with_items=False)
    # on the request itself, not ``g``: an application context outlives a request where one was
    # already pushed (a shell, a test), and the counts must not outlive it
    cache: dict[int, list[dict[str, Any]]] | None = getattr(request, "govmedia_todo_counts", None)
    if cache is None:
        cache = {}
        setattr(request, "govmedia_todo_counts", cache)  # noqa: B010  an attribute of this one request (no typed field for it)
    if user.id not in cache:
        cache[user.id] = sections(user, with_items=False)
    return cache[user.id]


def total(user: User) -> int:
    return sum(s["count"] for s in counts(user))


def summary(user: User) -> list[dict[str, Any]]:
    """The sections with something waiting, for the page a person lands on (a Jinja global, so
    moderation's 稿件 page shows what to do today without importing notify)."""
    return [s for s in counts(user) if s["count"]]
