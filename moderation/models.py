"""Content (稿件), its versions, reviews (三审) and automated check reports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, utcnow
from extensions import db


class ContentStatus(enum.StrEnum):
    draft = "draft"
    review_1 = "review_1"
    review_2 = "review_2"
    review_3 = "review_3"
    approved = "approved"
    scheduled = "scheduled"
    publishing = "publishing"
    published = "published"
    partly_failed = "partly_failed"
    failed = "failed"
    withdrawn = "withdrawn"
    rejected = "rejected"


CONTENT_STATUS_LABELS = {
    ContentStatus.draft: "草稿",
    ContentStatus.review_1: "待初审",
    ContentStatus.review_2: "待复审",
    ContentStatus.review_3: "待终审",
    ContentStatus.approved: "已终审",
    ContentStatus.scheduled: "已排期",
    ContentStatus.publishing: "发布中",
    ContentStatus.published: "已发布",
    ContentStatus.partly_failed: "部分失败",
    ContentStatus.failed: "发布失败",
    ContentStatus.withdrawn: "已撤回",
    ContentStatus.rejected: "已退回",
}


class Disclosure(enum.StrEnum):
    """公开属性."""

    active = "active"  # 主动公开
    on_request = "on_request"  # 依申请公开
    withheld = "withheld"  # 不予公开


DISCLOSURE_LABELS = {
    Disclosure.active: "主动公开",
    Disclosure.on_request: "依申请公开",
    Disclosure.withheld: "不予公开",
}


class ContentKind(enum.StrEnum):
    news = "news"
    policy = "policy"
    interpretation = "interpretation"  # 解读


CONTENT_KIND_LABELS = {
    ContentKind.news: "新闻动态",
    ContentKind.policy: "政策文件",
    ContentKind.interpretation: "政策解读",
}

content_targets = sa.Table(
    "content_targets",
    db.metadata,
    sa.Column("content_id", sa.ForeignKey("contents.id"), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), primary_key=True),
)


class Content(TimestampMixin, db.Model):
    __tablename__ = "contents"
    # GET /contents lists newest-changed first: read the index in order instead of sorting rows.
    __table_args__ = (sa.Index("ix_contents_updated_at_id", "updated_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    summary: Mapped[str | None] = mapped_column(sa.String(500))
    media: Mapped[list[Any]] = mapped_column(default=list)
    disclosure: Mapped[Disclosure] = mapped_column(default=Disclosure.active)
    disclosure_reason: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[ContentKind] = mapped_column(default=ContentKind.news)
    policy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contents.id"))  # 解读 → 政策
    overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    publish_at: Mapped[datetime | None] = mapped_column(index=True)
    status: Mapped[ContentStatus] = mapped_column(default=ContentStatus.draft, index=True)
    version: Mapped[int] = mapped_column(default=1)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    approved_hash: Mapped[str | None] = mapped_column(sa.String(64))
    approved_version: Mapped[int | None]
    stage_entered_at: Mapped[datetime | None]
    warnings_acknowledged: Mapped[bool] = mapped_column(default=False)
    withdraw_reason: Mapped[str | None] = mapped_column(sa.Text)

    targets = relationship("Account", secondary=content_targets, lazy="selectin")
    author = relationship("User")
    unit = relationship("Unit")
    policy: Mapped[Content | None] = relationship(remote_side=[id])
    reviews: Mapped[list[Review]] = relationship(back_populates="content", order_by="Review.id")


class ContentVersion(db.Model):
    """Snapshot of what a version said, so reviewers can diff against the previous one."""

    __tablename__ = "content_versions"
    __table_args__ = (sa.UniqueConstraint("content_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(sa.ForeignKey("contents.id"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body_html: Mapped[str] = mapped_column(sa.Text)
    body_text: Mapped[str] = mapped_column(sa.Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecision(enum.StrEnum):
    """What a ``Review`` row records. ``submit`` is the author's step into the review (stage 0).

    Stored as VARCHAR(32) (``native_enum=False``) with the CHECK constraint
    ``ck_reviews_reviewdecision`` (migrations f6_enum_checks, h18_light): a new value needs a
    migration. ``skipped`` marks a stage omitted under the lighter review (moderation.light_review).
    """

    submit = "submit"
    approve = "approve"
    reject = "reject"
    skipped = "skipped"  # stages 1–2 of a lighter review (moderation.light_review), written at submit


REVIEWER_DECISIONS = (ReviewDecision.approve, ReviewDecision.reject)
#: What counts as a stage passed (the review steps, voiding, 三审 compliance in reports and scoring):
#: a reviewer's approval, or a stage omitted under a lighter review the office allowed — such rows
#: are written only when the permission held at submit (moderation.light_review).
PASSING_DECISIONS = (ReviewDecision.approve, ReviewDecision.skipped)
REVIEW_DECISION_LABELS = {
    ReviewDecision.submit: "提交审核",
    ReviewDecision.approve: "通过",
    ReviewDecision.reject: "退回",
    ReviewDecision.skipped: "已省略（简化审核）",
}
SUBMIT_STAGE = 0  # Review.stage of a submit row; 1–3 are 初审/复审/终审


class Review(db.Model):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(sa.ForeignKey("contents.id"), index=True)
    version: Mapped[int]
    stage: Mapped[int]
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[ReviewDecision]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    voided: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    content: Mapped[Content] = relationship(back_populates="reviews")
    reviewer = relationship("User")


class CheckReport(db.Model):
    __tablename__ = "check_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(sa.ForeignKey("contents.id"), index=True)
    version: Mapped[int]
    findings: Mapped[list[Any]] = mapped_column(default=list)
    blocking: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)
