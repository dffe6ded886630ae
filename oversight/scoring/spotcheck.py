"""考评's monthly 抽查: the sample of running accounts drawn once a month from a recorded seed and
population (per unit or overall, at least ``SPOT_CHECK_PERCENT``), reproducible from what is
stored (:func:`verify_draw`), and the results the office records per sampled account.
Services flush; the request, the CLI command or the task commits. Every change is audited.
"""

from __future__ import annotations

import math
import random
import re
import secrets
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from audit.service import record as audit
from auth.models import User
from common.db import utcnow
from common.errors import ApiError, Conflict, NotFound
from common.fields import iso_utc
from common.timefmt import CN_TZ, today_cn
from extensions import db
from oversight.monitoring import MONITORED_STATUSES
from oversight.scoring.models import (
    SPOT_RESULT_LABELS,
    SpotCheckDraw,
    SpotCheckItem,
    SpotCheckResult,
)
from oversight.scoring.service import _MONTH
from platforms.types import PLATFORM_LABELS
from registry.models import Account

# ----------------------------------------------------------------------------- 抽查


_MONTH_ONLY = _MONTH


def spot_share() -> float:
    percent = int(current_app.config.get("SPOT_CHECK_PERCENT") or 50) if has_app_context() else 50
    return min(max(percent, 1), 100) / 100


def draw_sample(population: dict[int, list[int]], seed: str, share: float, stratified: bool) -> list[int]:
    """The sampled account ids: per unit (stratified) or overall, ceil(share × size) each, drawn
    by a PRNG seeded with ``seed`` (and the unit), so the same seed and population give the same
    sample. Pure; sorted output."""
    if stratified:
        picked: list[int] = []
        for unit_id in sorted(population):
            ids = sorted(population[unit_id])
            picked += random.Random(f"{seed}:{unit_id}").sample(ids, math.ceil(share * len(ids)))
        return sorted(picked)
    ids = sorted(i for group in population.values() for i in group)
    return sorted(random.Random(seed).sample(ids, math.ceil(share * len(ids))))


def _population() -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for account_id, unit_id in db.session.execute(
        sa.select(Account.id, Account.unit_id).where(Account.status.in_(MONITORED_STATUSES))
    ):
        groups[unit_id].append(account_id)
    return dict(groups)


def draw(
    month: str | None,
    actor: User | None,
    *,
    seed: str | None = None,
    stratified: bool = True,
    label: str | None = None,
) -> SpotCheckDraw:
    """Draw this month's sample (once per month; audited). ``actor`` None: the scheduled draw."""
    text = (month or "").strip()
    if not _MONTH_ONLY.match(text):
        raise ApiError("抽查月份格式应为 2026-12", details={"month": ["格式应为 YYYY-MM"]})
    if text > today_cn().strftime("%Y-%m"):
        raise ApiError("不能为未来的月份抽查", details={"month": ["不能晚于本月"]})
    if db.session.scalar(sa.select(SpotCheckDraw.id).where(SpotCheckDraw.month == text)) is not None:
        raise Conflict(f"{text} 已经抽取过样本，不能重抽", code="already_drawn")
    seed = (seed or "").strip() or secrets.token_hex(8)
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", seed):
        raise ApiError("随机种子只能包含字母、数字、下划线和连字符（最多 64 位）", details={"seed": ["格式无效"]})
    population = _population()
    if not population:
        raise Conflict("没有在运行的账号可供抽查", code="empty_population")
    share = spot_share()
    picked = draw_sample(population, seed, share, stratified)
    unit_of = {a: u for u, ids in population.items() for a in ids}
    row = SpotCheckDraw(
        month=text,
        seed=seed,
        share=share,
        stratified=stratified,
        population=sum(len(v) for v in population.values()),
        population_ids={str(u): sorted(ids) for u, ids in population.items()},
        drawn_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    for account_id in picked:
        db.session.add(SpotCheckItem(draw_id=row.id, account_id=account_id, unit_id=unit_of[account_id]))
    db.session.flush()
    audit(
        "scoring:spot:draw",
        row,
        after={"month": text, "seed": seed, "share": share, "stratified": stratified, "sampled": len(picked)},
        actor=actor,
        actor_label=label,
    )
    return row


def verify_draw(row: SpotCheckDraw) -> bool:
    """Re-draw from the recorded seed and population: the same accounts?"""
    population = {int(u): ids for u, ids in (row.population_ids or {}).items()}
    return draw_sample(population, row.seed, row.share, row.stratified) == sorted(i.account_id for i in row.items)


def record_result(item: SpotCheckItem, actor: User, result: str | None, problems: str | None) -> SpotCheckItem:
    try:
        value = SpotCheckResult(result)
    except ValueError:
        raise ApiError("抽查结论只能是合格或不合格", details={"result": ["passed 或 failed"]}) from None
    text = (problems or "").strip() or None
    if value is SpotCheckResult.failed and not text:
        raise ApiError("不合格时请写明发现的问题", details={"problems": ["不合格须说明问题"]})
    before = {"result": item.result.value if item.result else None, "problems": item.problems}
    item.result, item.problems = value, text
    item.checked_by_id, item.checked_at = actor.id, utcnow()
    db.session.flush()
    audit("scoring:spot:result", item, before=before, after={"result": value.value, "problems": text}, actor=actor)
    return item


def draw_dict(row: SpotCheckDraw, unit_ids: set[int] | None = None) -> dict[str, Any]:
    items = [i for i in row.items if unit_ids is None or i.unit_id in unit_ids]
    done = [i for i in row.items if i.result is not None]
    return {
        "id": row.id,
        "month": row.month,
        "seed": row.seed,
        "share": row.share,
        "stratified": row.stratified,
        "population": row.population,
        "sampled": len(row.items),
        "sampled_share": round(len(row.items) / row.population, 4) if row.population else None,
        "checked": len(done),
        "failed": sum(1 for i in done if i.result is SpotCheckResult.failed),
        "drawn_at": iso_utc(row.drawn_at),
        "reproducible": verify_draw(row),
        "items": [
            {
                "id": i.id,
                "account_id": i.account_id,
                "account_name": i.account.name,
                "platform_label": PLATFORM_LABELS.get(i.account.platform, i.account.platform.value),
                "unit_id": i.unit_id,
                "unit_name": i.unit.name if i.unit else None,
                "result": i.result.value if i.result else None,
                "result_label": SPOT_RESULT_LABELS.get(i.result) if i.result else "待检查",
                "problems": i.problems,
                "checked_at": iso_utc(i.checked_at),
            }
            for i in items
        ],
    }


def get_draw(month: str) -> SpotCheckDraw:
    row = db.session.scalar(sa.select(SpotCheckDraw).where(SpotCheckDraw.month == month))
    if row is None:
        raise NotFound(f"{month} 尚未抽取样本")
    return row


def month_now() -> str:
    return datetime.now(CN_TZ).strftime("%Y-%m")
