"""Reports (报表): compliance per unit and platform, the quarterly bulletin, the annual table.

Figures come from the registry, the monitoring cache on each account (last_post_at,
posts_7d/posts_30d, followers — as of the last check), findings, and — read-only — the
deliveries (publishers) and reviews (moderation) for "what went out in the period" and
三审 compliance: a published item is compliant when stages 1, 2 and 3 each approved the very
version that was sent, all before it was sent (a stage omitted under a lighter review the office
allowed — ``ReviewDecision.skipped``, written only while the permission held — counts as passed).

Periods are whole days in Beijing time; ``Period.start_utc`` / ``end_utc`` are the naive-UTC
bounds used against the database (end exclusive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from common.db import utcnow
from common.errors import Invalid
from common.formal_sheet import Column, FormalSheet
from common.formal_sheet import workbook as formal_workbook
from common.timefmt import bj
from extensions import db
from moderation.models import PASSING_DECISIONS, Review
from oversight.findings import (
    ACTIVE_STATUSES,
    CN_TZ,
    finding_uid,
    is_overdue,
    iso_cn,
    setting_int,
    to_naive_utc,
    today_cn,
)
from oversight.findings import (
    STATUS_LABELS as FINDING_STATUS_LABELS,
)
from oversight.models import FINDING_LABELS, DiscoveredAccount, Finding, FindingKind, FindingStatus
from oversight.workorders import history as wo_history
from oversight.workorders.models import OPEN_STATUSES, WorkOrder
from platforms.types import PLATFORM_LABELS
from publishers.models import Delivery
from registry.models import STATUS_LABELS, Account, AccountStatus, Platform, Unit
from reports.reminder_counts import reminder_summary
from reposts.board import late_units

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RUNNING = (AccountStatus.active, AccountStatus.changing, AccountStatus.closing)
NOT_OPENED = (AccountStatus.applying, AccountStatus.rejected)


# ----------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str = ""

    @property
    def start_utc(self) -> datetime:
        return to_naive_utc(datetime.combine(self.start, time(), CN_TZ))  # type: ignore[return-value]

    @property
    def end_utc(self) -> datetime:
        return to_naive_utc(datetime.combine(self.end + timedelta(days=1), time(), CN_TZ))  # type: ignore[return-value]

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "label": self.label}


def period(start: date | None, end: date | None) -> Period:
    end = end or today_cn()
    start = start or end - timedelta(days=29)
    if start > end:
        raise Invalid("开始日期不能晚于结束日期", details={"from": ["开始日期不能晚于结束日期"]})
    if (end - start).days > 3 * 366:
        raise Invalid("统计区间不能超过三年", details={"to": ["统计区间不能超过三年"]})
    return Period(start, end, f"{start.isoformat()} 至 {end.isoformat()}")


_QUARTER_RE = re.compile(r"^(\d{4})[Qq]([1-4])$")


def quarter(value: str) -> Period:
    m = _QUARTER_RE.match(value or "")
    if not m:
        raise Invalid("季度格式应为 2026Q4", details={"quarter": ["格式应为 YYYYQn，例如 2026Q4"]})
    year, q = int(m.group(1)), int(m.group(2))
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) - timedelta(days=1) if q == 4 else date(year, 3 * q + 1, 1) - timedelta(days=1)
    return Period(start, end, f"{year}年第{'一二三四'[q - 1]}季度")


def year(value: int) -> Period:
    if not 2000 <= value <= 2100:
        raise Invalid("年份超出范围", details={"year": ["年份应在 2000–2100 之间"]})
    return Period(date(value, 1, 1), date(value, 12, 31), f"{value}年度")


# ----------------------------------------------------------------------------- compliance


def _scoped(stmt: sa.Select[Any], column: Any, unit_ids: set[int] | None) -> sa.Select[Any]:
    return stmt if unit_ids is None else stmt.where(column.in_(unit_ids or {-1}))


def _accounts(p: Period, unit_ids: set[int] | None) -> list[Account]:
    stmt = (
        sa.select(Account)
        .where(Account.status.not_in(NOT_OPENED))
        .where(Account.created_at < p.end_utc)
        .where(sa.or_(Account.closed_on.is_(None), Account.closed_on >= p.start))
        .order_by(Account.unit_id, Account.platform, Account.id)
    )
    return list(db.session.scalars(_scoped(stmt, Account.unit_id, unit_ids)))


@dataclass(frozen=True)
class _Sent:
    delivery_id: int
    account_id: int
    content_id: int
    version: int
    sent_at: datetime


def _sent_in(p: Period, account_ids: Iterable[int]) -> list[_Sent]:
    ids = list(account_ids)
    out: list[_Sent] = []
    for i in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(Delivery.id, Delivery.account_id, Delivery.content_id, Delivery.version, Delivery.sent_at).where(
                Delivery.account_id.in_(ids[i : i + 500]),
                Delivery.sent_at.is_not(None),
                Delivery.sent_at >= p.start_utc,
                Delivery.sent_at < p.end_utc,
            )
        )
        out.extend(_Sent(*r) for r in rows)
    return out


def _approvals(content_ids: Iterable[int]) -> dict[tuple[int, int], dict[int, datetime]]:
    """(content, version) → stage → earliest approval time."""

    ids = sorted(set(content_ids))
    out: dict[tuple[int, int], dict[int, datetime]] = {}
    for i in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(Review.content_id, Review.version, Review.stage, sa.func.min(Review.at))
            .where(Review.content_id.in_(ids[i : i + 500]), Review.decision.in_(PASSING_DECISIONS))
            .group_by(Review.content_id, Review.version, Review.stage)
        )
        for content_id, version, stage, at in rows:
            out.setdefault((content_id, version), {})[stage] = at
    return out


def review_compliant(sent: _Sent, approvals: dict[tuple[int, int], dict[int, datetime]]) -> bool:
    stages = approvals.get((sent.content_id, sent.version), {})
    return all(s in stages and stages[s] <= sent.sent_at for s in (1, 2, 3))


#: Findings that describe the office's blind spots, not an account's misconduct: an account its
#: unit has not authorised cannot be inspected. They are left out of the problem counts and
#: reported on their own line (未授权巡检账号), as scoring leaves them out (docs/monitoring.md).
BLIND_SPOT_KINDS = frozenset({FindingKind.not_authorised})


def _not_authorised_ids(account_ids: Iterable[int]) -> set[int]:
    """Accounts whose not_authorised finding is active now (still not authorised)."""
    ids = list(account_ids)
    if not ids:
        return set()
    stmt = sa.select(Finding.account_id).where(
        Finding.kind == FindingKind.not_authorised,
        Finding.status.in_(ACTIVE_STATUSES),
        Finding.account_id.in_(ids),
    )
    return {i for i in db.session.scalars(stmt) if i is not None}


def _findings(p: Period, unit_ids: set[int] | None) -> list[tuple[Finding, str | None]]:
    platform = sa.func.coalesce(Account.platform, DiscoveredAccount.platform)
    stmt = (
        sa.select(Finding, platform)
        .outerjoin(Account, Account.id == Finding.account_id)
        .outerjoin(DiscoveredAccount, DiscoveredAccount.id == Finding.discovered_id)
        .where(Finding.first_seen_at >= p.start_utc, Finding.first_seen_at < p.end_utc)
        .order_by(Finding.id)
    )
    if unit_ids is not None:
        stmt = stmt.where(Finding.unit_id.in_(unit_ids or {-1}))
    out = []
    for f, plat in db.session.execute(stmt):
        value = plat.value if isinstance(plat, Platform) else plat
        out.append((f, value or (f.evidence or {}).get("platform")))
    return out


def _days_since(a: Account, now: datetime) -> int | None:
    if a.last_post_at is None:
        return None
    return max(0, (now - a.last_post_at).days)


def _platform_label(value: str | None) -> str:
    if not value:
        return "—"
    try:
        return PLATFORM_LABELS[Platform(value)]
    except ValueError:
        return value


def _empty_row() -> dict[str, Any]:
    return {
        "accounts": 0,
        "active": 0,
        "updated_within_veto": 0,
        "posts_7d": 0,
        "posts_30d": 0,
        "published_in_period": 0,
        "max_days_since_last_post": None,
        "accounts_over_veto": 0,
        "accounts_zombie": 0,
        "accounts_unmonitored": 0,
        "accounts_not_authorised": 0,
        "findings_open": 0,
        "findings_closed": 0,
        "published_items": 0,
        "review_compliant": 0,
        "review_compliance": None,
    }


def _add(row: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if key in ("max_days_since_last_post", "review_compliance"):
            continue
        row[key] += value
    a, b = row["max_days_since_last_post"], other["max_days_since_last_post"]
    row["max_days_since_last_post"] = b if a is None else (a if b is None else max(a, b))


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    n = row["published_items"]
    row["review_compliance"] = round(row["review_compliant"] / n, 4) if n else None
    return row


def compliance(p: Period, unit_ids: set[int] | None = None) -> dict[str, Any]:
    """Per (unit, platform): accounts, running, monitoring figures, findings, 三审 compliance."""
    now = utcnow()
    veto = setting_int("INACTIVE_VETO_DAYS", 14)
    zombie = setting_int("ZOMBIE_DAYS", 90)
    accounts = _accounts(p, unit_ids)
    units = {u.id: u for u in db.session.scalars(_scoped(sa.select(Unit), Unit.id, unit_ids))}
    rows: dict[tuple[int, str], dict[str, Any]] = {}

    def row_for(unit_id: int, platform: str) -> dict[str, Any]:
        key = (unit_id, platform)
        if key not in rows:
            rows[key] = _empty_row()
        return rows[key]

    by_id = {a.id: a for a in accounts}
    unauthorised = _not_authorised_ids(by_id)
    for a in accounts:
        r = row_for(a.unit_id, a.platform.value)
        r["accounts"] += 1
        r["accounts_not_authorised"] += a.id in unauthorised
        if a.status in RUNNING:
            r["active"] += 1
            days = _days_since(a, now)
            if a.monitored_at is None and a.last_post_at is None:
                r["accounts_unmonitored"] += 1
            if days is not None:
                cur = r["max_days_since_last_post"]
                r["max_days_since_last_post"] = days if cur is None else max(cur, days)
                if days <= veto:
                    r["updated_within_veto"] += 1
                if days > veto:
                    r["accounts_over_veto"] += 1
                if days > zombie:
                    r["accounts_zombie"] += 1
            r["posts_7d"] += a.posts_7d or 0
            r["posts_30d"] += a.posts_30d or 0
    sent = _sent_in(p, by_id)
    approvals = _approvals(s.content_id for s in sent)
    for s in sent:
        a = by_id[s.account_id]
        r = row_for(a.unit_id, a.platform.value)
        r["published_in_period"] += 1
        r["published_items"] += 1
        if review_compliant(s, approvals):
            r["review_compliant"] += 1
    unassigned = {"open": 0, "closed": 0}
    for f, platform in _findings(p, unit_ids):
        if f.kind in BLIND_SPOT_KINDS:
            continue  # counted as 未授权巡检账号, not as a problem of the account
        is_open = f.status in ACTIVE_STATUSES
        if f.unit_id is None or f.unit_id not in units:
            unassigned["open" if is_open else "closed"] += 1
            continue
        r = row_for(f.unit_id, platform or "other")
        r["findings_open" if is_open else "findings_closed"] += 1

    out_rows = []
    per_unit: dict[int, dict[str, Any]] = {}
    totals = _empty_row()
    for (unit_id, platform), r in sorted(rows.items(), key=lambda kv: (units[kv[0][0]].name, kv[0][1])):
        unit = units[unit_id]
        out_rows.append(
            {
                "unit_id": unit_id,
                "unit_name": unit.name,
                "platform": platform,
                "platform_label": _platform_label(platform),
            }
            | _finish(dict(r))
        )
        _add(per_unit.setdefault(unit_id, _empty_row()), r)
        _add(totals, r)
    unit_rows = [
        {"unit_id": uid, "unit_name": units[uid].name, "passed": r["accounts_over_veto"] == 0} | _finish(r)
        for uid, r in sorted(per_unit.items(), key=lambda kv: units[kv[0]].name)
    ]
    totals = _finish(totals)
    totals["findings_unassigned_open"] = unassigned["open"]
    totals["findings_unassigned_closed"] = unassigned["closed"]
    return {
        "period": p.as_dict(),
        "generated_at": iso_cn(now),
        "thresholds": {
            "warn_days": setting_int("INACTIVE_WARN_DAYS", 7),
            "veto_days": veto,
            "zombie_days": zombie,
        },
        "rows": out_rows,
        "units": unit_rows,
        "totals": totals,
    }


# ----------------------------------------------------------------------------- XLSX


COMPLIANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accounts", "账号数"),
    ("active", "运行中"),
    ("updated_within_veto", "14天内有更新"),
    ("accounts_over_veto", "超14天未更新"),
    ("accounts_zombie", "疑似僵尸号"),
    ("max_days_since_last_post", "最长未更新天数（当前）"),
    ("accounts_unmonitored", "尚未监测"),
    ("accounts_not_authorised", "未授权巡检账号"),
    ("posts_7d", "近7天发文（监测）"),
    ("posts_30d", "近30天发文（监测）"),
    ("published_in_period", "期间经本平台发布"),
    ("findings_open", "期间新增问题（未结）"),
    ("findings_closed", "期间新增问题（已结）"),
    ("review_compliant", "三审合规发布数"),
    ("review_compliance", "三审合规率"),
)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _cell(key: str, value: Any) -> Any:
    if key == "review_compliance":
        return value  # a number; the column's percent format shows it (empty: nothing published)
    return "—" if value is None else value


PERCENT_HEADERS = frozenset({*(label for key, label in COMPLIANCE_COLUMNS if key == "review_compliance"), "置信度"})


Sheet = tuple[str, Sequence[str], Sequence[Sequence[Any]]]


def _kind(header: str, rows: Sequence[Sequence[Any]], col: int) -> str:
    """A column's display kind for :mod:`common.formal_sheet`: rates are percentages, times get a
    date format."""
    if header in PERCENT_HEADERS:
        return "percent"
    for row in rows[:500]:
        v = row[col] if col < len(row) else None
        if isinstance(v, datetime):
            return "datetime"
        if isinstance(v, date):
            return "date"
    return "text"


def _width(header: str, rows: Sequence[Sequence[Any]], col: int) -> float:
    values = [len(str(header))] + [len(str(r[col])) for r in rows[:500] if col < len(r) and r[col] is not None]
    return min(60, max(8, max(values) * 1.6 + 2))


def workbook(sheets: Sequence[Sheet], title: str | None = None, issuer: str = "") -> bytes:
    """Sheets of (name, Chinese headers, rows) → a workbook a clerk can file
    (:func:`common.formal_sheet.workbook`: merged title row, 制表单位/时间 line, 序号 column,
    borders, frozen header, A4 landscape print setup with the header row repeated, Beijing time).
    The title row reads ``title · sheet name`` on every sheet after the first."""

    now = utcnow()
    formal = []
    for index, (name, headers, rows) in enumerate(sheets):
        body = [[_xlsx_value(v) for v in row] for row in rows]
        columns = [Column(h, _width(h, body, i), _kind(h, body, i)) for i, h in enumerate(headers)]
        heading = title or name
        if index and title:
            heading = f"{title}·{name}"
        formal.append(FormalSheet(name=name, title=heading, columns=columns, rows=body, issuer=issuer, made_at=now))
    return formal_workbook(formal)


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "是" if v else "否"
    return v  # formal_sheet passes every value through the one cell guard (Beijing time, no formulas)


def compliance_xlsx(data: dict[str, Any], issuer: str = "") -> bytes:
    headers = ["单位", "平台", *(label for _, label in COMPLIANCE_COLUMNS)]
    rows = [
        [r["unit_name"], r["platform_label"], *(_cell(k, r[k]) for k, _ in COMPLIANCE_COLUMNS)] for r in data["rows"]
    ]
    t = data["totals"]
    rows.append(["合计", "", *(_cell(k, t[k]) for k, _ in COMPLIANCE_COLUMNS)])
    unit_headers = ["单位", "是否达标（无超14天未更新账号）", *(label for _, label in COMPLIANCE_COLUMNS)]
    unit_rows = [
        [
            u["unit_name"],
            "达标" if u["passed"] else "不达标（单项否决）",
            *(_cell(k, u[k]) for k, _ in COMPLIANCE_COLUMNS),
        ]
        for u in data["units"]
    ]
    p = data["period"]
    title = f"政务新媒体合规情况（{p['from']} 至 {p['to']}）"
    return workbook(
        [("按单位和平台", headers, rows), ("按单位", unit_headers, unit_rows), _notes_sheet(data)],
        title=title,
        issuer=issuer,
    )


def _made_at(value: datetime | str) -> str:
    """A notes sheet's 生成时间 in the house format (the API keeps its ISO time)."""
    return f"{bj(value)}（北京时间）"


def _notes_sheet(data: dict[str, Any]) -> Sheet:
    th = data["thresholds"]
    notes = [
        ["统计区间", f"{data['period']['from']} 至 {data['period']['to']}"],
        ["生成时间", _made_at(data["generated_at"])],
        ["更新预警线", f"{th['warn_days']} 天"],
        ["单项否决线", f"超过 {th['veto_days']} 天未更新"],
        ["疑似僵尸号", f"超过 {th['zombie_days']} 天未更新"],
        ["监测数据", "最近发文时间、近7天/近30天发文、粉丝数取自最近一次自动监测，未更新天数按当前时间计算"],
        ["三审合规", "期间发出的每条发布，其发布版本在发出前依次通过初审、复审、终审，计为合规"],
        ["期间经本平台发布", "通过本平台发出（含后来撤回）的发布条数，不含在平台后台直接发布的内容"],
    ]
    return ("说明", ["项目", "内容"], notes)


def _running_over_veto(unit_ids: set[int] | None, now: datetime) -> list[list[Any]]:
    veto = setting_int("INACTIVE_VETO_DAYS", 14)
    stmt = _scoped(
        sa.select(Account).where(Account.status.in_(RUNNING)).order_by(Account.unit_id, Account.id),
        Account.unit_id,
        unit_ids,
    )
    out = []
    for a in db.session.scalars(stmt):
        days = _days_since(a, now)
        if days is not None and days > veto:
            out.append(
                [
                    a.unit.name,
                    PLATFORM_LABELS[a.platform],
                    a.name,
                    a.platform_uid or "",
                    STATUS_LABELS[a.status],
                    a.last_post_at,
                    days,
                ]
            )
    return out


FINDING_HEADERS = (
    "单位",
    "平台",
    "账号",
    "平台ID",
    "问题类型",
    "说明",
    "状态",
    "整改期限",
    "是否逾期",
    "发现时间",
    "置信度",
)


def _finding_row(f: Finding, platform: str | None) -> list[Any]:
    evidence = f.evidence or {}
    return [
        f.unit.name if f.unit else "（未对应单位）",
        _platform_label(platform),
        f.account.name if f.account else evidence.get("name") or evidence.get("account_name") or "",
        finding_uid(f) or "",
        FINDING_LABELS.get(f.kind, f.kind.value),
        evidence.get("message") or "",
        FINDING_STATUS_LABELS[f.status],
        f.due_on.isoformat() if f.due_on else "",
        "是" if is_overdue(f) else "否",
        f.first_seen_at,
        f.confidence,
    ]


def findings_xlsx(items: Sequence[tuple[Finding, str | None]], issuer: str = "") -> bytes:
    rows = [_finding_row(f, p) for f, p in items]
    return workbook([("问题线索", FINDING_HEADERS, rows)], title="问题线索清单", issuer=issuer)


def workorder_summary(p: Period, unit_ids: set[int] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """整改工单 of the period by unit: issued and closed in the period; open, overdue and escalated
    **as of the period's end** (its last moment, Beijing time; now, for a period still running),
    read back from the orders' history (oversight/workorders/history.py) — an order closed after
    the quarter ended still counts as overdue at the quarter's end if it was overdue then."""

    as_of = min(p.end_utc, now or utcnow())
    stmt = sa.select(WorkOrder).where(
        WorkOrder.created_at < as_of,
        sa.or_(WorkOrder.status.in_(OPEN_STATUSES), WorkOrder.closed_at >= p.start_utc),
    )
    orders = list(db.session.scalars(_scoped(stmt, WorkOrder.unit_id, unit_ids)))
    states = wo_history.states_at(orders, as_of, window_start=p.start_utc)
    names = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
    by_unit: dict[int, dict[str, Any]] = {}
    for o in orders:
        st = states[o.id]
        row = by_unit.setdefault(
            o.unit_id,
            {"unit_name": names.get(o.unit_id, ""), "issued": 0, "closed": 0, "open": 0, "overdue": 0, "escalated": 0},
        )
        row["issued"] += int(p.start_utc <= o.created_at < p.end_utc)
        row["closed"] += int(st.closed_in_window)
        row["open"] += int(st.open)
        row["overdue"] += int(st.overdue)
        row["escalated"] += int(st.escalated)
    units = sorted(by_unit.values(), key=lambda r: (-r["overdue"], -r["escalated"], r["unit_name"]))
    totals = {k: sum(u[k] for u in units) for k in ("issued", "closed", "open", "overdue", "escalated")}
    late = [u for u in units if u["overdue"] or u["escalated"]]
    return {
        "units": units,
        "totals": totals,
        "late_units": [u["unit_name"] for u in late],
        "as_of": as_of,
        "as_of_period_end": as_of == p.end_utc,
    }


def bulletin_data(p: Period, unit_ids: set[int] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """What the quarterly bulletin (季度通报) says, for its workbook and its Word document. The work
    orders' open, overdue and escalated counts are as of the period's end (``workorder_summary``)."""
    data = compliance(p, unit_ids)
    found = [(f, pl) for f, pl in _findings(p, unit_ids) if f.kind not in BLIND_SPOT_KINDS]
    t = data["totals"]
    count = {k: sum(1 for f, _ in found if f.kind is k) for k in FindingKind}
    problems = [
        ("未备案/体外运行", count[FindingKind.unregistered]),
        ("关停不彻底", count[FindingKind.closed_but_active]),
        ("私自重开", count[FindingKind.reopened]),
        ("重复开设", count[FindingKind.duplicate]),
        ("名称或认证主体不符", count[FindingKind.name_mismatch] + count[FindingKind.subject_mismatch]),
        ("超14天未更新", count[FindingKind.inactive_14d]),
    ]
    orders = workorder_summary(p, unit_ids, now)
    # as of the period's end like the orders (a finding's own history is its work order's)
    overdue = [f for f, _ in found if is_overdue(f, wo_history.day_of(orders["as_of"]))]
    # Only confirmed findings name a unit; clues nobody has confirmed yet are counted, not named.
    confirmed = [f for f, _ in found if f.status is FindingStatus.confirmed]
    return {
        "workorders": orders,
        "reminders": reminder_summary(p.start_utc, p.end_utc, unit_ids),
        "period": p,
        "compliance": data,
        "found": found,
        "problems": problems,
        "closed": t["findings_closed"] + t["findings_unassigned_closed"],
        "silent": _running_over_veto(unit_ids, utcnow()),
        "units_passed": sum(1 for u in data["units"] if u["passed"]),
        "overdue_units": sorted({f.unit.name for f in overdue if f.unit} | set(orders["late_units"])),
        "open_units": sorted({f.unit.name for f in confirmed if f.unit}),
        "unconfirmed": sum(1 for f, _ in found if f.status is FindingStatus.open),
        "failed_units": [u["unit_name"] for u in data["units"] if not u["passed"]],
        "reposts_late": repost_late_units(p, unit_ids),
    }


def bulletin_xlsx(p: Period, unit_ids: set[int] | None = None, issuer: str = "") -> bytes:
    """Quarterly bulletin (季度通报)."""
    b = bulletin_data(p, unit_ids)
    data = b["compliance"]
    t = data["totals"]
    summary = [
        ["报告期", p.label or f"{p.start} 至 {p.end}"],
        ["统计区间", f"{p.start.isoformat()} 至 {p.end.isoformat()}"],
        ["生成时间", _made_at(data["generated_at"])],
        ["单位数", len(data["units"])],
        ["达标单位数", b["units_passed"]],
        ["账号总数", t["accounts"]],
        ["运行中账号", t["active"]],
        ["超14天未更新账号（单项否决）", t["accounts_over_veto"]],
        ["疑似僵尸号", t["accounts_zombie"]],
        ["未授权巡检账号（无法巡检，不计入问题）", t["accounts_not_authorised"]],
        ["本期新发现问题", len(b["found"])],
        *([f"其中：{label}", n] for label, n in b["problems"]),
        ["本期问题已整改/已排除", b["closed"]],
        ["期间经本平台发布", t["published_in_period"]],
        ["三审合规率", _percent(t["review_compliance"])],
        ["本期下发整改工单", b["workorders"]["totals"]["issued"]],
        ["本期办结整改工单", b["workorders"]["totals"]["closed"]],
        ["未办结整改工单", b["workorders"]["totals"]["open"]],
        ["其中：逾期未整改", b["workorders"]["totals"]["overdue"]],
        ["其中：已升级督办", b["workorders"]["totals"]["escalated"]],
        ["逾期未整改的单位", "、".join(b["workorders"]["late_units"]) or "无"],
        [
            "整改工单统计时点",
            "期末（" + b["period"].end.isoformat() + "）" if b["workorders"]["as_of_period_end"] else "生成时",
        ],
        ["本期发出提醒（合计）", b["reminders"]["total"]],
        *([f"其中：{label}", n] for label, n in b["reminders"]["channels"]),
        *([f"按单位：{label}", n] for label, n in b["reminders"]["by_unit"]),
        ["提醒统计范围", b["reminders"]["scope"]],
    ]
    order_rows = [
        [u["unit_name"], u["issued"], u["closed"], u["open"], u["overdue"], u["escalated"]]
        for u in b["workorders"]["units"]
    ]
    unit_headers = ["单位", "是否达标", *(label for _, label in COMPLIANCE_COLUMNS)]
    unit_rows = [
        [u["unit_name"], "达标" if u["passed"] else "不达标", *(_cell(k, u[k]) for k, _ in COMPLIANCE_COLUMNS)]
        for u in data["units"]
    ]
    title = f"政务新媒体{p.label}检查情况通报"
    return workbook(
        [
            ("概况", ["项目", "数值"], summary),
            ("各单位情况", unit_headers, unit_rows),
            ("问题账号明细", FINDING_HEADERS, [_finding_row(f, pl) for f, pl in b["found"]]),
            ("超期未更新账号", SILENT_HEADERS, b["silent"]),
            ("整改工单", WORKORDER_HEADERS, order_rows),
            repost_sheet(b["reposts_late"]),
            _notes_sheet(data),
        ],
        title=title,
        issuer=issuer,
    )


WORKORDER_HEADERS = ("单位", "本期下发", "本期办结", "未办结", "逾期未整改", "已升级督办")
SILENT_HEADERS = ("单位", "平台", "账号", "平台ID", "台账状态", "最近发文时间", "未更新天数")


# ----------------------------------------------------------------------------- 转载任务 in the 通报

REPOST_HEADERS = ("单位", "期内截止的转载任务", "按期完成", "逾期完成", "逾期未完成", "不适用")


def repost_late_units(p: Period, unit_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """Units that reposted late or not at all among the 转载任务 due in the period (reposts/)."""

    return late_units(p.start_utc, p.end_utc, unit_ids)


def repost_sheet(rows: Sequence[dict[str, Any]]) -> Sheet:
    """The bulletin's sheet of units late with their 转载任务 (a task counts once per unit)."""
    body = [[r["unit_name"], r["tasks"], r["on_time"], r["late"], r["missing"], r["not_applicable"]] for r in rows]
    return ("转载任务逾期单位", REPOST_HEADERS, body)


def annual_xlsx(p: Period, unit_ids: set[int] | None = None, issuer: str = "") -> bytes:
    """The 政务新媒体 part of the annual report table (年度报表, due by 31 January)."""
    accounts = _accounts(p, unit_ids)
    sent = _sent_in(p, (a.id for a in accounts))
    per_account: dict[int, int] = {}
    for s in sent:
        per_account[s.account_id] = per_account.get(s.account_id, 0) + 1
    detail_headers = [
        "平台类型",
        "账号名称",
        "主办单位",
        "平台ID",
        "开设日期",
        "备案编号",
        "台账状态",
        "信息发布（条，经本平台）",
        "近30天发文（监测）",
        "关注量/订阅数",
        "最近发文时间",
        "关停日期",
    ]
    detail = [
        [
            PLATFORM_LABELS[a.platform],
            a.name,
            a.unit.name,
            a.platform_uid or "",
            a.opened_on.isoformat() if a.opened_on else "",
            a.filing_number or "",
            STATUS_LABELS[a.status],
            per_account.get(a.id, 0),
            a.posts_30d if a.posts_30d is not None else "",
            a.followers if a.followers is not None else "",
            a.last_post_at,
            a.closed_on.isoformat() if a.closed_on else "",
        ]
        for a in accounts
    ]
    # The 年度报表 layout: per platform type, name / posts / followers (关注量 or 订阅数).
    table_headers = ["类型", "名称", "信息发布（条）", "关注量/订阅数（个）"]
    table: list[list[Any]] = []
    summary_headers = [
        "平台类型",
        "账号数",
        "运行中",
        "年内新开设",
        "年内关停",
        "信息发布（条，经本平台）",
        "关注量合计",
    ]
    summary: list[list[Any]] = []
    by_platform: dict[Platform, list[Account]] = {}
    for a in accounts:
        by_platform.setdefault(a.platform, []).append(a)
    for platform, items in sorted(by_platform.items(), key=lambda kv: list(Platform).index(kv[0])):
        label = PLATFORM_LABELS[platform]
        for a in items:
            table.append([label, a.name, per_account.get(a.id, 0), a.followers if a.followers is not None else ""])
        summary.append(
            [
                label,
                len(items),
                sum(1 for a in items if a.status in RUNNING),
                sum(1 for a in items if a.opened_on and p.start <= a.opened_on <= p.end),
                sum(1 for a in items if a.closed_on and p.start <= a.closed_on <= p.end),
                sum(per_account.get(a.id, 0) for a in items),
                sum(a.followers or 0 for a in items),
            ]
        )
    notes = [
        ["年度", p.label],
        ["报送要求", f"年度报表应于 {p.end.year + 1} 年 1 月 31 日前公开（国办函〔2018〕12号）"],
        ["生成时间", _made_at(utcnow())],
        ["信息发布（条）", "通过本平台发出的发布条数；在平台后台直接发布的内容请人工补充"],
        ["关注量/订阅数", "取自最近一次自动监测；平台接口不提供时为空，请人工补充"],
    ]
    return workbook(
        [
            ("年度报表（政务新媒体）", table_headers, table),
            ("按平台汇总", summary_headers, summary),
            ("账号明细", detail_headers, detail),
            ("说明", ["项目", "内容"], notes),
        ],
        title=f"政府网站与政务新媒体工作年度报表（政务新媒体部分）· {p.label}",
        issuer=issuer,
    )
