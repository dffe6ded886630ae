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

STATE_LABELS = {"checked": "已巡检", "stale": "巡检数据过期", "not_checkable": "无法巡检"}
STALE_REASON_LABELS = {
    "never": "尚未巡检",
    "error": "最近一次读取失败",
    "old": "超过时限未重新读取",
}
#: What the office needs, per (state, reason), to see the account again: the blind list's last column.
NEEDS = {
    ("not_checkable", "no_source"): "由单位在账号页完成平台授权；或网信办开通微博商业数据接口（微博）；"
    "或导入第三方监测机构的账号资料和发布内容数据",
    ("not_checkable", "no_uid"): "在台账中补登平台账号ID（申请变更）",
    ("not_checkable", "no_adapter"): "导入第三方监测机构的账号资料和发布内容数据",
    ("stale", "never"): "等待下一次定时巡检（每天一次）",
    ("stale", "error"): "按错误原因处理：凭据失效或被拒绝时由单位重新授权，平台故障时等待下次巡检",
    ("stale", "old"): "检查后台任务和调度进程是否在运行",
}
#: at most this many accounts in the blind list (the rest by unit or platform filter)
BLIND_LIMIT = 200


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


def error_text(error: Any) -> str | None:
    """A failed read's error as a person reads it: the adapter's Chinese message and, when the
    platform gave one, its numeric error code (the stored error is a dict of type, code, message;
    our own codes such as ``local_rate_limit`` or ``missing_credentials`` are not shown)."""
    if not error:
        return None
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message") or "读取失败")
    code = str(error.get("code") or "")
    return f"{message}（平台错误码 {code}）" if code.lstrip("-").isdigit() else message


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
            Account.name,
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
    blind: list[dict[str, Any]] = []
    ledger = 0
    for row in db.session.execute(stmt):
        ledger += 1
        state, reason = classify(row, fresh_after)
        totals[state] += 1
        by_platform.setdefault(row.platform.value, Counter())[state] += 1
        by_unit.setdefault(row.unit_id, Counter())[state] += 1
        unit_names[row.unit_id] = row.unit_name
        reasons[(state, reason)] += 1
        if state != "checked":
            blind.append(
                {
                    "account_id": row.id,
                    "account_name": row.name,
                    "unit_name": row.unit_name,
                    "platform": row.platform.value,
                    "platform_label": PLATFORM_LABELS.get(row.platform, row.platform.value),
                    "state": state,
                    "state_label": STATE_LABELS[state],
                    "reason_label": reason_label(state, reason),
                    "last_error": row.last_error if state == "stale" and reason == "error" else None,
                    "last_error_text": error_text(row.last_error) if state == "stale" and reason == "error" else None,
                    "last_success_at": iso_cn(row.last_success_at),
                    "needs": NEEDS.get((state, reason), ""),
                }
            )

    def counts(c: Counter[str]) -> dict[str, int]:
        return {s: c.get(s, 0) for s in STATE_LABELS} | {"total": sum(c.values())}

    blind.sort(key=lambda b: (b["state"] != "not_checkable", b["unit_name"], b["platform"], b["account_name"]))
    return {
        "generated_at": iso_cn(now),
        "blind": blind[:BLIND_LIMIT],
        "blind_total": len(blind),
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
