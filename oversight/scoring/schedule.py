"""Scheduled 考评: the quarter check points and the monthly 抽查 draw, idempotent.

:func:`run` is what the scheduler does each day (``tasks.scoring:run_scheduled``, at
``SCORING_SCHEDULE_HOUR`` Beijing time) and what ``flask scoring run`` does now:

1. **The quarter that ended** (check point = the quarter's end): every account in scope that has
   no score of that quarter taken at the check point yet is scored with the current rules. An
   account that has one (any rules version) is left alone, so a second run, or a rules version
   loaded later, changes nothing; the office recomputes a closed quarter by hand if it wants to.
2. **The running quarter** (provisional, check point = now): at most once per Beijing day, only
   the accounts with no score of the current rules computed today.
3. **The month's 抽查**: on or after day ``SPOT_CHECK_DRAW_DAY`` of a month with no draw yet, the
   system draws the sample (``SPOT_CHECK_PERCENT``, by unit) with a fresh recorded seed.

Each step that changed something writes one audit entry (``scoring:scheduled``, or the draw's
``scoring:spot:draw``) with the actor label ``系统（定时考评）``; a step with nothing to do writes
nothing. Services flush; the task or the CLI commits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit.service import record as audit
from common.db import utcnow
from common.errors import Conflict
from common.timefmt import CN_TZ, day_start_utc
from extensions import db
from oversight.scoring import service, spotcheck
from oversight.scoring.models import AccountScore, SpotCheckDraw

SYSTEM_LABEL = "系统（定时考评）"


def _today(now: datetime) -> date:
    """The Beijing date of ``now`` (naive values are UTC, as the database keeps them)."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return aware.astimezone(CN_TZ).date()


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: date) -> str:
    q = (day.month - 1) // 3 + 1
    return f"{day.year}Q{q - 1}" if q > 1 else f"{day.year - 1}Q4"


def _score_accounts(period: service.Period, accounts: list[Any], now: datetime | None) -> list[AccountScore]:
    row = service.current_rules()
    return [service.score_account(a, period, row, label=SYSTEM_LABEL, now=now) for a in accounts]


def finalize_period(period: service.Period, now: datetime | None = None) -> dict[str, Any]:
    """Score at the period's check point every account that has no check-point score yet.

    Only for a period that has ended (else nothing: the running period is provisional).
    """
    now = now or utcnow()
    if period.end_utc > now:
        return {"period": period.key, "step": "checkpoint", "scored": 0, "skipped": "本期尚未结束"}
    done = set(
        db.session.scalars(
            sa.select(AccountScore.account_id).where(
                AccountScore.period == period.key, AccountScore.checkpoint_at == period.end_utc
            )
        )
    )
    todo = [a for a in service.scorable_accounts() if a.id not in done]
    return _record("checkpoint", period, _score_accounts(period, todo, now), already=len(done))


def refresh_running(period: service.Period, now: datetime | None = None) -> dict[str, Any]:
    """Provisional scores of the running period, once per Beijing day per account."""
    now = now or utcnow()
    row = service.current_rules()
    since = day_start_utc(_today(now))
    done = set(
        db.session.scalars(
            sa.select(AccountScore.account_id).where(
                AccountScore.period == period.key,
                AccountScore.rules_id == row.id,
                AccountScore.computed_at >= since,
            )
        )
    )
    todo = [a for a in service.scorable_accounts() if a.id not in done]
    return _record("provisional", period, _score_accounts(period, todo, now), already=len(done))


def _record(step: str, period: service.Period, scores: list[AccountScore], *, already: int) -> dict[str, Any]:
    summary = {
        "period": period.key,
        "step": step,
        "scored": len(scores),
        "already": already,
        "passed": sum(1 for s in scores if s.passed),
        "vetoed": sum(1 for s in scores if s.vetoed),
        "rules_versions": sorted({s.rules_version for s in scores}),
    }
    if scores:
        audit(
            "scoring:scheduled",
            object_type="account_scores",
            object_id=period.key,
            after=summary,
            actor_label=SYSTEM_LABEL,
        )
    return summary


def draw_month(month: str, now: datetime | None = None) -> dict[str, Any]:
    """The month's 抽查 sample, unless it was drawn already (by a person or an earlier run)."""
    existing = db.session.scalar(sa.select(SpotCheckDraw).where(SpotCheckDraw.month == month))
    if existing is not None:
        return {"month": month, "step": "spot", "drawn": False, "sampled": len(existing.items), "skipped": "本月已抽取"}
    try:
        row = spotcheck.draw(month, None, label=SYSTEM_LABEL)
    except Conflict as exc:  # no running account to sample: nothing to draw this month
        return {"month": month, "step": "spot", "drawn": False, "sampled": 0, "skipped": exc.message}
    return {"month": month, "step": "spot", "drawn": True, "sampled": len(row.items), "seed": row.seed}


def run(now: datetime | None = None, period: str | None = None) -> list[dict[str, Any]]:
    """One scheduled round (or, with ``period``, the steps for that period only). Flushes."""
    now = now or utcnow()
    today = _today(now)
    if period:
        p = service.parse_period(period)
        if len(p.key) == 7:  # a month: its 抽查 draw
            return [draw_month(p.key, now)]
        if p.end_utc <= now:
            return [finalize_period(p, now)]
        return [refresh_running(p, now)]
    steps = [
        finalize_period(service.parse_period(previous_quarter(today)), now),
        refresh_running(service.parse_period(quarter_of(today)), now),
    ]
    if today.day >= int(current_app.config.get("SPOT_CHECK_DRAW_DAY") or 1):
        steps.append(draw_month(today.strftime("%Y-%m"), now))
    return steps


def describe(step: dict[str, Any]) -> str:
    """One line in Chinese for the CLI."""
    if step["step"] == "spot":
        if step["drawn"]:
            return f"{step['month']} 抽查：已抽取 {step['sampled']} 个账号（随机种子 {step['seed']}）"
        return f"{step['month']} 抽查：{step['skipped']}（样本 {step['sampled']} 个），未重抽"
    p = service.parse_period(step["period"])
    what = "检查点计分" if step["step"] == "checkpoint" else "本期暂计分"
    if step.get("skipped"):
        return f"{p.label}{what}：{step['skipped']}"
    return (
        f"{p.label}{what}：新计算 {step['scored']} 个账号（合格 {step['passed']}、单项否决 {step['vetoed']}），"
        f"已有 {step['already']} 个无需重算"
    )
