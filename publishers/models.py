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
    held = "held"  # waits for a person to start it (Douyin 代发 rule, DOMAIN.md R36)


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.pending: "待发送",
    DeliveryStatus.sending: "发送中",
    DeliveryStatus.sent: "已发布",
    DeliveryStatus.retrying: "等待重试",
    DeliveryStatus.failed: "失败",
    DeliveryStatus.withdrawn: "已撤回",
    DeliveryStatus.cancelled: "已取消",
    DeliveryStatus.manual: "待人工处理",
    DeliveryStatus.held: "待人工发起",
}


class SendMode(enum.StrEnum):
    """How a WeChat delivery goes out: 发布 (freepublish) or 群发 (mass send to all followers)."""

    publish = "publish"
    mass = "mass"


SEND_MODE_LABELS = {SendMode.publish: "发布（不推送给粉丝）", SendMode.mass: "群发（推送给全部粉丝）"}


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
    #: WeChat 群发's ``msg_data_id`` (the 留言 API's article id); None elsewhere.
    platform_data_id: Mapped[str | None] = mapped_column(sa.String(64))
    last_error_code: Mapped[str | None] = mapped_column(sa.String(64))
    last_error_message: Mapped[str | None] = mapped_column(sa.Text)
    retryable: Mapped[bool | None]
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    enqueued_at: Mapped[datetime | None]
    sending_started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    manual_done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: WeChat only: "mass" (群发) or "publish"/None (发布); chosen per content and target
    send_mode: Mapped[str | None] = mapped_column(sa.String(16))
    #: the person who started this post (Douyin 代发: required unless the account is the unit's own)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    content = relationship("Content")
    account = relationship("Account")


class TargetSendMode(TimestampMixin, db.Model):
    """The operator's choice of 群发/发布 for one WeChat target of one content (before claim)."""

    __tablename__ = "target_send_modes"
    __table_args__ = (sa.UniqueConstraint("content_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(sa.ForeignKey("contents.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    mode: Mapped[str] = mapped_column(sa.String(16))
    chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class AccountPublishSettings(TimestampMixin, db.Model):
    """Per-account publishing settings: Douyin 代发 rules and WeChat 群发 quotas."""

    __tablename__ = "account_publish_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), unique=True)
    #: the unit has recorded that the account is its own or contracted (allows unattended posting)
    own_account: Mapped[bool] = mapped_column(default=False)
    own_account_note: Mapped[str | None] = mapped_column(sa.Text)
    own_account_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    own_account_at: Mapped[datetime | None]
    #: 是否同步: posts from this platform go to the account at all
    sync_enabled: Mapped[bool] = mapped_column(default=True)
    #: 是否删除: a withdrawal here deletes the post there too
    delete_enabled: Mapped[bool] = mapped_column(default=True)
    #: WeChat 群发 quotas (None: the configured default)
    mass_per_day: Mapped[int | None]
    mass_per_month: Mapped[int | None]


class CredentialHealth(TimestampMixin, db.Model):
    """What the last connection test and the expiry check found for one account's credentials."""

    __tablename__ = "credential_health"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), unique=True)
    checked_at: Mapped[datetime | None]
    check_ok: Mapped[bool | None]
    check_code: Mapped[str | None] = mapped_column(sa.String(64))
    check_message: Mapped[str | None] = mapped_column(sa.Text)
    #: WeChat: False after 48001 (unverified account or expired 认证), True after a good call
    api_eligible: Mapped[bool | None]
    last_success_at: Mapped[datetime | None]
    #: the expiry warning the scheduled check wrote (None: nothing to warn about)
    warning: Mapped[str | None] = mapped_column(sa.Text)
    warning_level: Mapped[str | None] = mapped_column(sa.String(16))
    warned_at: Mapped[datetime | None]
