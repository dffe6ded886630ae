"""工作台: the landing dashboard for every signed-in user, scoped to the units they may see.

``dashboard_data(user)`` does all the counting (a handful of grouped queries that run the
same on SQLite and PostgreSQL); the view renders it as charts (static/js/dashboard.js with the
vendored Chart.js, data in a ``<script type="application/json">`` block because the CSP allows
no inline script) and as tables that carry every number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, has_app_context, render_template, url_for
from werkzeug.routing import BuildError

from auth.models import User
from auth.scoping import scope_filter, visible_unit_ids
from common.db import utcnow
from common.timefmt import bj, day_start_utc
from extensions import db
from moderation.models import Content, Review, ReviewDecision
from moderation.review import STAGE_LABELS, STAGE_STATUS, STAGES, overdue_hours
from oversight.findings import to_cn
from oversight.models import FINDING_LABELS, Finding, FindingKind, FindingStatus
from oversight.workorders import service as workorders
from platforms.types import PLATFORM_LABELS
from publishers.models import Delivery, DeliveryStatus
from registry.models import (
    PUBLISHABLE_PLATFORMS,
    STATUS_LABELS,
    Account,
    AccountStatus,
    Platform,
    Unit,
)

bp = Blueprint("dashboard", __name__)

#: Accounts that are expected to post (freshness is measured on these).
OPERATING_STATUSES = (AccountStatus.active, AccountStatus.changing)
#: Findings that still need work: 待确认 (open) and 已确认待整改 (confirmed).
OUTSTANDING_FINDINGS = (FindingStatus.open, FindingStatus.confirmed)
#: Deliveries that reached the platform (a withdrawn one was sent first).
DELIVERED = (DeliveryStatus.sent, DeliveryStatus.withdrawn)
DELIVERY_WINDOW_DAYS = 30
THROUGHPUT_WEEKS = 8
FRESHNESS_KEYS = ("recent", "warn", "veto", "zombie", "never")


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def freshness_buckets() -> list[dict[str, Any]]:
    """The update-freshness buckets, from the monitoring settings (defaults 7 / 14 / 90 days)."""
    warn = _setting("INACTIVE_WARN_DAYS", 7)
    veto = _setting("INACTIVE_VETO_DAYS", 14)
    zombie = _setting("ZOMBIE_DAYS", 90)
    return [
        {"key": "recent", "label": f"{warn}天内", "max_days": warn},
        {"key": "warn", "label": f"{warn + 1}–{veto}天", "max_days": veto},
        {"key": "veto", "label": f"{veto + 1}–{zombie}天", "max_days": zombie},
        {"key": "zombie", "label": f"{zombie}天以上", "max_days": None},
        {"key": "never", "label": "从未发布", "max_days": None},
    ]


def _freshness_case(now: datetime, buckets: list[dict[str, Any]]) -> Any:
    """CASE expression naming an account's bucket; "N days" means at most N×24 hours ago."""
    whens: list[tuple[Any, str]] = [(Account.last_post_at.is_(None), "never")]
    for bucket in buckets:
        if bucket["max_days"] is not None:
            whens.append((Account.last_post_at >= now - timedelta(days=bucket["max_days"]), bucket["key"]))
    return sa.case(*whens, else_="zombie")


def _rate(sent: int, failed: int) -> float | None:
    return round(sent / (sent + failed), 4) if sent + failed else None


def _scope_label(user: User) -> str:
    if visible_unit_ids(user) is None:
        return "全部单位"
    return f"{user.unit.name}及下属单位"


def _accounts(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        sa.select(Account.platform, Account.status, sa.func.count())
        .where(scope_filter(user, Account.unit_id))
        .group_by(Account.platform, Account.status)
    ).all()
    by_platform = dict.fromkeys(Platform, 0)
    by_status = dict.fromkeys(AccountStatus, 0)
    for platform, status, n in rows:
        by_platform[Platform(platform)] += n
        by_status[AccountStatus(status)] += n
    return {
        "total": sum(by_status.values()),
        "by_platform": [
            {"key": p.value, "label": PLATFORM_LABELS[p], "count": n}
            for p, n in by_platform.items()
            if n or p in PUBLISHABLE_PLATFORMS
        ],
        "by_status": [{"key": s.value, "label": STATUS_LABELS[s], "count": n} for s, n in by_status.items()],
    }


def _freshness(user: User, now: datetime) -> dict[str, Any]:
    buckets = freshness_buckets()
    bucket = _freshness_case(now, buckets).label("bucket")
    rows = db.session.execute(
        sa.select(Unit.id, Unit.name, bucket, sa.func.count())
        .join(Unit, Unit.id == Account.unit_id)
        .where(scope_filter(user, Account.unit_id), Account.status.in_(OPERATING_STATUSES))
        .group_by(Unit.id, Unit.name, bucket)
    ).all()
    totals = dict.fromkeys(FRESHNESS_KEYS, 0)
    units: dict[int, dict[str, Any]] = {}
    for unit_id, unit_name, key, n in rows:
        totals[key] += n
        entry = units.setdefault(unit_id, {"unit": unit_name, "counts": dict.fromkeys(FRESHNESS_KEYS, 0)})
        entry["counts"][key] += n
    by_unit = sorted(units.values(), key=lambda u: (-(u["counts"]["veto"] + u["counts"]["zombie"]), u["unit"]))
    for entry in by_unit:
        entry["total"] = sum(entry["counts"].values())
    return {
        "buckets": [{"key": b["key"], "label": b["label"], "count": totals[b["key"]]} for b in buckets],
        "by_unit": by_unit,
        "total": sum(totals.values()),
        "stale": totals["veto"] + totals["zombie"],
        "veto_days": _setting("INACTIVE_VETO_DAYS", 14),
    }


def _findings(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        sa.select(Finding.kind, Finding.status, sa.func.count())
        .where(scope_filter(user, Finding.unit_id), Finding.status.in_(OUTSTANDING_FINDINGS))
        .group_by(Finding.kind, Finding.status)
    ).all()
    counts = {(FindingKind(kind), FindingStatus(status)): n for kind, status, n in rows}
    by_kind = []
    for kind in FindingKind:
        opened = counts.get((kind, FindingStatus.open), 0)
        confirmed = counts.get((kind, FindingStatus.confirmed), 0)
        by_kind.append(
            {
                "key": kind.value,
                "label": FINDING_LABELS[kind],
                "open": opened,
                "confirmed": confirmed,
                "total": opened + confirmed,
            }
        )
    return {"by_kind": by_kind, "total": sum(k["total"] for k in by_kind)}


def _week_starts(now: datetime, weeks: int) -> list[datetime]:
    """Monday 00:00 Beijing time (as naive UTC) of the last ``weeks`` weeks, oldest first."""
    today = to_cn(now).date()  # type: ignore[union-attr]
    monday = today - timedelta(days=today.weekday())
    return [day_start_utc(monday - timedelta(weeks=i)) for i in reversed(range(weeks))]


def _review(user: User, now: datetime) -> dict[str, Any]:
    starts = _week_starts(now, THROUGHPUT_WEEKS)
    week = sa.case(*[(Review.at >= start, i) for i, start in reversed(list(enumerate(starts)))], else_=-1)
    week = week.label("week")
    rows = db.session.execute(
        sa.select(week, Review.decision, sa.func.count(sa.distinct(Review.content_id)))
        .join(Content, Content.id == Review.content_id)
        .where(
            scope_filter(user, Content.unit_id),
            Review.at >= starts[0],
            Review.voided.is_(False),
            sa.or_(
                sa.and_(Review.stage == STAGES[-1], Review.decision == ReviewDecision.approve),
                Review.decision == ReviewDecision.reject,
            ),
        )
        .group_by(week, Review.decision)
    ).all()
    per_week = [{"approved": 0, "rejected": 0} for _ in starts]
    for index, decision, n in rows:
        if index >= 0:
            key = "approved" if ReviewDecision(decision) is ReviewDecision.approve else "rejected"
            per_week[index][key] += n
    weeks = []
    for start, counts in zip(starts, per_week, strict=True):
        local = to_cn(start).date()  # type: ignore[union-attr]
        end = local + timedelta(days=6)
        weeks.append(
            {
                "start": local.isoformat(),
                "label": f"{local.month}月{local.day}日–{end.month}月{end.day}日",
                "short": f"{local.month}/{local.day}起",
                **counts,
            }
        )

    stage_rows = db.session.execute(
        sa.select(Content.status, Content.stage_entered_at)
        .where(scope_filter(user, Content.unit_id), Content.status.in_(list(STAGE_STATUS.values())))
        .order_by(Content.id)
    ).all()
    stages = []
    for stage in STAGES:
        hours = overdue_hours(stage)
        entered = [at for status, at in stage_rows if status == STAGE_STATUS[stage]]
        cutoff = now - timedelta(hours=hours)
        stages.append(
            {
                "stage": stage,
                "label": STAGE_LABELS[stage],
                "waiting": len(entered),
                "overdue": sum(1 for at in entered if at is not None and at < cutoff),
                "overdue_hours": hours,
            }
        )
    return {
        "weeks": weeks,
        "stages": stages,
        "approved_total": sum(w["approved"] for w in weeks),
        "waiting_total": sum(s["waiting"] for s in stages),
        "overdue_total": sum(s["overdue"] for s in stages),
    }


def _delivery(user: User, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=DELIVERY_WINDOW_DAYS)
    rows = db.session.execute(
        sa.select(Account.platform, Delivery.status, sa.func.count())
        .join(Content, Content.id == Delivery.content_id)
        .join(Account, Account.id == Delivery.account_id)
        .where(
            scope_filter(user, Content.unit_id),
            Delivery.created_at >= since,
            Delivery.status.in_([*DELIVERED, DeliveryStatus.failed]),
        )
        .group_by(Account.platform, Delivery.status)
    ).all()
    per_platform: dict[Platform, dict[str, int]] = {}
    for platform, status, n in rows:
        entry = per_platform.setdefault(Platform(platform), {"sent": 0, "failed": 0})
        entry["sent" if DeliveryStatus(status) in DELIVERED else "failed"] += n
    by_platform = []
    for platform in Platform:
        entry = per_platform.get(platform)
        if entry is None and platform not in PUBLISHABLE_PLATFORMS:
            continue
        entry = entry or {"sent": 0, "failed": 0}
        by_platform.append({"key": platform.value, "label": PLATFORM_LABELS[platform], **entry, "rate": _rate(**entry)})
    sent = sum(p["sent"] for p in by_platform)
    failed = sum(p["failed"] for p in by_platform)
    return {
        "days": DELIVERY_WINDOW_DAYS,
        "sent": sent,
        "failed": failed,
        "rate": _rate(sent, failed),
        "by_platform": by_platform,
    }


def dashboard_data(user: User, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard, limited to the units ``user`` may see (needs an app context)."""
    now = now or utcnow()
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_at_local": bj(now),
        "scope": _scope_label(user),
        "accounts": _accounts(user),
        "freshness": _freshness(user, now),
        "findings": _findings(user),
        "workorders": workorders.due_counts(user),
        "review": _review(user, now),
        "delivery": _delivery(user, now),
    }


def chart_specs(data: dict[str, Any]) -> dict[str, Any]:
    """What static/js/dashboard.js draws: one entry per ``<canvas data-chart=KEY>``."""
    accounts, freshness, findings = data["accounts"], data["freshness"], data["findings"]
    review, delivery = data["review"], data["delivery"]
    return {
        "platform": {
            "type": "bar",
            "labels": [r["label"] for r in accounts["by_platform"]],
            "datasets": [{"label": "账号数", "data": [r["count"] for r in accounts["by_platform"]]}],
        },
        "status": {
            "type": "bar",
            "horizontal": True,
            "labels": [r["label"] for r in accounts["by_status"]],
            "datasets": [{"label": "账号数", "data": [r["count"] for r in accounts["by_status"]]}],
        },
        "freshness": {
            "type": "bar",
            "tones": ["ok", "neutral", "warn", "bad", "muted"],
            "labels": [r["label"] for r in freshness["buckets"]],
            "datasets": [{"label": "账号数", "data": [r["count"] for r in freshness["buckets"]]}],
        },
        "findings": {
            "type": "bar",
            "horizontal": True,
            "stacked": True,
            "labels": [r["label"] for r in findings["by_kind"]],
            "datasets": [
                {"label": "待确认", "data": [r["open"] for r in findings["by_kind"]], "tone": "warn"},
                {"label": "已确认待整改", "data": [r["confirmed"] for r in findings["by_kind"]], "tone": "bad"},
            ],
        },
        "throughput": {
            "type": "bar",
            "labels": [w["short"] for w in review["weeks"]],
            "datasets": [
                {"label": "终审通过", "data": [w["approved"] for w in review["weeks"]], "tone": "ok"},
                {"label": "退回修改", "data": [w["rejected"] for w in review["weeks"]], "tone": "warn"},
            ],
        },
        "waiting": {
            "type": "bar",
            "stacked": True,
            "labels": [s["label"] for s in review["stages"]],
            "datasets": [
                {"label": "未超时", "data": [s["waiting"] - s["overdue"] for s in review["stages"]], "tone": "neutral"},
                {"label": "已超时", "data": [s["overdue"] for s in review["stages"]], "tone": "bad"},
            ],
        },
        "delivery": {
            "type": "bar",
            "stacked": True,
            "labels": [p["label"] for p in delivery["by_platform"]],
            "datasets": [
                {"label": "成功", "data": [p["sent"] for p in delivery["by_platform"]], "tone": "ok"},
                {"label": "失败", "data": [p["failed"] for p in delivery["by_platform"]], "tone": "bad"},
            ],
        },
    }


def _optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to a page that may not be part of this build (returns None then)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.get("/")
def index() -> Any:
    data = dashboard_data(g.user)
    links = {
        "ledger": _optional_url("registry.ledger"),
        "findings": _optional_url("findings.workbench"),
        "workorders": _optional_url("workorders.board"),
        "queue": _optional_url("moderation.queue"),
        "calendar": _optional_url("publishers.calendar"),
    }
    return render_template("dashboard.html", data=data, charts=chart_specs(data), links=links)
