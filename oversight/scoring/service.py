"""考评: periods, rules versions, indicator scores from the findings and posts in the database,
quality indices and recorded fraud decisions. The roll-ups by unit and county and the score table
are in :mod:`oversight.scoring.rollups`, the monthly 抽查 in :mod:`oversight.scoring.spotcheck`.

Services flush; the request, the CLI command or the task commits. Every change is audited.
No follower figure is read, stored, sorted or ranked here (DOMAIN.md R27).
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from audit.service import record as audit
from auth.models import User
from common.db import utcnow
from common.errors import ApiError, Conflict, NotFound
from common.fields import iso_utc
from common.timefmt import day_start_utc, today_cn
from extensions import db
from moderation.models import PASSING_DECISIONS, Review
from oversight.inspection.models import AccountInspection, LivePost, PostSource
from oversight.interaction.models import InteractionItem
from oversight.models import Finding, FindingStatus
from oversight.monitoring import MONITORED_STATUSES
from oversight.scoring import rules as rules_mod
from oversight.scoring.models import (
    FRAUD_LABELS,
    AccountScore,
    FraudKind,
    FraudRecord,
    ScoringRules,
)
from platforms.types import PLATFORM_LABELS
from publishers.models import Delivery
from registry.models import Account

LOOKBACK_DAYS = 120  # post times read before a checkpoint (the longest rule window is 90 days)


# ----------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    key: str  # 2026Q4 | 2026-11
    start: date
    end: date  # inclusive
    label: str

    @property
    def start_utc(self) -> datetime:
        return day_start_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        return day_start_utc(self.end + timedelta(days=1))

    def checkpoint(self, now: datetime | None = None) -> datetime:
        """The check point: the period's end, or now while the period runs."""
        return min(self.end_utc, now or utcnow())


_QUARTER = re.compile(r"^(\d{4})Q([1-4])$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$", re.ASCII)


def _month_end(year: int, month: int) -> date:
    return (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)


def parse_period(value: str | None) -> Period:
    """``2026Q4`` (a quarter) or ``2026-11`` (a month); 400 for anything else or a future period."""
    text = unicodedata.normalize("NFKC", value or "").strip().upper()  # ２０２６Ｑ４ (full width) is 2026Q4
    m = _QUARTER.match(text)
    if m:
        year, q = int(m.group(1)), int(m.group(2))
        p = Period(text, date(year, 3 * q - 2, 1), _month_end(year, 3 * q), f"{year}年第{'一二三四'[q - 1]}季度")
    elif (m := _MONTH.match(text)) is not None:
        year, month = int(m.group(1)), int(m.group(2))
        p = Period(text, date(year, month, 1), _month_end(year, month), f"{year}年{month}月")
    else:
        raise ApiError("考评期间格式应为季度 2026Q4 或月份 2026-11", details={"period": ["格式应为 YYYYQn 或 YYYY-MM"]})
    if not 2000 <= p.start.year <= 2100:
        raise ApiError("考评期间的年份超出范围", details={"period": ["年份应在 2000–2100 之间"]})
    if p.start > today_cn():
        raise ApiError("考评期间尚未开始", details={"period": [f"{p.label}尚未开始"]})
    return p


def current_quarter() -> str:
    today = today_cn()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def current_month() -> str:
    return today_cn().strftime("%Y-%m")


#: how many quarters and months the pages offer to choose from (current first)
CHOICE_QUARTERS, CHOICE_MONTHS = 8, 12


def period_choices(selected: Period | None = None) -> list[tuple[str, list[Period]]]:
    """What the pages' 考评期间 select offers: the recent quarters and months, newest (the
    current one) first; ``selected``, when older than those, at the end of its group."""
    quarters = previous_quarters(parse_period(current_quarter()), CHOICE_QUARTERS)[::-1]
    months: list[Period] = []
    year, month = today_cn().year, today_cn().month
    for _ in range(CHOICE_MONTHS):
        months.append(parse_period(f"{year}-{month:02d}"))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    for group in (quarters, months):
        if selected is not None and len(selected.key) == len(group[0].key) and selected not in group:
            group.append(selected)
    return [("季度", quarters), ("月份", months)]


def previous_quarters(period: Period, count: int) -> list[Period]:
    """``count`` quarters ending with the one that contains ``period``, oldest first."""
    year, q = period.start.year, (period.start.month - 1) // 3 + 1
    out = []
    for _ in range(count):
        out.append(parse_period(f"{year}Q{q}"))
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return out[::-1]


# ----------------------------------------------------------------------------- rules versions


def current_rules() -> ScoringRules:
    """The newest loaded version; the shipped default file is loaded the first time."""
    row = db.session.scalar(sa.select(ScoringRules).order_by(ScoringRules.id.desc()).limit(1))
    if row is None:
        row = load_rules(rules_mod.DEFAULT_RULES_PATH.read_text(encoding="utf-8"), None, note="系统默认规则文件")
    return row


def rules_history() -> list[ScoringRules]:
    return list(db.session.scalars(sa.select(ScoringRules).order_by(ScoringRules.id.desc())))


def validate_rules(text: str | None) -> rules_mod.Rules:
    if not text or not text.strip():
        raise ApiError("规则文件内容为空", details={"text": ["请提供规则文件（YAML）"]})
    try:
        return rules_mod.parse(text)
    except rules_mod.RulesError as exc:
        raise ApiError(exc.message, code="invalid_rules", details=exc.details) from None


def load_rules(
    text: str | None, actor: User | None, *, note: str | None = None, label: str | None = None
) -> ScoringRules:
    """Validate and store a new rules version (audited). Its version string must be new."""
    parsed = validate_rules(text)
    existing = db.session.scalar(sa.select(ScoringRules).where(ScoringRules.version == parsed.version))
    if existing is not None:
        raise Conflict(
            f"规则版本 {parsed.version} 已存在，请在文件中修改 version 后再载入",
            code="rules_version_exists",
            details={"version": [parsed.version]},
        )
    row = ScoringRules(
        version=parsed.version,
        title=parsed.data["title"],
        data=_jsonable(parsed.data),
        text=parsed.text,
        sha256=parsed.sha256,
        note=(note or "").strip() or None,
        loaded_by_id=getattr(actor, "id", None),
        loaded_by_label=label or getattr(actor, "display_name", None) or getattr(actor, "username", None) or "系统",
    )
    db.session.add(row)
    db.session.flush()
    audit(
        "scoring:rules:load",
        row,
        after={"version": row.version, "sha256": row.sha256, "note": row.note},
        actor=actor,
        actor_label=label,
    )
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def rules_of(row: ScoringRules) -> rules_mod.Rules:
    return rules_mod.Rules(version=row.version, data=row.data, text=row.text, sha256=row.sha256)


def rules_dict(row: ScoringRules, *, with_text: bool = False) -> dict[str, Any]:
    out = {
        "id": row.id,
        "version": row.version,
        "title": row.title,
        "sha256": row.sha256,
        "note": row.note,
        "loaded_by": row.loaded_by_label,
        "loaded_at": iso_utc(row.loaded_at),
        "pass_line": row.data.get("pass_line"),
        "full_marks": row.data.get("full_marks"),
        "sources": row.data.get("sources"),
        "veto": [{"key": v["key"], "label": v["label"], "status": v.get("status")} for v in row.data.get("veto", [])],
        "indicators": row.data.get("indicators"),
    }
    if with_text:
        out["text"] = row.text
    return out


# ----------------------------------------------------------------------------- facts


def _findings(account_id: int, period: Period, cp: datetime, statuses: list[str]) -> list[rules_mod.FactFinding]:
    wanted = [FindingStatus(s) for s in statuses if s != FindingStatus.dismissed.value]
    rows = db.session.scalars(
        sa.select(Finding)
        .where(
            Finding.account_id == account_id,
            Finding.status.in_(wanted),
            Finding.first_seen_at <= cp,
            # still open at the period's start: not resolved before it
            sa.or_(Finding.status != FindingStatus.resolved, Finding.updated_at >= period.start_utc),
        )
        .order_by(Finding.id)
    )
    out = []
    for f in rows:
        ev = f.evidence or {}
        hits = ev.get("hits") or []
        out.append(
            rules_mod.FactFinding(
                id=f.id,
                kind=f.kind.value,
                check_kinds=frozenset(str(h.get("kind")) for h in hits if isinstance(h, dict)),
                post_ids=(str(ev["post_id"]),) if ev.get("post_id") else (),
                live_post_id=ev.get("live_post_id") if isinstance(ev.get("live_post_id"), int) else None,
                message=str(ev.get("message") or ""),
            )
        )
    return out


def _post_rows(account_id: int, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Posts of the account published in [since, until): live posts as the inspection saw them,
    plus sent deliveries no live post stands for yet (each marked ``ours``)."""

    lives = db.session.execute(
        sa.select(
            LivePost.id,
            LivePost.published_at,
            LivePost.original,
            LivePost.source,
            LivePost.delivery_id,
            LivePost.check_hits,
            LivePost.exception.has(),
        ).where(LivePost.account_id == account_id, LivePost.published_at >= since, LivePost.published_at < until)
    ).all()
    rows = [
        {
            "at": r[1],
            "original": r[2] if r[2] is not None else (r[3] is PostSource.ours),
            "ours": r[3] is PostSource.ours,
            "delivery_id": r[4],
            "hits": len(r[5] or []),
            "allowed": bool(r[6]),
        }
        for r in lives
    ]
    seen = {r["delivery_id"] for r in rows if r["delivery_id"] is not None}
    sent = db.session.execute(
        sa.select(Delivery.id, Delivery.sent_at).where(
            Delivery.account_id == account_id,
            Delivery.sent_at.is_not(None),
            Delivery.sent_at >= since,
            Delivery.sent_at < until,
        )
    ).all()
    for delivery_id, sent_at in sent:
        if delivery_id not in seen:
            rows.append(
                {"at": sent_at, "original": True, "ours": True, "delivery_id": delivery_id, "hits": 0, "allowed": False}
            )
    rows.sort(key=lambda r: r["at"])
    return rows


def _has_post_data(account: Account) -> bool:
    if account.monitored_at is not None:
        return True
    return (
        db.session.scalar(
            sa.select(AccountInspection.last_success_at).where(AccountInspection.account_id == account.id)
        )
        is not None
    )


def _review_compliant(delivery_ids: list[int]) -> set[int]:
    """Deliveries whose content version had all three stages passed before it was sent (an
    approval, or a stage omitted under a lighter review the office allowed: ``PASSING_DECISIONS``)."""

    if not delivery_ids:
        return set()
    first = (
        sa.select(Review.content_id, Review.version, Review.stage, sa.func.min(Review.at).label("at"))
        .where(Review.decision.in_(PASSING_DECISIONS))
        .group_by(Review.content_id, Review.version, Review.stage)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.sent_at, first.c.stage, first.c.at)
        .join(first, sa.and_(first.c.content_id == Delivery.content_id, first.c.version == Delivery.version))
        .where(Delivery.id.in_(delivery_ids))
    ).all()
    stages: dict[int, set[int]] = defaultdict(set)
    for delivery_id, sent_at, stage, at in rows:
        if sent_at is not None and at <= sent_at:
            stages[delivery_id].add(stage)
    return {d for d, s in stages.items() if {1, 2, 3} <= s}


def _interaction(account_id: int, since: datetime, cp: datetime) -> dict[str, Any]:
    rows = db.session.execute(
        sa.select(InteractionItem.received_at, InteractionItem.replied_at).where(
            InteractionItem.account_id == account_id,
            InteractionItem.received_at >= since,
            InteractionItem.received_at < cp,
        )
    ).all()
    answered = [(r, a) for r, a in rows if a is not None and a <= cp]
    hours = [(a - r).total_seconds() / 3600 for r, a in answered]
    return {
        "received": len(rows),
        "answered": len(answered),
        "reply_rate": round(len(answered) / len(rows), 4) if rows else None,
        "median_reply_hours": round(statistics.median(hours), 1) if hours else None,
    }


def quality_indices(account: Account, period: Period, cp: datetime) -> dict[str, Any]:
    """Originality, regularity, reply rate and time, review compliance, check hits per post."""
    posts = _post_rows(account.id, period.start_utc, cp)
    n = len(posts)
    original = sum(1 for p in posts if p["original"])
    weeks = max(1, math.ceil(((cp - period.start_utc).total_seconds() / 86400) / 7))
    active_weeks = len({(p["at"].replace(tzinfo=None) - period.start_utc).days // 7 for p in posts})
    marks = [period.start_utc, *(p["at"] for p in posts), cp]
    longest_gap = max((b - a).total_seconds() / 86400 for a, b in itertools.pairwise(marks))
    ours = [p["delivery_id"] for p in posts if p["ours"] and p["delivery_id"] is not None]
    compliant = len(_review_compliant(ours))
    unreviewed = sum(1 for p in posts if not p["ours"] and not p["allowed"])
    hits = sum(p["hits"] for p in posts)
    return {
        "posts": n,
        "original_posts": original,
        "original_share": round(original / n, 4) if n else None,
        "weeks": weeks,
        "active_weeks": min(active_weeks, weeks),
        "regularity": round(min(active_weeks, weeks) / weeks, 4),
        "longest_gap_days": round(longest_gap, 1),
        "review_compliant_posts": compliant,
        "review_compliance": round(compliant / n, 4) if n else None,
        "unreviewed_posts": unreviewed,
        "check_hits": hits,
        "posts_with_hits": sum(1 for p in posts if p["hits"]),
        "hits_per_post": round(hits / n, 4) if n else None,
        "interaction": _interaction(account.id, period.start_utc, cp),
    }


def _fraud(account_id: int, period: Period, cp: datetime) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        sa.select(FraudRecord)
        .where(
            FraudRecord.account_id == account_id,
            FraudRecord.decided_on >= period.start,
            FraudRecord.decided_on <= period.end,
            sa.or_(FraudRecord.revoked_at.is_(None), FraudRecord.revoked_at > cp),
        )
        .order_by(FraudRecord.id)
    )
    return [{"id": r.id, "kind": r.kind.value, "kind_label": FRAUD_LABELS[r.kind], "note": r.note} for r in rows]


def gather(account: Account, period: Period, rules: rules_mod.Rules, now: datetime | None = None) -> tuple[Any, Any]:
    cp = period.checkpoint(now)
    times = [p["at"] for p in _post_rows(account.id, cp - timedelta(days=LOOKBACK_DAYS), cp + timedelta(seconds=1))]
    indices = quality_indices(account, period, cp)
    facts = rules_mod.Facts(
        checkpoint=cp,
        findings=_findings(account.id, period, cp, rules.data["finding_statuses"]),
        post_times=times if times or _has_post_data(account) else None,
        last_post_at=account.last_post_at,
        fraud=_fraud(account.id, period, cp),
        posts=indices["posts"],
        original_posts=indices["original_posts"],
        items_received=indices["interaction"]["received"],
        items_answered=indices["interaction"]["answered"],
    )
    return facts, indices


# ----------------------------------------------------------------------------- scores


def score_account(
    account: Account, period: Period, row: ScoringRules, *, label: str = "系统", now: datetime | None = None
) -> AccountScore:
    """Compute (or recompute under the same rules version) one account's score. Flushes."""
    rules = rules_of(row)
    facts, indices = gather(account, period, rules, now)
    outcome = rules_mod.evaluate(rules, facts)
    score = db.session.scalar(
        sa.select(AccountScore).where(
            AccountScore.account_id == account.id, AccountScore.period == period.key, AccountScore.rules_id == row.id
        )
    )
    if score is None:
        score = AccountScore(account_id=account.id, period=period.key, rules_id=row.id)
        db.session.add(score)
    score.unit_id = account.unit_id
    score.period_start, score.period_end = period.start, period.end
    score.checkpoint_at = facts.checkpoint
    score.rules_version = row.version
    score.vetoed = outcome.vetoed
    score.veto_items = outcome.veto_items
    score.deductions = outcome.deductions
    score.indicators = outcome.indicators
    score.total = outcome.total
    score.passed = outcome.passed
    score.data_gaps = outcome.data_gaps
    score.indices = indices
    score.computed_at = utcnow()
    score.computed_by_label = label
    db.session.flush()
    return score


def scorable_accounts(unit_ids: set[int] | None = None, account_id: int | None = None) -> list[Account]:
    stmt = sa.select(Account).where(Account.status.in_(MONITORED_STATUSES)).order_by(Account.unit_id, Account.id)
    if unit_ids is not None:
        stmt = stmt.where(Account.unit_id.in_(unit_ids or {-1}))
    if account_id is not None:
        stmt = stmt.where(Account.id == account_id)
    return list(db.session.scalars(stmt))


def compute(
    period: Period, actor: User | None, *, account_id: int | None = None, label: str | None = None
) -> dict[str, Any]:
    """Score every monitored account (or one) for the period with the current rules (audited)."""
    row = current_rules()
    accounts = scorable_accounts(account_id=account_id)
    if account_id is not None and not accounts:
        raise NotFound("账号不存在或不在考评范围内（运行中/变更中/停更公告期）")
    who = label or getattr(actor, "display_name", None) or getattr(actor, "username", None) or "系统"
    scores = [score_account(a, period, row, label=who) for a in accounts]
    summary = {
        "period": period.key,
        "rules_version": row.version,
        "accounts": len(scores),
        "passed": sum(1 for s in scores if s.passed),
        "vetoed": sum(1 for s in scores if s.vetoed),
    }
    audit(
        "scoring:compute",
        object_type="account_scores",
        object_id=period.key,
        after=summary,
        actor=actor,
        actor_label=label,
    )
    return summary


def latest_scores(period: str, unit_ids: set[int] | None) -> list[AccountScore]:
    """The newest score of each account for the period (whatever rules version made it)."""
    newest = (
        sa.select(AccountScore.account_id, sa.func.max(AccountScore.id).label("id"))
        .where(AccountScore.period == period)
        .group_by(AccountScore.account_id)
        .subquery()
    )
    stmt = (
        sa.select(AccountScore)
        .join(newest, newest.c.id == AccountScore.id)
        .join(Account, Account.id == AccountScore.account_id)
        .order_by(AccountScore.unit_id, Account.platform, Account.name, AccountScore.account_id)
    )
    if unit_ids is not None:
        stmt = stmt.where(AccountScore.unit_id.in_(unit_ids or {-1}))
    return list(db.session.scalars(stmt))


def account_history(account_id: int) -> list[AccountScore]:
    return list(
        db.session.scalars(
            sa.select(AccountScore)
            .where(AccountScore.account_id == account_id)
            .order_by(AccountScore.period_start.desc(), AccountScore.id.desc())
        )
    )


def result_label(s: AccountScore) -> str:
    if s.vetoed:
        return "不合格（单项否决）"
    return "合格" if s.passed else "不合格（低于合格线）"


def score_dict(s: AccountScore) -> dict[str, Any]:
    a = s.account
    return {
        "id": s.id,
        "account_id": s.account_id,
        "account_name": a.name,
        "platform": a.platform.value,
        "platform_label": PLATFORM_LABELS.get(a.platform, a.platform.value),
        "unit_id": s.unit_id,
        "unit_name": s.unit.name if s.unit else None,
        "period": s.period,
        "period_start": s.period_start.isoformat(),
        "period_end": s.period_end.isoformat(),
        "checkpoint_at": iso_utc(s.checkpoint_at),
        "rules_version": s.rules_version,
        "vetoed": s.vetoed,
        "veto_items": s.veto_items,
        "deductions": s.deductions,
        "indicators": s.indicators,
        "deducted": round(sum(i["applied"] for i in s.indicators), 2),
        "total": s.total,
        "passed": s.passed,
        "result_label": result_label(s),
        "data_gaps": s.data_gaps,
        "indices": s.indices,
        "computed_at": iso_utc(s.computed_at),
        "computed_by": s.computed_by_label,
    }


# ----------------------------------------------------------------------------- fraud records


def record_fraud(account: Account, actor: User, data: dict[str, Any]) -> FraudRecord:
    note = (data.get("note") or "").strip()
    if len(note) < 4:
        raise ApiError("请写明认定依据（至少 4 个字）", details={"note": ["至少 4 个字"]})
    try:
        kind = FraudKind(data.get("kind"))
    except ValueError:
        raise ApiError(
            "弄虚作假类型无效", details={"kind": [f"可选：{', '.join(k.value for k in FraudKind)}"]}
        ) from None
    decided_on = data.get("decided_on") or today_cn()
    if decided_on > today_cn():
        raise ApiError("认定日期不能晚于今天", details={"decided_on": ["不能晚于今天"]})
    rec = FraudRecord(
        account_id=account.id,
        kind=kind,
        decided_on=decided_on,
        decision_ref=(data.get("decision_ref") or "").strip() or None,
        note=note,
        recorded_by_id=actor.id,
    )
    db.session.add(rec)
    db.session.flush()
    audit(
        "scoring:fraud:record",
        rec,
        after={"account_id": account.id, "kind": kind.value, "decided_on": decided_on, "note": note},
        actor=actor,
    )
    return rec


def fraud_dict(r: FraudRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "account_id": r.account_id,
        "kind": r.kind.value,
        "kind_label": FRAUD_LABELS[r.kind],
        "decided_on": r.decided_on.isoformat(),
        "decision_ref": r.decision_ref,
        "note": r.note,
        "recorded_at": iso_utc(r.recorded_at),
        "revoked_at": iso_utc(r.revoked_at),
    }
