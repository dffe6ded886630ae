"""The figures behind the 考评 charts (trend by quarter, score distribution, veto reasons), per
scope (the county or one unit) and per account, and the specs static/js/dashboard.js draws.

Every number a chart shows is also in a table on the same page (screen readers, no JavaScript).
Nothing here reads or ranks followers (DOMAIN.md R27).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from extensions import db
from oversight.scoring import service
from oversight.scoring.models import AccountScore

#: score bands of the distribution: (label, low inclusive, high exclusive, tone); vetoed first
BANDS = (
    ("60分以下", 0.0, 60.0, "bad"),
    ("60–69分", 60.0, 70.0, "warn"),
    ("70–79分", 70.0, 80.0, "neutral"),
    ("80–89分", 80.0, 90.0, "neutral"),
    ("90–100分", 90.0, 100.01, "ok"),
)
VETO_BAND = "单项否决"


def distribution(scores: list[AccountScore]) -> list[dict[str, Any]]:
    """How many accounts fall in each band; a vetoed account counts as 单项否决, not by points."""
    rows = [{"label": VETO_BAND, "count": sum(1 for s in scores if s.vetoed), "tone": "bad"}]
    for label, low, high, tone in BANDS:
        rows.append(
            {"label": label, "count": sum(1 for s in scores if not s.vetoed and low <= s.total < high), "tone": tone}
        )
    return rows


def veto_reasons(scores: list[AccountScore]) -> list[dict[str, Any]]:
    """Vetoed accounts per veto item (an account vetoed for two items counts under both)."""
    counts = Counter(v["label"] for s in scores if s.vetoed for v in s.veto_items)
    return [{"label": label, "count": n} for label, n in sorted(counts.items())]


def trend(period: service.Period, unit_ids: set[int] | None, quarters: int = 4) -> list[dict[str, Any]]:
    """Per quarter up to the one of ``period`` (oldest first): accounts scored, passed, vetoed,
    pass rate and the average score of the accounts not vetoed (newest score per account)."""
    out = []
    for q in service.previous_quarters(period, quarters):
        scores = service.latest_scores(q.key, unit_ids)
        totals = [s.total for s in scores if not s.vetoed]
        passed = sum(1 for s in scores if s.passed)
        out.append(
            {
                "period": q.key,
                "label": q.label,
                "accounts": len(scores),
                "passed": passed,
                "vetoed": sum(1 for s in scores if s.vetoed),
                "pass_rate": round(passed / len(scores), 4) if scores else None,
                "average": round(sum(totals) / len(totals), 1) if totals else None,
            }
        )
    return out


def account_trend(account_id: int, quarters: int = 8) -> list[dict[str, Any]]:
    """The account's newest score of each quarter it was scored in (oldest first, at most ``quarters``)."""
    rows = db.session.scalars(
        sa.select(AccountScore)
        .where(AccountScore.account_id == account_id, AccountScore.period.like("____Q_"))
        .order_by(AccountScore.period_start, AccountScore.id)
    ).all()
    newest: dict[str, AccountScore] = {}
    for s in rows:
        newest[s.period] = s  # the later id wins
    out = []
    for key in sorted(newest)[-quarters:]:
        s = newest[key]
        out.append(
            {
                "period": key,
                "label": service.parse_period(key).label,
                "score_id": s.id,
                "total": s.total,
                "vetoed": s.vetoed,
                "passed": s.passed,
                "result_label": service.result_label(s),
                "veto_labels": [v["label"] for v in s.veto_items],
                "rules_version": s.rules_version,
            }
        )
    return out


def scope_charts(period: service.Period, unit_ids: set[int] | None) -> dict[str, Any]:
    """Trend, distribution and veto reasons of a scope (the caller's units, or one unit)."""
    scores = service.latest_scores(period.key, unit_ids)
    data = {"trend": trend(period, unit_ids), "distribution": distribution(scores), "veto": veto_reasons(scores)}
    data["specs"] = {
        "trend": {
            "type": "bar",
            "labels": [t["period"] for t in data["trend"]],
            "datasets": [
                {
                    "label": "合格率（%）",
                    "data": [None if t["pass_rate"] is None else round(t["pass_rate"] * 100, 1) for t in data["trend"]],
                    "tone": "ok",
                },
                {"label": "平均分（不含否决）", "data": [t["average"] for t in data["trend"]], "tone": "neutral"},
            ],
        },
        "distribution": {
            "type": "bar",
            "tones": [r["tone"] for r in data["distribution"]],
            "labels": [r["label"] for r in data["distribution"]],
            "datasets": [{"label": "账号数", "data": [r["count"] for r in data["distribution"]]}],
        },
        "veto": {
            "type": "bar",
            "horizontal": True,
            "labels": [r["label"] for r in data["veto"]],
            "datasets": [{"label": "否决账号数", "data": [r["count"] for r in data["veto"]], "tone": "bad"}],
        },
    }
    return data


def account_charts(score: AccountScore) -> dict[str, Any]:
    """One account: its score by quarter, its deductions by indicator this period, and its veto
    reasons over the quarters shown."""
    history = account_trend(score.account_id)
    reasons = Counter(label for h in history for label in h["veto_labels"])
    indicators = [
        {"label": i["label"], "points": i["points"], "applied": i["applied"]} for i in (score.indicators or [])
    ]
    return {
        "trend": history,
        "indicators": indicators,
        "veto": [{"label": label, "count": n} for label, n in sorted(reasons.items())],
        "specs": {
            "trend": {
                "type": "bar",
                "tones": ["bad" if h["vetoed"] or not h["passed"] else "ok" for h in history],
                "labels": [h["period"] for h in history],
                "datasets": [{"label": "得分", "data": [h["total"] for h in history]}],
            },
            "indicators": {
                "type": "bar",
                "horizontal": True,
                "labels": [i["label"] for i in indicators],
                "datasets": [{"label": "扣分", "data": [i["applied"] for i in indicators], "tone": "warn"}],
            },
            "veto": {
                "type": "bar",
                "horizontal": True,
                "labels": sorted(reasons),
                "datasets": [{"label": "否决的季度数", "data": [reasons[r] for r in sorted(reasons)], "tone": "bad"}],
            },
        },
    }
