"""Finding lifecycle (问题线索): upsert by fingerprint, confirm / dismiss / resolve, deadlines.

Findings come from reconciliation (discovery) and from monitoring. Each has a stable
``fingerprint``; writers call :func:`upsert_many` with everything they concluded and this module
decides what happens:

* new fingerprint → a new ``open`` finding;
* ``open`` / ``confirmed`` → evidence, confidence and ``last_seen_at`` are refreshed;
* ``dismissed`` / ``resolved`` → stays closed (only ``last_seen_at`` moves) **unless there is new
  evidence**: the material part of the evidence changed (see ``MATERIAL_KEYS``), or — for
  ``closed_but_active`` / ``reopened`` — the platform shows a post later than the decision.
  Then it is reopened and the earlier decision is kept in ``evidence["history"]``.

Actions of the 网信办 (auditor/admin): ``confirm`` sets a deadline for the unit in working days
(``FINDING_DEADLINE_WORKDAYS``), ``dismiss`` and ``resolve`` need a reason; ``resolve`` may carry a
remedy that does the work through the registry's services (:mod:`oversight.findings_remedies`).
Every state change is written to the audit log, and the finding's 整改 work order follows
(``oversight.workorders.service.sync_finding``). Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from audit import service as audit
from auth.models import Role, User
from auth.scoping import scope_filter
from common.bulk import insert_rows, json_text, next_ids
from common.db import utcnow
from common.errors import Conflict, Invalid
from common.timefmt import CN_TZ, today_cn  # today_cn re-exported: tests take it from here
from common.workdays import add_workdays
from extensions import db
from oversight import finding_units
from oversight.models import FINDING_LABELS, DiscoveredAccount, Finding, FindingKind, FindingStatus
from oversight.workorders import service as workorders
from platforms.types import PLATFORM_LABELS
from registry.models import Account, Platform, Unit

# Who sees findings and reports (operators: their own units, read-only); who works them.
VIEW_ROLES = (Role.operator, Role.auditor, Role.admin)
MAX_EXPORT_ROWS = 50_000

ACTIVE_STATUSES = (FindingStatus.open, FindingStatus.confirmed)
#: the status filter's value for both active statuses: 未办结 (待处理 + 整改中)
ACTIVE_FILTER = "active"
CLOSED_STATUSES = (FindingStatus.dismissed, FindingStatus.resolved)

STATUS_LABELS = {
    FindingStatus.open: "待处理",
    FindingStatus.confirmed: "已确认（整改中）",
    FindingStatus.dismissed: "已排除",
    FindingStatus.resolved: "已解决",
}

REOPEN_LABELS = {
    "evidence_changed": "证据发生变化",
    "posted_after_decision": "处理后平台上又有新发布",
    "condition_returned": "系统已关闭的问题再次出现（如账号取消了授权）",
}

ACTIONS = ("confirm", "dismiss", "resolve")
#: naming the 责任单位 of a finding confirmed without one (:func:`assign_unit`); not in ACTIONS
ASSIGN_UNIT = "assign_unit"
ACTION_LABELS = {
    "confirm": "确认并下发整改",
    "dismiss": "排除（误报）",
    "resolve": "标记已解决",
    ASSIGN_UNIT: "指定责任单位并下发整改",
}
_ALLOWED_FROM: dict[str, tuple[FindingStatus, ...]] = {
    "confirm": (FindingStatus.open,),
    "dismiss": (FindingStatus.open, FindingStatus.confirmed),
    "resolve": (FindingStatus.open, FindingStatus.confirmed),
}
_TARGET = {"confirm": FindingStatus.confirmed, "dismiss": FindingStatus.dismissed, "resolve": FindingStatus.resolved}

INACTIVITY_KINDS = (FindingKind.inactive_warning, FindingKind.inactive_14d, FindingKind.zombie_90d)
# Kinds for which a post published after the decision is itself new evidence.
POST_EVIDENCE_KINDS = (FindingKind.closed_but_active, FindingKind.reopened)
#: Kinds whose condition can come back after the system resolved them (an account authorised, then
#: the grant withdrawn, e.g. a 公众号 cancelling its 第三方平台 authorisation): seen again → reopened.
REOPEN_WHEN_RETURNED = (FindingKind.not_authorised,)

# Keys kept across evidence refreshes (lifecycle bookkeeping, not observations).
RESERVED_KEYS = ("decision", "history")

# What counts as "the same evidence" per kind. Everything else (last_post_at, followers,
# messages with dates, scores, which run saw it) may change without reopening a closed finding.
MATERIAL_KEYS: dict[FindingKind, tuple[str, ...]] = {
    FindingKind.unregistered: ("platform", "uid", "name", "subject", "verified", "unit_name"),
    FindingKind.closed_but_active: ("platform", "uid", "registered_status", "closed_on", "posted_after_closure"),
    FindingKind.reopened: ("platform", "uid", "registered_status", "closed_on"),
    FindingKind.name_mismatch: ("platform", "uid", "registered_name", "platform_name"),
    FindingKind.subject_mismatch: ("platform", "uid", "subject", "unit_name", "registered_subject"),
    FindingKind.duplicate: ("platform", "uid", "name", "subject", "unit_name", "source_of_duplicate", "account_ids"),
    FindingKind.inactive_warning: ("since",),
    FindingKind.inactive_14d: ("since",),
    FindingKind.zombie_90d: ("since",),
    # Inspection of live posts (oversight/inspection/).
    FindingKind.unreviewed_post: ("platform", "uid", "post_ids"),
    FindingKind.post_check_hit: ("platform", "post_id", "hit_keys"),
    FindingKind.tampered: ("platform", "post_id", "live_text_hash"),
    FindingKind.post_removed: ("platform", "post_id", "removed_reason"),
    FindingKind.account_unavailable: ("platform", "uid", "platform_status"),
    FindingKind.not_authorised: ("platform", "uid"),
}


# ----------------------------------------------------------------------------- settings


def setting_int(name: str, default: int) -> int:
    """An integer setting from the app config (config.py reads the environment), else ``default``."""
    value: Any = current_app.config.get(name) if has_app_context() else None
    if value in (None, ""):
        return default
    return int(value)


def to_cn(value: datetime | None) -> datetime | None:
    """A stored naive-UTC (or aware) datetime as an aware Beijing-time datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CN_TZ)


def to_naive_utc(value: datetime | None) -> datetime | None:
    """Aware → naive UTC (how the database stores times); naive values are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def iso_cn(value: datetime | None) -> str | None:
    cn = to_cn(value)
    return cn.isoformat(timespec="seconds") if cn else None


def parse_iso(value: Any) -> datetime | None:
    """An ISO string from evidence as an aware datetime (naive strings are UTC)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------- upsert


@dataclass(frozen=True)
class FindingInput:
    """One conclusion to write. ``evidence["message"]`` is the Chinese one-line summary."""

    kind: FindingKind
    fingerprint: str
    evidence: dict[str, Any]
    confidence: float = 1.0
    account_id: int | None = None
    unit_id: int | None = None
    discovered_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewFinding:
    """A finding :func:`upsert_many` created, as plain values (``load_created=False``)."""

    id: int
    kind: FindingKind
    fingerprint: str
    account_id: int | None
    unit_id: int | None


@dataclass
class UpsertReport:
    #: The created findings as ORM objects (with ``load_created``, the default), in input order.
    created: list[Finding] = field(default_factory=list)
    updated: list[Finding] = field(default_factory=list)
    reopened: list[Finding] = field(default_factory=list)
    unchanged_closed: list[Finding] = field(default_factory=list)
    #: The created findings as plain values, always, in input order.
    new: list[NewFinding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.new),
            "updated": len(self.updated),
            "reopened": len(self.reopened),
            "unchanged_closed": len(self.unchanged_closed),
        }


def _material(value: Any) -> Any:
    """Lists of registered accounts compare by id only (their names/status are not the point)."""
    if isinstance(value, list):
        return [v.get("id") if isinstance(v, dict) and "id" in v else _material(v) for v in value]
    if isinstance(value, dict):
        return {k: _material(v) for k, v in sorted(value.items())}
    return value


def material_evidence(kind: FindingKind, evidence: dict[str, Any]) -> dict[str, Any]:
    keys = MATERIAL_KEYS.get(kind)
    if keys is None:
        skip = {"message", "last_post_at", "followers", "posts_count", "last_check", *RESERVED_KEYS}
        return {k: _material(v) for k, v in evidence.items() if k not in skip}
    out = {k: _material(evidence.get(k)) for k in keys}
    if kind is FindingKind.duplicate and out.get("account_ids") is None:
        out["account_ids"] = _material(evidence.get("accounts"))
    return out


def evidence_hash(kind: FindingKind, evidence: dict[str, Any]) -> str:
    raw = json.dumps(material_evidence(kind, evidence), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_evidence_reason(finding: Finding, inp: FindingInput) -> str | None:
    """Why a closed finding must be reopened, or None when nothing new was observed."""
    old = finding.evidence or {}
    if evidence_hash(finding.kind, old) != evidence_hash(inp.kind, inp.evidence):
        return "evidence_changed"
    decision = old.get("decision") or {}
    if (
        inp.kind in REOPEN_WHEN_RETURNED
        and finding.status is FindingStatus.resolved
        and str(decision.get("by") or "").startswith("system:")
    ):
        return "condition_returned"
    if inp.kind in POST_EVIDENCE_KINDS:
        decided = parse_iso((old.get("decision") or {}).get("at"))
        posted = parse_iso(inp.evidence.get("last_post_at"))
        if decided is not None and posted is not None and posted > decided:
            return "posted_after_decision"
    return None


def _carry_reserved(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    out = dict(new)
    for key in RESERVED_KEYS:
        if old and key in old:
            out[key] = old[key]
    return out


def _lock(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Row locks on PostgreSQL; on SQLite, FOR UPDATE takes the one write lock (common/sqlite.py)."""
    return stmt.with_for_update()


def load_by_fingerprints(fingerprints: Iterable[str]) -> dict[str, Finding]:
    """The findings with these fingerprints, row-locked: on PostgreSQL one ``= ANY(array)`` query
    per 10,000 (one parameter, where an IN list of 500 costs the driver a parse of 500
    placeholders per query), elsewhere IN lists of 500."""
    fps = sorted(set(fingerprints))
    found: dict[str, Finding] = {}
    pg = db.session.get_bind().dialect.name == "postgresql"
    step = 10_000 if pg else 500
    for i in range(0, len(fps), step):
        chunk = fps[i : i + step]
        where = (
            Finding.fingerprint == sa.any_(sa.bindparam("fps", chunk, type_=sa.ARRAY(sa.String)))
            if pg
            else Finding.fingerprint.in_(chunk)
        )
        for f in db.session.scalars(_lock(sa.select(Finding).where(where))):
            found[f.fingerprint] = f
    return found


def upsert_many(
    inputs: Sequence[FindingInput], now: datetime | None = None, *, load_created: bool = True
) -> UpsertReport:
    """Write a batch of conclusions by fingerprint (one flush). Does not audit: callers record
    one entry per run with the report (see discovery/monitoring). New findings go in as rows
    (:func:`_insert_new`); ``load_created=False`` leaves them out of the session (``report.new``
    only), for a writer that needs their ids, kinds and fingerprints and nothing else."""
    now = now or utcnow()
    report = UpsertReport()
    existing = load_by_fingerprints(i.fingerprint for i in inputs)
    seen: set[str] = set()
    new_inputs: list[FindingInput] = []
    for inp in inputs:
        if inp.fingerprint in seen:
            continue
        seen.add(inp.fingerprint)
        finding = existing.get(inp.fingerprint)
        if finding is None:
            new_inputs.append(inp)
            continue
        confidence = _confidence(inp)
        if finding.status in CLOSED_STATUSES:
            why = _new_evidence_reason(finding, inp)
            if why is None:
                finding.last_seen_at = now
                report.unchanged_closed.append(finding)
                continue
            old = finding.evidence or {}
            history = [*list(old.get("history") or []), {**(old.get("decision") or {}), "reopened_because": why}]
            evidence = {**inp.evidence, "history": history, "reopened_at": iso_cn(now), "reopened_because": why}
            finding.status = FindingStatus.open
            finding.due_on = None
            finding.reason = None
            finding.decided_by_id = None
            finding.evidence = evidence
            report.reopened.append(finding)
        else:
            finding.evidence = _carry_reserved(finding.evidence, inp.evidence)
            report.updated.append(finding)
        finding.confidence = confidence
        finding.last_seen_at = now
        if inp.account_id is not None:
            finding.account_id = inp.account_id
        if inp.unit_id is not None:
            finding.unit_id = inp.unit_id
        if inp.discovered_id is not None:
            finding.discovered_id = inp.discovered_id
    db.session.flush()
    report.new = _insert_new(new_inputs, now)
    if load_created and report.new:
        by_id: dict[int, Finding] = {}
        ids = [n.id for n in report.new]
        for i in range(0, len(ids), 500):
            by_id.update(
                (f.id, f) for f in db.session.scalars(sa.select(Finding).where(Finding.id.in_(ids[i : i + 500])))
            )
        report.created = [by_id[i] for i in ids]
    return report


def _confidence(inp: FindingInput) -> float:
    return round(max(0.0, min(1.0, float(inp.confidence))), 3)


#: The columns :func:`_insert_new` writes, in order.
_NEW_COLUMNS = (
    "kind",
    "status",
    "fingerprint",
    "account_id",
    "unit_id",
    "discovered_id",
    "confidence",
    "evidence",
    "first_seen_at",
    "last_seen_at",
    "created_at",
    "updated_at",
)


def _insert_new(inputs: list[FindingInput], now: datetime) -> list[NewFinding]:
    """New ``open`` findings as rows encoded here and handed to the driver in one go — ``COPY …
    FROM STDIN`` on PostgreSQL (evidence as JSON text without ``\\u`` escapes: half the bytes
    for Chinese text), one ``executemany`` elsewhere (each value through its column type's own
    encoding) — with no ORM object, RETURNING or per-row statement. On PostgreSQL the ids are
    taken from the table's sequence and written with the rows; elsewhere read back."""
    if not inputs:
        return []
    conn = db.session.connection()
    dialect = conn.dialect
    table = Finding.__table__
    pg = dialect.name == "postgresql"
    c = table.c

    def proc(name: str) -> Callable[[Any], Any]:
        convert = c[name].type.dialect_impl(dialect).bind_processor(dialect)
        return convert or (lambda value: value)

    if pg:
        kind_of: Callable[[Any], Any] = operator.attrgetter("value")
        open_: Any = FindingStatus.open.value
        as_json: Callable[[Any], Any] = json_text
        at: Any = now
    else:
        kind_of, as_json = proc("kind"), proc("evidence")
        open_, at = proc("status")(FindingStatus.open), proc("created_at")(now)
    rows = [
        (
            kind_of(inp.kind),
            open_,
            inp.fingerprint,
            inp.account_id,
            inp.unit_id,
            inp.discovered_id,
            _confidence(inp),
            as_json(inp.evidence),
            at,
            at,
            at,
            at,
        )
        for inp in inputs
    ]
    ids = next_ids(conn, table, len(rows))
    if ids is not None:  # PostgreSQL: the ids first, written with the rows
        insert_rows(conn, table, ("id", *_NEW_COLUMNS), [(i, *row) for i, row in zip(ids, rows, strict=True)])
        by_fp = {inp.fingerprint: i for inp, i in zip(inputs, ids, strict=True)}
    else:
        by_fp = _read_back_ids(conn, table, rows, inputs)
    return [
        NewFinding(by_fp[inp.fingerprint], inp.kind, inp.fingerprint, inp.account_id, inp.unit_id) for inp in inputs
    ]


def _read_back_ids(
    conn: sa.Connection, table: sa.Table, rows: list[tuple[Any, ...]], inputs: list[FindingInput]
) -> dict[str, int]:
    """SQLite: insert, then the ids of the new rows (above the highest id before the write,
    matched by the unique fingerprint)."""
    c = table.c
    before: int = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(c.id), 0))) or 0
    insert_rows(conn, table, _NEW_COLUMNS, rows)
    wanted = {inp.fingerprint for inp in inputs}
    ids: dict[str, int] = {
        fp: i for i, fp in conn.execute(sa.select(c.id, c.fingerprint).where(c.id > before)) if fp in wanted
    }
    if len(ids) != len(wanted):  # cannot happen unless ids were not allocated above ``before``
        raise RuntimeError(f"ids of {len(wanted) - len(ids)} new findings not found after the insert")
    return ids


# ----------------------------------------------------------------------------- actions


def _decision(status: FindingStatus, actor: User | None, reason: str | None, now: datetime) -> dict[str, Any]:
    return {
        "status": status.value,
        "at": iso_cn(now),
        "by": getattr(actor, "username", None) or "system",
        "reason": reason,
    }


def _snapshot(f: Finding) -> dict[str, Any]:
    return {
        "status": f.status.value,
        "reason": f.reason,
        "due_on": f.due_on.isoformat() if f.due_on else None,
        "decided_by_id": f.decided_by_id,
        "unit_id": f.unit_id,
    }


Remedy = Callable[[Finding], dict[str, Any]]


def deadline_workdays() -> int:
    """The 整改期限 when the office sets none: ``FINDING_DEADLINE_WORKDAYS`` working days on."""
    return setting_int("FINDING_DEADLINE_WORKDAYS", 5)


def check_deadline(action: str, due_on: date | None) -> None:
    """422 unless a 整改期限 given with ``confirm`` lies between today and MAX_DEADLINE_DAYS on."""
    if due_on is None:
        return
    if action != "confirm":
        raise Invalid("只有“确认并下发整改”可以设定整改期限", details={"due_on": ["只能与 confirm 一起使用"]})
    today = today_cn()
    if due_on < today:
        raise Invalid("整改期限不能早于今天", details={"due_on": [f"请选择 {today.isoformat()} 或以后的日期"]})
    if (due_on - today).days > MAX_DEADLINE_DAYS:
        raise Invalid(
            f"整改期限不能超过 {MAX_DEADLINE_DAYS} 天", details={"due_on": [f"请选择 {MAX_DEADLINE_DAYS} 天内的日期"]}
        )


def check_reason(action: str, reason: str | None) -> str | None:
    """The stripped reason, or 422 when ``dismiss`` / ``resolve`` lack one (at least 2 characters)."""
    reason = (reason or "").strip() or None
    if action in ("dismiss", "resolve") and (reason is None or len(reason) < 2):
        text = "排除或解决时请填写原因（至少 2 个字）"
        raise Invalid(text, details={"reason": [text]})
    return reason


#: the latest 整改期限 the office may set when confirming, in days from today
MAX_DEADLINE_DAYS = 180
NO_UNIT_DEADLINE = "该问题线索没有对应单位：设定整改期限时请选择责任单位（整改工单发给该单位）"


def act(
    finding: Finding,
    action: str,
    actor: User,
    reason: str | None = None,
    *,
    remedy: Remedy | None = None,
    due_on: date | None = None,
    unit: Unit | None = None,
) -> Finding:
    """Apply ``confirm`` / ``dismiss`` / ``resolve`` (role and scope are checked by the view).

    ``remedy`` (resolve only; see :mod:`oversight.findings_remedies`) runs after the reason and
    the finding's state are checked and before the status changes; it does the work through the
    registry's services and returns what it did, which goes into the decision and the audit
    entry. When it raises, the finding is left as it was (the caller rolls back).

    ``due_on`` (confirm only): the 整改期限 the office sets, from today to
    :data:`MAX_DEADLINE_DAYS` days on; without it, ``FINDING_DEADLINE_WORKDAYS`` working days.
    ``unit`` (confirm, a finding without one; checked by :mod:`oversight.finding_units`): the
    责任单位 the office picked, recorded on the finding. A finding with no unit gets no deadline.
    """
    if action not in ACTIONS:
        raise Invalid(f"未知操作：{action}", details={"action": [f"可选：{', '.join(ACTIONS)}"]})
    if remedy is not None and action != "resolve":
        raise Invalid("只有“标记已解决”可以附带处置", details={"remedy": ["只能与 resolve 一起使用"]})
    reason = check_reason(action, reason)
    check_deadline(action, due_on)
    if due_on is not None and finding.unit_id is None and unit is None:
        raise Invalid(NO_UNIT_DEADLINE, details={"unit_id": [NO_UNIT_DEADLINE]})
    db.session.refresh(finding, with_for_update=True)
    if finding.status not in _ALLOWED_FROM[action]:
        raise Conflict(
            f"问题线索当前状态为“{STATUS_LABELS[finding.status]}”，不能{ACTION_LABELS[action]}",
            code="finding_state",
            details={"status": finding.status.value, "action": action},
        )
    before = _snapshot(finding)
    done = remedy(finding) if remedy is not None else None
    if unit is not None and finding.unit_id is None:
        finding.unit_id = unit.id
    now = utcnow()
    target = _TARGET[action]
    finding.status = target
    finding.reason = reason
    finding.decided_by_id = actor.id
    if action == "confirm":  # nobody to set a deadline for without a unit
        finding.due_on = (due_on or add_workdays(today_cn(), deadline_workdays())) if finding.unit_id else None
    decision = _decision(target, actor, reason, now)
    if done is not None:
        decision["remedy"] = done
    finding.evidence = {**(finding.evidence or {}), "decision": decision}
    db.session.flush()
    after = _snapshot(finding) | ({"remedy": done, "account_id": finding.account_id} if done is not None else {})
    audit.record(f"finding:status:{action}", finding, before=before, after=after, actor=actor)
    workorders.sync_finding(finding, actor=actor)  # confirm issues the unit's 整改 work order
    return finding


def unit_refusal(finding: Finding) -> str | None:
    """Why no 责任单位 can be named for ``finding`` now (:func:`assign_unit`); None when it can."""
    if finding.status is not FindingStatus.confirmed:
        return f"问题线索当前状态为“{STATUS_LABELS[finding.status]}”，只有已确认、没有责任单位的线索可以补选责任单位"
    if finding.unit_id is not None:
        return finding_units.has_unit(finding)
    order = workorders.order_of(finding)
    return f"该问题线索已有整改工单 #{order.id}，不能另选责任单位" if order is not None else None


NO_UNIT_CHOSEN = "请选择责任单位（整改工单发给该单位）"


def assign_unit(
    finding: Finding, actor: User, unit_id: int | None, *, due_on: date | None = None, reason: str | None = None
) -> Finding:
    """Name the 责任单位 of a finding confirmed without one (no unit, no work order) and issue that
    unit's work order exactly as ``confirm`` does: the 整改期限 is ``due_on`` (same limits) or
    ``FINDING_DEADLINE_WORKDAYS`` working days on; ``reason``, when given, is the new 整改要求
    (else the confirming one stays). Audited as ``finding:unit:assign`` (unit_id, due_on, reason
    before and after). A missing or refused unit (:mod:`oversight.finding_units`) is 422, a finding
    in any other state 409; both change nothing. Role and scope are checked by the view."""
    if unit_id is None:
        raise Invalid(NO_UNIT_CHOSEN, details={"unit_id": [NO_UNIT_CHOSEN]})
    check_deadline("confirm", due_on)
    reason = check_reason("confirm", reason)
    db.session.refresh(finding, with_for_update=True)
    refusal = unit_refusal(finding)
    if refusal is not None:
        raise Conflict(refusal, code="finding_state", details={"status": finding.status.value, "action": ASSIGN_UNIT})
    unit = finding_units.named_unit(actor, unit_id)
    before = _snapshot(finding)
    finding.unit_id = unit.id
    finding.due_on = due_on or add_workdays(today_cn(), deadline_workdays())
    finding.reason = reason or finding.reason
    db.session.flush()
    audit.record("finding:unit:assign", finding, before=before, after=_snapshot(finding), actor=actor)
    workorders.sync_finding(finding, actor=actor)  # the finding is confirmed: the unit's order is issued
    return finding


def resolve_by_system(finding: Finding, reason: str, *, actor_label: str = "system:monitoring") -> bool:
    """Close an active finding because the condition is gone (e.g. the account posts again)."""
    if finding.status not in ACTIVE_STATUSES:
        return False
    now = utcnow()
    before = _snapshot(finding)
    finding.status = FindingStatus.resolved
    finding.reason = reason
    finding.decided_by_id = None
    evidence = dict(finding.evidence or {})
    evidence["decision"] = {"status": "resolved", "at": iso_cn(now), "by": actor_label, "reason": reason}
    finding.evidence = evidence
    db.session.flush()
    audit.record(
        "finding:status:auto_resolve", finding, before=before, after=_snapshot(finding), actor_label=actor_label
    )
    workorders.sync_finding(finding, actor_label=actor_label)
    return True


# ----------------------------------------------------------------------------- views of a finding


def listing(user: User, q: dict[str, Any]) -> sa.Select[Any]:
    """Findings ``user`` may see, filtered by ``q`` (kind, status — a status or ``active``, 未办结:
    open and confirmed —, unit_id, account_id, platform), open first, then confirmed, resolved,
    dismissed; newest first within each."""
    stmt = sa.select(Finding).where(scope_filter(user, Finding.unit_id))
    if q.get("kind"):
        stmt = stmt.where(Finding.kind == FindingKind(q["kind"]))
    if q.get("status") == ACTIVE_FILTER:
        stmt = stmt.where(Finding.status.in_(ACTIVE_STATUSES))
    elif q.get("status"):
        stmt = stmt.where(Finding.status == FindingStatus(q["status"]))
    if q.get("unit_id") is not None:
        stmt = stmt.where(Finding.unit_id == q["unit_id"])
    if q.get("account_id") is not None:
        stmt = stmt.where(Finding.account_id == q["account_id"])
    if q.get("platform"):
        platform = Platform(q["platform"])
        stmt = stmt.where(
            sa.or_(
                Finding.account_id.in_(sa.select(Account.id).where(Account.platform == platform)),
                Finding.discovered_id.in_(
                    sa.select(DiscoveredAccount.id).where(DiscoveredAccount.platform == platform)
                ),
            )
        )
    status_order = sa.case(
        {FindingStatus.open: 0, FindingStatus.confirmed: 1, FindingStatus.resolved: 2, FindingStatus.dismissed: 3},
        value=Finding.status,
        else_=4,
    )
    return stmt.order_by(status_order, Finding.last_seen_at.desc(), Finding.id.desc())


def finding_platform(f: Finding) -> str | None:
    if f.account is not None:
        return f.account.platform.value
    if f.discovered is not None:
        return f.discovered.platform.value
    value = (f.evidence or {}).get("platform")
    return str(value) if value else None


def platform_label(platform: str | None) -> str | None:
    if not platform:
        return None
    try:
        return PLATFORM_LABELS[Platform(platform)]
    except ValueError:
        return platform


def is_overdue(f: Finding, today: date | None = None) -> bool:
    return f.status is FindingStatus.confirmed and f.due_on is not None and f.due_on < (today or today_cn())


def finding_uid(f: Finding) -> str | None:
    """The platform-side account the finding is about (API.md): for a ``duplicate`` found on the
    platform that is the second account (the evidence's uid), not the registered one."""
    evidence = f.evidence or {}
    if f.kind is FindingKind.duplicate and evidence.get("uid"):
        return str(evidence["uid"])
    return f.account.platform_uid if f.account is not None else evidence.get("uid")


def found_name(f: Finding) -> str | None:
    """The name of the second account a ``duplicate`` found on the platform (the one ``uid``
    names), when it is not the registered account itself; None otherwise."""
    evidence = f.evidence or {}
    if f.kind is not FindingKind.duplicate or f.account is None or not evidence.get("uid"):
        return None
    if str(evidence["uid"]) == (f.account.platform_uid or ""):
        return None
    return str(evidence.get("name") or "") or None


def finding_dict(f: Finding, *, with_evidence: bool = False) -> dict[str, Any]:
    evidence = f.evidence or {}
    platform = finding_platform(f)
    account_name = f.account.name if f.account is not None else evidence.get("account_name") or evidence.get("name")
    out: dict[str, Any] = {
        "id": f.id,
        "kind": f.kind.value,
        "kind_label": FINDING_LABELS.get(f.kind, f.kind.value),
        "status": f.status.value,
        "status_label": STATUS_LABELS[f.status],
        "confidence": f.confidence,
        "message": evidence.get("message"),
        "unit_id": f.unit_id,
        "unit_name": f.unit.name if f.unit is not None else None,
        "account_id": f.account_id,
        "account_name": account_name,
        "discovered_id": f.discovered_id,
        "platform": platform,
        "platform_label": platform_label(platform),
        "uid": finding_uid(f),
        "found_name": found_name(f),
        "due_on": f.due_on,
        "overdue": is_overdue(f),
        "reason": f.reason,
        "decided_by": (evidence.get("decision") or {}).get("by") if f.status is not FindingStatus.open else None,
        "first_seen_at": f.first_seen_at,
        "last_seen_at": f.last_seen_at,
    }
    if with_evidence:
        out["evidence"] = {k: v for k, v in evidence.items() if k not in RESERVED_KEYS}
        out["decision"] = evidence.get("decision")
        out["history"] = evidence.get("history") or []
    return out
