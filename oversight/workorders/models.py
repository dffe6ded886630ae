"""整改 work orders: one per confirmed finding (table ``work_orders``) and its history
(``work_order_events``: issue, each feedback with its evidence, decisions, re-checks, escalations)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, utcnow
from extensions import db
from oversight.models import Finding
from registry.models import Unit


class WorkOrderStatus(enum.StrEnum):
    issued = "issued"  # 待整改: the unit has to answer
    submitted = "submitted"  # 已反馈: the office decides
    rechecking = "rechecking"  # 自动复查中: the scheduler re-runs the check
    returned = "returned"  # 退回整改: the unit answers again
    accepted = "accepted"  # 已验收 (office)
    verified = "verified"  # 复查通过 (the check no longer finds the problem)
    cancelled = "cancelled"  # 已撤销 (the finding was dismissed)


WORK_ORDER_STATUS_LABELS = {
    WorkOrderStatus.issued: "待整改",
    WorkOrderStatus.submitted: "已反馈，待审核",
    WorkOrderStatus.rechecking: "自动复查中",
    WorkOrderStatus.returned: "退回整改",
    WorkOrderStatus.accepted: "已验收",
    WorkOrderStatus.verified: "复查通过，已办结",
    WorkOrderStatus.cancelled: "已撤销",
}

OPEN_STATUSES = (
    WorkOrderStatus.issued,
    WorkOrderStatus.submitted,
    WorkOrderStatus.rechecking,
    WorkOrderStatus.returned,
)
#: where the unit has to act
UNIT_TURN = (WorkOrderStatus.issued, WorkOrderStatus.returned)


class WorkOrder(TimestampMixin, db.Model):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    status: Mapped[WorkOrderStatus] = mapped_column(default=WorkOrderStatus.issued, index=True)
    due_on: Mapped[date] = mapped_column(index=True)
    due_is_exact: Mapped[bool] = mapped_column(default=True)  # False: counted Monday–Friday (估算)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None]
    # Who the escalation went to: {"unit_ids": [...], "office": true}
    escalated_to: Mapped[dict[str, Any] | None]
    recheck_requested_at: Mapped[datetime | None]
    last_recheck: Mapped[dict[str, Any] | None]

    finding: Mapped[Finding] = relationship()
    unit: Mapped[Unit] = relationship()
    events: Mapped[list[WorkOrderEvent]] = relationship(
        back_populates="order", order_by="WorkOrderEvent.id", cascade="all, delete-orphan"
    )


class WorkOrderEvent(db.Model):
    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # issue / feedback / accept / return / recheck / escalate …
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str | None] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str | None] = mapped_column(sa.Text)
    # feedback: {"files": [{name, content_type, sha256, size}], "links": [...]}; recheck: its outcome
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[WorkOrder] = relationship(back_populates="events")
