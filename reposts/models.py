"""Repost tasks (转载任务): what the office asks its units to carry, and each unit's answer per platform.

A :class:`RepostTask` names its source (a govmedia content of a superior unit, a URL of a designated
稿源 with its title, or a platform post to forward), the platforms and the deadline. A
:class:`RepostTarget` is one (task, unit, platform) cell of the progress board; its ``status`` is
owned by :mod:`reposts.lifecycle`. :class:`RepostUnitSetting` records whether the office allows a
unit the lighter review for reposts of its superior's approved content (docs/reposts.md).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, utcnow
from extensions import db
from registry.models import Platform


class RepostSourceKind(enum.StrEnum):
    content = "content"  # a govmedia content of a superior unit
    url = "url"  # an article of a designated 稿源 (URL + title)
    platform_post = "platform_post"  # a post on a platform to forward/share


SOURCE_KIND_LABELS = {
    RepostSourceKind.content: "上级单位稿件",
    RepostSourceKind.url: "指定稿源文章",
    RepostSourceKind.platform_post: "平台帖子（转发/分享）",
}


class RepostTargetStatus(enum.StrEnum):
    pending = "pending"  # 待完成
    done = "done"  # 已完成 (by the deadline)
    done_late = "done_late"  # 逾期完成
    not_applicable = "not_applicable"  # 不适用 (with the unit's reason)
    overdue = "overdue"  # 逾期未完成
    cancelled = "cancelled"  # 已撤销 (the office withdrew the task while the target was still open)


TARGET_STATUS_LABELS = {
    RepostTargetStatus.pending: "待完成",
    RepostTargetStatus.done: "已完成",
    RepostTargetStatus.done_late: "逾期完成",
    RepostTargetStatus.not_applicable: "不适用",
    RepostTargetStatus.overdue: "逾期未完成",
    RepostTargetStatus.cancelled: "已撤销",
}
OPEN_STATUSES = (RepostTargetStatus.pending, RepostTargetStatus.overdue)
DONE_STATUSES = (RepostTargetStatus.done, RepostTargetStatus.done_late)
LATE_STATUSES = (RepostTargetStatus.done_late, RepostTargetStatus.overdue)


class RepostTask(TimestampMixin, db.Model):
    __tablename__ = "repost_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    source_kind: Mapped[RepostSourceKind]
    source_content_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contents.id"))
    source_url: Mapped[str | None] = mapped_column(sa.String(500))
    source_title: Mapped[str] = mapped_column(sa.String(200))
    #: who the source is, as the 来源 statement names it (稿源 or the superior unit)
    source_name: Mapped[str] = mapped_column(sa.String(100))
    platforms: Mapped[list[Any]] = mapped_column(default=list)
    deadline_at: Mapped[datetime] = mapped_column(index=True)  # naive UTC
    workdays: Mapped[int | None]  # the deadline was N working days from issue (else a time was given)
    note: Mapped[str | None] = mapped_column(sa.Text)
    parent_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))  # "all units under"
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    issuer_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: 撤销任务: when, by whom and why the office withdrew it (its open targets are then 已撤销)
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)

    source_content = relationship("Content")
    issued_by = relationship("User", foreign_keys=[issued_by_id])
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id])
    issuer_unit = relationship("Unit", foreign_keys=[issuer_unit_id])
    parent_unit = relationship("Unit", foreign_keys=[parent_unit_id])
    targets: Mapped[list[RepostTarget]] = relationship(back_populates="task", order_by="RepostTarget.id")


class RepostTarget(TimestampMixin, db.Model):
    """One unit × platform of a task. ``status`` changes only through :mod:`reposts.lifecycle`."""

    __tablename__ = "repost_targets"
    __table_args__ = (sa.UniqueConstraint("task_id", "unit_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("repost_tasks.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    platform: Mapped[Platform]
    status: Mapped[RepostTargetStatus] = mapped_column(default=RepostTargetStatus.pending, index=True)
    #: the content the unit made from the task (one per task and unit, on every platform's row)
    content_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contents.id"), index=True)
    #: the content's hash right after 一键转为稿件: the lighter review holds only while it is unchanged
    converted_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: when the repost went out (the delivery's sent time or the live post's publish time)
    completed_at: Mapped[datetime | None]
    #: how completion was found: {"via": "delivery"|"live_post", ids, account, url}
    evidence: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)  # 不适用: the unit's reason
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    task: Mapped[RepostTask] = relationship(back_populates="targets")
    unit = relationship("Unit")
    content = relationship("Content")
    decided_by = relationship("User")


class RepostUnitSetting(db.Model):
    """Whether a unit may use the lighter review for reposts of its superior's approved content:
    the office allows it (``light_review_allowed``), then the unit switches it on. Audited."""

    __tablename__ = "repost_unit_settings"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    light_review_allowed: Mapped[bool] = mapped_column(default=False)
    allowed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    allowed_at: Mapped[datetime | None]
    allowed_note: Mapped[str | None] = mapped_column(sa.Text)
    light_review_enabled: Mapped[bool] = mapped_column(default=False)
    enabled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    enabled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit = relationship("Unit")
