"""考评 tables: rules versions, indicator scores per account and period, the office's recorded
fraud decisions (a veto item), and the monthly 抽查 draws with the checker's results.

Times are naive UTC as everywhere in the database; pages show Beijing time.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import utcnow
from extensions import db
from registry.models import Account, Unit


class ScoringRules(db.Model):
    """One loaded version of the rules file. Rows are never changed: a new file is a new row;
    the newest row is the one new scores use."""

    __tablename__ = "scoring_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict[str, Any]]
    text: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
    loaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    loaded_by_label: Mapped[str] = mapped_column(sa.String(100), default="系统")
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountScore(db.Model):
    """The indicator score of one account for one period under one rules version."""

    __tablename__ = "account_scores"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "period", "rules_id"),
        sa.Index("ix_account_scores_period_unit", "period", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(sa.String(8))  # 2026Q4 or 2026-11
    period_start: Mapped[date]
    period_end: Mapped[date]
    checkpoint_at: Mapped[datetime]
    rules_id: Mapped[int] = mapped_column(sa.ForeignKey("scoring_rules.id"))
    rules_version: Mapped[str] = mapped_column(sa.String(40))
    vetoed: Mapped[bool]
    veto_items: Mapped[list[Any]] = mapped_column(default=list)
    deductions: Mapped[list[Any]] = mapped_column(default=list)
    indicators: Mapped[list[Any]] = mapped_column(default=list)
    total: Mapped[float]
    passed: Mapped[bool]
    data_gaps: Mapped[list[Any]] = mapped_column(default=list)
    indices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_by_label: Mapped[str] = mapped_column(sa.String(100), default="系统")

    account: Mapped[Account] = relationship()
    unit: Mapped[Unit] = relationship()
    rules: Mapped[ScoringRules] = relationship()


class FraudKind(enum.StrEnum):
    bought_followers = "bought_followers"
    forced_likes = "forced_likes"
    fake_data = "fake_data"
    other = "other"


FRAUD_LABELS = {
    FraudKind.bought_followers: "购买粉丝",
    FraudKind.forced_likes: "强制点赞、转发",
    FraudKind.fake_data: "虚报更新或互动数据",
    FraudKind.other: "其他弄虚作假",
}


class FraudRecord(db.Model):
    """An office decision that an account committed fraud (veto item R12). Revoking keeps the row."""

    __tablename__ = "scoring_fraud_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    kind: Mapped[FraudKind]
    decided_on: Mapped[date]
    decision_ref: Mapped[str | None] = mapped_column(sa.String(200))  # 认定文书或会议纪要
    note: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.Text)

    account: Mapped[Account] = relationship()


class SpotCheckDraw(db.Model):
    """One month's 抽查 sample: drawn by the system from a recorded seed, reproducible."""

    __tablename__ = "spot_check_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), unique=True)  # 2026-12
    seed: Mapped[str] = mapped_column(sa.String(64))
    share: Mapped[float]
    stratified: Mapped[bool] = mapped_column(default=True)
    population: Mapped[int]
    #: the population the sample was drawn from (unit id → account ids), to re-draw and verify
    population_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[SpotCheckItem]] = relationship(back_populates="draw", order_by="SpotCheckItem.id")


class SpotCheckResult(enum.StrEnum):
    passed = "passed"
    failed = "failed"


SPOT_RESULT_LABELS = {SpotCheckResult.passed: "合格", SpotCheckResult.failed: "不合格"}


class SpotCheckItem(db.Model):
    """One sampled account and the checker's result."""

    __tablename__ = "spot_check_items"
    __table_args__ = (sa.UniqueConstraint("draw_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("spot_check_draws.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    result: Mapped[SpotCheckResult | None]
    problems: Mapped[str | None] = mapped_column(sa.Text)
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]

    draw: Mapped[SpotCheckDraw] = relationship(back_populates="items")
    account: Mapped[Account] = relationship()
    unit: Mapped[Unit] = relationship()
