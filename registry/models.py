"""Registry models: units (单位), accounts (政务新媒体账号), their events and findings."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, one_of, utcnow
from extensions import db


class UnitKind(enum.StrEnum):
    government = "government"  # 县/市人民政府
    department = "department"  # 部门
    town = "town"  # 乡镇/街道
    institution = "institution"  # 事业单位
    other = "other"


class Platform(enum.StrEnum):
    weibo = "weibo"
    wechat = "wechat"
    douyin = "douyin"
    toutiao = "toutiao"
    kuaishou = "kuaishou"
    bilibili = "bilibili"
    xiaohongshu = "xiaohongshu"
    channels = "channels"
    baijiahao = "baijiahao"
    app = "app"
    miniprogram = "miniprogram"
    other = "other"


PUBLISHABLE_PLATFORMS = (Platform.weibo, Platform.wechat, Platform.douyin, Platform.toutiao)


class AccountStatus(enum.StrEnum):
    applying = "applying"
    active = "active"
    changing = "changing"
    suspended = "suspended"
    closing = "closing"
    closed_on_platform = "closed_on_platform"
    closed = "closed"
    rejected = "rejected"


STATUS_LABELS = {
    AccountStatus.applying: "申请中",
    AccountStatus.active: "运行中",
    AccountStatus.changing: "变更审批中",
    AccountStatus.suspended: "已暂停",
    AccountStatus.closing: "拟关停（停更公告期）",
    AccountStatus.closed_on_platform: "平台已注销",
    AccountStatus.closed: "已关停备案",
    AccountStatus.rejected: "已驳回",
}


class Unit(TimestampMixin, db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    kind: Mapped[UnitKind] = mapped_column(default=UnitKind.department)
    region: Mapped[str | None] = mapped_column(sa.String(100))
    # 停用：no new users or accounts; kept for history (accounts, audit, reports).
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"


class Account(TimestampMixin, db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("platform", "platform_uid"),
        # Ledger search (name or uid contains q): trigram GIN indexes on PostgreSQL (pg_trgm);
        # plain indexes of the same names on SQLite (migration a1_registry).
        sa.Index("ix_accounts_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        sa.Index(
            "ix_accounts_platform_uid_trgm",
            "platform_uid",
            postgresql_using="gin",
            postgresql_ops={"platform_uid": "gin_trgm_ops"},
        ),
        # Filtered lists (migration c3_registry): platform+status pages and counts from one
        # index; a search within one platform from GIN (btree_gin + pg_trgm) on PostgreSQL.
        sa.Index("ix_accounts_platform_status_id", "platform", "status", "id"),
        # The 备案逾期 filter: the few accounts with a filing due, newest first, index-only.
        sa.Index(
            "ix_accounts_filing_pending",
            "id",
            "filing_due_on",
            postgresql_where=sa.text("filing_due_on IS NOT NULL"),
            sqlite_where=sa.text("filing_due_on IS NOT NULL"),
        ),
        sa.Index(
            "ix_accounts_platform_name_trgm",
            "platform",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        sa.Index(
            "ix_accounts_platform_uid_search_trgm",
            "platform",
            "platform_uid",
            postgresql_using="gin",
            postgresql_ops={"platform_uid": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(index=True)
    platform_uid: Mapped[str | None] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)  # 主办单位
    supervisor_unit: Mapped[str | None] = mapped_column(sa.String(200))  # 主管单位
    operator_org: Mapped[str | None] = mapped_column(sa.String(200))  # 运维单位
    operator_contract_end: Mapped[date | None]
    person_in_charge: Mapped[str | None] = mapped_column(sa.String(100))  # 负责人（分管领导）
    admin_name: Mapped[str | None] = mapped_column(sa.String(100))  # 管理员
    contact_phone: Mapped[str | None] = mapped_column(sa.String(50))
    contact_email: Mapped[str | None] = mapped_column(sa.String(200))
    verified_subject: Mapped[str | None] = mapped_column(sa.String(200))  # 认证主体 as shown
    verified: Mapped[bool] = mapped_column(default=False)
    profile_url: Mapped[str | None] = mapped_column(sa.String(500))
    purpose: Mapped[str | None] = mapped_column(sa.Text)
    is_primary: Mapped[bool] = mapped_column(default=True)
    duplicate_reason: Mapped[str | None] = mapped_column(sa.Text)
    opened_on: Mapped[date | None]
    filing_number: Mapped[str | None] = mapped_column(sa.String(100))
    filed_on: Mapped[date | None]
    filing_due_on: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[AccountStatus] = mapped_column(default=AccountStatus.applying, index=True)
    pending_change: Mapped[dict[str, Any] | None]
    closure_notice_on: Mapped[date | None]  # 停更公告日期
    closure_notice_url: Mapped[str | None] = mapped_column(sa.String(500))
    closure_requested_on: Mapped[date | None]  # 向平台提交注销申请
    closed_on: Mapped[date | None]  # 平台确认注销
    closure_filed_on: Mapped[date | None]  # 报送系统关停备案
    last_post_at: Mapped[datetime | None]
    posts_7d: Mapped[int | None]
    posts_30d: Mapped[int | None]
    followers: Mapped[int | None]
    monitored_at: Mapped[datetime | None]

    unit: Mapped[Unit] = relationship()
    events: Mapped[list[AccountEvent]] = relationship(back_populates="account", order_by="AccountEvent.id")

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.platform}:{self.platform_uid} {self.status}>"


class AccountEvent(db.Model):
    """Every open/change/close/suspend with field diffs. The registry's history *is* this table."""

    __tablename__ = "account_events"
    __table_args__ = (
        one_of("from_status", [s.value for s in AccountStatus]),
        one_of("to_status", [s.value for s in AccountStatus]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str | None] = mapped_column(sa.String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    filing_date: Mapped[date | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship(back_populates="events")
