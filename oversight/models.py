"""Oversight's tables: what discovery saw on the platforms, and the findings reconciliation,
monitoring and the ledger checks raise (tables ``discovered_accounts`` and ``findings``)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, utcnow
from extensions import db
from registry.models import Account, Platform, Unit


class FindingKind(enum.StrEnum):
    unregistered = "unregistered"
    closed_but_active = "closed_but_active"
    inactive_14d = "inactive_14d"
    zombie_90d = "zombie_90d"
    name_mismatch = "name_mismatch"
    subject_mismatch = "subject_mismatch"
    duplicate = "duplicate"
    reopened = "reopened"
    inactive_warning = "inactive_warning"
    filing_overdue = "filing_overdue"
    # Inspection of live posts (oversight/inspection/).
    unreviewed_post = "unreviewed_post"
    post_check_hit = "post_check_hit"
    tampered = "tampered"
    post_removed = "post_removed"
    account_unavailable = "account_unavailable"
    # Interaction (oversight/interaction/).
    interaction_overdue = "interaction_overdue"
    no_interaction_channel = "no_interaction_channel"
    # Inspection coverage: no source can read the account (no authorisation, contract or import).
    not_authorised = "not_authorised"


FINDING_LABELS = {
    FindingKind.unregistered: "未备案/体外运行",
    FindingKind.closed_but_active: "关停不彻底",
    FindingKind.inactive_14d: "超14天未更新（单项否决）",
    FindingKind.zombie_90d: "疑似僵尸号（超90天未更新）",
    FindingKind.name_mismatch: "名称不一致",
    FindingKind.subject_mismatch: "认证主体与主办单位不符",
    FindingKind.duplicate: "重复开设",
    FindingKind.reopened: "私自重开",
    FindingKind.inactive_warning: "7天未更新预警",
    FindingKind.filing_overdue: "备案逾期",
    FindingKind.unreviewed_post: "未经三审发布",
    FindingKind.post_check_hit: "已发布内容违规（错敏/涉密/隐私等）",
    FindingKind.tampered: "内容被篡改（与终审稿不一致）",
    FindingKind.post_removed: "内容被平台删除或屏蔽",
    FindingKind.account_unavailable: "平台账号被封禁或注销（台账仍在运行）",
    FindingKind.interaction_overdue: "留言超期未回复（互动回应差）",
    FindingKind.no_interaction_channel: "无有效互动渠道（单项否决）",
    FindingKind.not_authorised: "账号未授权，无法巡检（请授权账号以纳入巡检）",
}


class FindingStatus(enum.StrEnum):
    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"
    resolved = "resolved"


class DiscoveredAccount(db.Model):
    """What discovery saw on a platform (latest snapshot per platform+uid)."""

    __tablename__ = "discovered_accounts"
    __table_args__ = (sa.UniqueConstraint("platform", "platform_uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(index=True)
    platform_uid: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    verified: Mapped[bool | None]
    profile_url: Mapped[str | None] = mapped_column(sa.String(500))
    followers: Mapped[int | None]
    posts_count: Mapped[int | None]
    last_post_at: Mapped[datetime | None]
    region: Mapped[str | None] = mapped_column(sa.String(100))
    source: Mapped[str] = mapped_column(sa.String(32), default="search")
    source_ref: Mapped[str | None] = mapped_column(sa.String(200))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw: Mapped[dict[str, Any] | None]


class Finding(TimestampMixin, db.Model):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FindingKind] = mapped_column(index=True)
    status: Mapped[FindingStatus] = mapped_column(default=FindingStatus.open, index=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(200), unique=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    discovered_id: Mapped[int | None] = mapped_column(sa.ForeignKey("discovered_accounts.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    confidence: Mapped[float] = mapped_column(default=1.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account | None] = relationship()
    discovered: Mapped[DiscoveredAccount | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
