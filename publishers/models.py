"""Deliveries (one per content version × account)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin
from extensions import db


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    retrying = "retrying"
    failed = "failed"
    withdrawn = "withdrawn"
    cancelled = "cancelled"
    manual = "manual"  # the platform has no API for it; an operator does it by hand


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.pending: "待发送",
    DeliveryStatus.sending: "发送中",
    DeliveryStatus.sent: "已发布",
    DeliveryStatus.retrying: "等待重试",
    DeliveryStatus.failed: "失败",
    DeliveryStatus.withdrawn: "已撤回",
    DeliveryStatus.cancelled: "已取消",
    DeliveryStatus.manual: "待人工处理",
}


class Delivery(TimestampMixin, db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("content_id", "version", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(sa.ForeignKey("contents.id"), index=True)
    version: Mapped[int]
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(default=DeliveryStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    platform_post_id: Mapped[str | None] = mapped_column(sa.String(128))
    platform_url: Mapped[str | None] = mapped_column(sa.String(500))
    last_error_code: Mapped[str | None] = mapped_column(sa.String(64))
    last_error_message: Mapped[str | None] = mapped_column(sa.Text)
    retryable: Mapped[bool | None]
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    enqueued_at: Mapped[datetime | None]
    sending_started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    manual_done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    content = relationship("Content")
    account = relationship("Account")
