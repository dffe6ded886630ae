"""考评's roll-ups and export: pass rates per unit and for the county (the caller's scope) with a
quarter trend, and the score table of a period as a formal workbook. Read-only. Units are listed
by name; nothing is ranked by followers (DOMAIN.md R27).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from common.db import utcnow
from common.formal_sheet import Column, FormalSheet, workbook
from extensions import db
from oversight.scoring.models import (
    AccountScore,
)
from oversight.scoring.service import _QUARTER, Period, latest_scores, previous_quarters, score_dict
from registry.models import Unit

# ----------------------------------------------------------------------------- roll-ups


def _summarise(scores: list[AccountScore]) -> dict[str, Any]:
    n = len(scores)
    passed = sum(1 for s in scores if s.passed)
    vetoed = [s for s in scores if s.vetoed]
    totals = [s.total for s in scores if not s.vetoed]
    reasons = Counter(v["label"] for s in vetoed for v in s.veto_items)
    return {
        "accounts": n,
        "passed": passed,
        "failed": n - passed,
        "vetoed": len(vetoed),
        "pass_rate": round(passed / n, 4) if n else None,
        "average": round(sum(totals) / len(totals), 1) if totals else None,
        "veto_reasons": dict(sorted(reasons.items())),
    }


def rollup(period: Period, unit_ids: set[int] | None, trend_quarters: int = 4) -> dict[str, Any]:
    """Per unit and for the county (the caller's scope): pass rates and a quarter trend.

    Units are listed by name; nothing is ranked by followers (there is no follower figure here).
    """
    scores = latest_scores(period.key, unit_ids)
    by_unit: dict[int, list[AccountScore]] = defaultdict(list)
    for s in scores:
        by_unit[s.unit_id].append(s)
    names = dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(list(by_unit) or [-1]))).all())
    quarters = previous_quarters(period, trend_quarters) if _QUARTER.match(period.key) else [period]
    trend_scores = {q.key: latest_scores(q.key, unit_ids) for q in quarters}
    units = []
    for unit_id in sorted(by_unit, key=lambda u: (names.get(u, ""), u)):
        row = {"unit_id": unit_id, "unit_name": names.get(unit_id), **_summarise(by_unit[unit_id])}
        row["trend"] = [
            {"period": q.key, "label": q.label, **_rate([s for s in trend_scores[q.key] if s.unit_id == unit_id])}
            for q in quarters
        ]
        units.append(row)
    return {
        "period": period.key,
        "period_label": period.label,
        "county": {
            **_summarise(scores),
            "trend": [{"period": q.key, "label": q.label, **_rate(trend_scores[q.key])} for q in quarters],
        },
        "units": units,
        "rules_versions": sorted({s.rules_version for s in scores}),
    }


def _rate(scores: list[AccountScore]) -> dict[str, Any]:
    n = len(scores)
    passed = sum(1 for s in scores if s.passed)
    return {"accounts": n, "passed": passed, "pass_rate": round(passed / n, 4) if n else None}


# ----------------------------------------------------------------------------- export


def scores_xlsx(period: Period, unit_ids: set[int] | None, issuer: str) -> bytes:
    """The score table of the period (newest score per account) as a workbook a clerk can file."""

    columns = [
        Column("单位", 22),
        Column("账号名称", 22),
        Column("平台", 10),
        Column("单项否决", 28),
        Column("扣分合计", 9, "float"),
        Column("得分", 8, "float"),
        Column("结论", 16),
        Column("原创占比", 9, "percent"),
        Column("更新周数占比", 10, "percent"),
        Column("留言回复率", 10, "percent"),
        Column("三审合规率", 10, "percent"),
        Column("每条检查命中", 10, "float"),
        Column("规则版本", 16),
        Column("计算时间", 17, "datetime"),
    ]
    rows = []
    for s in latest_scores(period.key, unit_ids):
        d = score_dict(s)
        ix = s.indices or {}
        rows.append(
            [
                d["unit_name"],
                d["account_name"],
                d["platform_label"],
                "；".join(v["label"] for v in s.veto_items) or "无",
                d["deducted"],
                s.total,
                d["result_label"],
                ix.get("original_share"),
                ix.get("regularity"),
                (ix.get("interaction") or {}).get("reply_rate"),
                ix.get("review_compliance"),
                ix.get("hits_per_post"),
                s.rules_version,
                s.computed_at,
            ]
        )
    sheet = FormalSheet(
        name="检查指标得分",
        title=f"{period.label}政务新媒体检查指标得分表",
        columns=columns,
        rows=rows,
        issuer=issuer,
        made_at=utcnow(),
        notes=[
            "计分方法：任一单项否决即不合格，不再计分；否则满分 100 分扣分，"
            "各指标扣分不超过该指标分值，低于合格线为不合格。",
            "不设粉丝指标，不按粉丝数排名（中央关于整治“指尖上的形式主义”的要求）。空白表示本期无数据。",
        ],
    )
    return workbook([sheet])
