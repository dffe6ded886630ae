"""Coverage (巡检覆盖): for every account of the ledger, is it checked, stale or not checkable?

* ``checked`` — read successfully within ``INSPECTION_STALE_HOURS`` (default 36);
* ``stale`` — it has a source, but the last successful read is older or there was none yet
  (errors, never run, rate-limited);
* ``not_checkable`` — no source can read it; the reason says why (``sources.NOT_CHECKABLE_LABELS``).

Counts are per platform, per unit and per reason, and always add up to the ledger
(``INSPECTED_STATUSES``) within the user's scope.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from auth.scoping import scope_filter
from common.db import utcnow
from extensions import db
from oversight.findings import iso_cn, setting_int
from oversight.inspection.models import AccountInspection
from oversight.inspection.service import INSPECTED_STATUSES
from oversight.inspection.sources import NOT_CHECKABLE_LABELS, SOURCE_LABELS
from platforms.types import PLATFORM_LABELS
from registry.models import Account, Platform, Unit

STATE_LABELS = {"checked": "已巡检", "stale": "过期未更新", "not_checkable": "无法巡检"}
STALE_REASON_LABELS = {
    "never": "尚未巡检",
    "error": "最近一次读取失败",
    "old": "超过时限未重新读取",
}


def classify(row: Any, fresh_after: datetime) -> tuple[str, str]:
    """(state, reason) of one account from its AccountInspection columns (or None)."""
    if row.not_checkable_reason:
        return "not_checkable", row.not_checkable_reason
    if row.last_success_at is not None and row.last_success_at >= fresh_after:
        return "checked", row.source or ""
    if row.last_attempt_at is None:
        return "stale", "never"
    if row.last_error and (row.last_success_at is None or row.last_attempt_at > row.last_success_at):
        return "stale", "error"
    return "stale", "old"


def reason_label(state: str, reason: str) -> str:
    if state == "not_checkable":
        return NOT_CHECKABLE_LABELS.get(reason, reason)
    if state == "stale":
        return STALE_REASON_LABELS.get(reason, reason)
    return SOURCE_LABELS.get(reason, reason)


def coverage(user: Any, *, unit_id: int | None = None, platform: str | None = None) -> dict[str, Any]:
    now = utcnow()
    hours = setting_int("INSPECTION_STALE_HOURS", 36)
    fresh_after = now - timedelta(hours=hours)
    stmt = (
        sa.select(
            Account.id,
            Account.platform,
            Account.unit_id,
            Unit.name.label("unit_name"),
            AccountInspection.source,
            AccountInspection.not_checkable_reason,
            AccountInspection.last_attempt_at,
            AccountInspection.last_success_at,
            AccountInspection.last_error,
        )
        .join(Unit, Unit.id == Account.unit_id)
        .outerjoin(AccountInspection, AccountInspection.account_id == Account.id)
        .where(Account.status.in_(INSPECTED_STATUSES), scope_filter(user, Account.unit_id))
    )
    if unit_id is not None:
        stmt = stmt.where(Account.unit_id == unit_id)
    if platform:
        stmt = stmt.where(Account.platform == Platform(platform))
    totals: Counter[str] = Counter()
    by_platform: dict[str, Counter[str]] = {}
    by_unit: dict[int, Counter[str]] = {}
    unit_names: dict[int, str] = {}
    reasons: Counter[tuple[str, str]] = Counter()
    ledger = 0
    for row in db.session.execute(stmt):
        ledger += 1
        state, reason = classify(row, fresh_after)
        totals[state] += 1
        by_platform.setdefault(row.platform.value, Counter())[state] += 1
        by_unit.setdefault(row.unit_id, Counter())[state] += 1
        unit_names[row.unit_id] = row.unit_name
        reasons[(state, reason)] += 1

    def counts(c: Counter[str]) -> dict[str, int]:
        return {s: c.get(s, 0) for s in STATE_LABELS} | {"total": sum(c.values())}

    return {
        "generated_at": iso_cn(now),
        "stale_after_hours": hours,
        "ledger": ledger,
        "totals": counts(totals),
        "state_labels": STATE_LABELS,
        "by_platform": [
            {"platform": p, "platform_label": PLATFORM_LABELS.get(Platform(p), p), **counts(c)}
            for p, c in sorted(by_platform.items())
        ],
        "by_unit": [
            {"unit_id": u, "unit_name": unit_names[u], **counts(c)}
            for u, c in sorted(by_unit.items(), key=lambda kv: unit_names[kv[0]])
        ],
        "by_reason": [
            {
                "state": s,
                "state_label": STATE_LABELS[s],
                "reason": r,
                "reason_label": reason_label(s, r),
                "count": n,
            }
            for (s, r), n in sorted(reasons.items())
        ],
    }
