"""Registry services: accounts and their lifecycle state machine (deadlines.py, recount.py,
unit_changes.py and ledger.py hold deadline arithmetic, recounts, unit edits and the reads).

One function, :func:`advance`, moves an account from one status to the next: it checks the
caller's unit scope (404), role (403), the account's status (409) and the four-eyes rule (403:
nobody approves an application they made) before touching anything,
then writes the change, one :class:`AccountEvent` (field diffs old→new, actor, approver, reason,
filing date) and one audit entry tagged ``account:status:<action>``. Services flush; the view,
the CLI or the task commits. Nothing is ever deleted.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context

from audit import service as audit
from auth.models import Role, User
from auth.scoping import can_see_unit
from common.db import utcnow
from common.errors import Conflict, Invalid, NotFound
from common.timefmt import today_cn
from extensions import db
from platforms.types import PLATFORM_LABELS
from registry import hooks
from registry.deadlines import filing_workdays, notice_workdays, workdays_after
from registry.errors import (
    ActionRoleError,
    ClosureNoticeError,
    DuplicateAccountError,
    TransitionError,
    UidTakenError,
)
from registry.models import (
    STATUS_LABELS,
    Account,
    AccountEvent,
    AccountStatus,
    Platform,
    Unit,
)

S = AccountStatus


class AccountAction(enum.StrEnum):
    """The lifecycle actions of API.md (``POST /accounts/{id}/actions/{action}``)."""

    approve = "approve"
    request_change = "request_change"
    approve_change = "approve_change"
    request_close = "request_close"
    confirm_closed = "confirm_closed"
    suspend = "suspend"
    reactivate = "reactivate"
    reject = "reject"


# Event actions that are not lifecycle actions.
EVENT_OPEN = "open"
EVENT_IMPORT = "import"
EVENT_IMPORT_UPDATE = "import_update"
EVENT_UNIT_RENAMED = "unit_renamed"
RECOUNT_ACTION = "recount_deadline"

ACTION_LABELS: dict[str, str] = {
    AccountAction.approve: "批准开设",
    AccountAction.request_change: "申请变更",
    AccountAction.approve_change: "批准变更",
    AccountAction.request_close: "申请关停",
    AccountAction.confirm_closed: "确认关停",
    AccountAction.suspend: "暂停",
    AccountAction.reactivate: "恢复运行",
    AccountAction.reject: "驳回",
}
EVENT_LABELS: dict[str, str] = {
    **ACTION_LABELS,
    EVENT_OPEN: "申请开设",
    EVENT_IMPORT: "导入台账",
    EVENT_IMPORT_UPDATE: "导入更新",
    EVENT_UNIT_RENAMED: "主办单位更名",
    "confirm_closed:platform": "平台已注销",
    "confirm_closed:filed": "关停已备案",
    RECOUNT_ACTION: "重算备案时限",
}

APPLICANTS = frozenset({Role.operator, Role.auditor, Role.admin})
APPROVERS = frozenset({Role.auditor, Role.admin})
# Accounts that count as "in use" for the one-account-per-platform rule and subject checks.
LIVE_STATUSES = (S.applying, S.active, S.changing, S.suspended, S.closing)


@dataclass(frozen=True)
class Transition:
    action: AccountAction
    source: AccountStatus
    target: AccountStatus
    roles: frozenset[Role]


TRANSITIONS: dict[tuple[AccountAction, AccountStatus], Transition] = {
    (t.action, t.source): t
    for t in (
        Transition(AccountAction.approve, S.applying, S.active, APPROVERS),
        Transition(AccountAction.reject, S.applying, S.rejected, APPROVERS),
        Transition(AccountAction.request_change, S.active, S.changing, APPLICANTS),
        Transition(AccountAction.approve_change, S.changing, S.active, APPROVERS),
        Transition(AccountAction.reject, S.changing, S.active, APPROVERS),
        Transition(AccountAction.request_close, S.active, S.closing, APPLICANTS),
        Transition(AccountAction.request_close, S.suspended, S.closing, APPLICANTS),
        Transition(AccountAction.reject, S.closing, S.active, APPROVERS),
        Transition(AccountAction.confirm_closed, S.closing, S.closed_on_platform, APPLICANTS),
        Transition(AccountAction.confirm_closed, S.closed_on_platform, S.closed, APPROVERS),
        Transition(AccountAction.suspend, S.active, S.suspended, APPROVERS),
        Transition(AccountAction.reactivate, S.suspended, S.active, APPROVERS),
    )
}

# Fields an operator may propose through request_change (and their JSON type).
CHANGEABLE_FIELDS: dict[str, str] = {
    "name": "str",
    "platform_uid": "str",
    "supervisor_unit": "str",
    "operator_org": "str",
    "operator_contract_end": "date",
    "person_in_charge": "str",
    "admin_name": "str",
    "contact_phone": "str",
    "contact_email": "str",
    "verified_subject": "str",
    "verified": "bool",
    "profile_url": "str",
    "purpose": "str",
}
# Everything an application (POST /accounts) may set besides platform, name and unit.
OPEN_FIELDS = (*CHANGEABLE_FIELDS, "duplicate_reason", "opened_on")

FIELD_LABELS: dict[str, str] = {
    "platform": "平台",
    "platform_uid": "平台账号ID",
    "name": "账号名称",
    "unit_id": "主办单位",
    "unit_name": "主办单位名称",
    "supervisor_unit": "主管单位",
    "operator_org": "运维单位",
    "operator_contract_end": "运维合同到期日",
    "person_in_charge": "负责人（分管领导）",
    "admin_name": "管理员",
    "contact_phone": "联系电话",
    "contact_email": "联系邮箱",
    "verified_subject": "认证主体",
    "verified": "是否已认证",
    "profile_url": "主页链接",
    "purpose": "功能定位",
    "is_primary": "是否主账号",
    "duplicate_reason": "重复开设理由",
    "opened_on": "开设日期",
    "filing_number": "备案编号",
    "filed_on": "备案日期",
    "filing_due_on": "备案时限",
    "status": "状态",
    "closure_notice_on": "停更公告日期",
    "closure_notice_url": "停更公告链接",
    "closure_requested_on": "注销申请日期",
    "closed_on": "平台注销日期",
    "closure_filed_on": "关停备案日期",
}
INTERNAL_FIELDS = frozenset({"pending_change"})


def today() -> date:
    """The registry's notion of today: the date in Beijing, whatever the server's time zone
    (monkeypatched in tests)."""
    return today_cn()


# ----------------------------------------------------------------------------- values


def jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def from_json(name: str, value: Any) -> Any:
    if value is not None and CHANGEABLE_FIELDS.get(name) == "date":
        return date.fromisoformat(value)
    return value


def diff(account: Account, updates: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the updates that change something (JSON values)."""
    changes: dict[str, list[Any]] = {}
    for name, new in updates.items():
        if name in INTERNAL_FIELDS:
            continue
        old = getattr(account, name)
        if old != new:
            changes[name] = [jsonable(old), jsonable(new)]
    return changes


def clean(value: Any) -> Any:
    """Strip strings; blank becomes None."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _require_text(data: dict[str, Any], name: str, message: str) -> str:
    value = _text(data, name)
    if value is None:
        raise Invalid(message, details={name: [message]})
    return value


def _not_future(value: date, name: str) -> date:
    if value > today():
        message = f"{FIELD_LABELS.get(name, name)}不能晚于今天"
        raise Invalid(message, details={name: [message]})
    return value


# ----------------------------------------------------------------------------- checks


def _has_roles(actor: User | None, roles: Iterable[Role]) -> bool:
    return actor is None or actor.has_role(*roles)


def _ensure_scope(actor: User | None, unit_id: int) -> None:
    if actor is not None and not can_see_unit(actor, unit_id):
        raise NotFound()


def parse_action(action: AccountAction | str) -> AccountAction:
    try:
        return AccountAction(action)
    except ValueError:
        raise NotFound(f"未知操作：{action}", code="unknown_action") from None


def _roles_for(action: AccountAction) -> frozenset[Role]:
    return frozenset().union(*(t.roles for t in TRANSITIONS.values() if t.action is action))


def _transition(account: Account, action: AccountAction, actor: User | None) -> Transition:
    """Role first (the action at all), then state, then role for this step."""
    if not _has_roles(actor, _roles_for(action)):
        raise ActionRoleError(
            f"您的角色无权执行“{ACTION_LABELS[action]}”",
            details={"required_roles": sorted(r.value for r in _roles_for(action))},
        )
    transition = TRANSITIONS.get((action, account.status))
    if transition is None:
        allowed = sorted(t.source.value for t in TRANSITIONS.values() if t.action is action)
        raise TransitionError(
            f"账号当前状态为“{STATUS_LABELS[account.status]}”，不能执行“{ACTION_LABELS[action]}”",
            details={"status": account.status.value, "action": action.value, "allowed_from": allowed},
        )
    if not _has_roles(actor, transition.roles):
        raise ActionRoleError(
            f"您的角色无权在“{STATUS_LABELS[account.status]}”状态下执行“{ACTION_LABELS[action]}”",
            details={"required_roles": sorted(r.value for r in transition.roles)},
        )
    return transition


def _actions_by_status(user: User | None) -> dict[AccountStatus, list[str]]:
    """Per status, the actions ``user``'s roles allow (computed once per user and request)."""
    cache = g.setdefault("_registry_actions", {}) if has_request_context() else {}
    key = getattr(user, "id", None)
    if key not in cache:
        table: dict[AccountStatus, list[str]] = {s: [] for s in AccountStatus}
        for t in TRANSITIONS.values():
            if _has_roles(user, t.roles):
                table[t.source].append(t.action.value)
        cache[key] = table
    return cache[key]


def available_actions(account: Account, user: User | None, applicants: dict[int, set[int]] | None = None) -> list[str]:
    """The actions ``user`` may take on ``account`` right now (for buttons and the API).

    Leaves out what the four-eyes rule would refuse (``withheld_actions``). ``applicants`` is
    :func:`pending_applicants` of a list of accounts (one query for the list); without it the
    account's applicants are read when ``user`` could otherwise approve.
    """
    if user is not None and not can_see_unit(user, account.unit_id):
        return []
    withheld = withheld_actions(account, user, applicants)
    return [a for a in _actions_by_status(user)[account.status] if a not in withheld]


def withheld_actions(account: Account, user: User | None, applicants: dict[int, set[int]] | None = None) -> list[str]:
    """The approving actions ``user``'s roles allow here that the four-eyes rule refuses
    (``user`` made the pending application); [] for the system (None)."""
    if user is None or not _guarded_actions(user, account.status):
        return []
    if applicants is None:
        own = applicant_ids(account, FOUR_EYES_STATUSES[account.status])
    else:
        own = applicants.get(account.id, set())
    return _guarded_actions(user, account.status) if user.id in own else []


def _guarded_actions(user: User, status: AccountStatus) -> list[str]:
    """The actions ``user``'s roles allow from ``status`` that the four-eyes rule guards."""
    return [a for a in _actions_by_status(user)[status] if (AccountAction(a), status) in FOUR_EYES]


def _ensure_uid_free(platform: Platform, uid: str | None, account_id: int | None) -> None:
    if not uid:
        return
    other = db.session.scalar(
        sa.select(Account.id).where(Account.platform == platform, Account.platform_uid == uid, Account.id != account_id)
    )
    if other is not None:
        raise UidTakenError(
            f"{PLATFORM_LABELS[platform]}账号ID“{uid}”已在台账中登记",
            details={"platform_uid": [f"{PLATFORM_LABELS[platform]}账号ID“{uid}”已在台账中登记"]},
        )


def live_account_ids(unit_id: int, platform: Platform) -> list[int]:
    stmt = sa.select(Account.id).where(
        Account.unit_id == unit_id, Account.platform == platform, Account.status.in_(LIVE_STATUSES)
    )
    return list(db.session.scalars(stmt.order_by(Account.id)))


def _lock(model: Any, object_id: int) -> None:
    """Row lock on PostgreSQL; on SQLite, FOR UPDATE takes the one write lock (common/sqlite.py)."""
    db.session.execute(sa.select(model.id).where(model.id == object_id).with_for_update())


# ----------------------------------------------------------------------------- open


def create_account(data: dict[str, Any], actor: User | None) -> Account:
    """Apply to open an account (status ``applying``); POST /accounts."""
    if not _has_roles(actor, APPLICANTS):
        raise ActionRoleError("您的角色无权申请开设账号")
    unit = db.session.get(Unit, data["unit_id"])
    if unit is None:
        raise NotFound("主办单位不存在或不在您的权限范围内")
    _ensure_scope(actor, unit.id)
    _lock(Unit, unit.id)
    platform = Platform(data["platform"])
    uid = _text(data, "platform_uid")
    _ensure_uid_free(platform, uid, None)
    existing = live_account_ids(unit.id, platform)
    duplicate_reason = _text(data, "duplicate_reason")
    if existing and duplicate_reason is None:
        message = (
            f"该单位在{PLATFORM_LABELS[platform]}已有在用账号，原则上一个单位一个平台只开设一个账号；"
            "确需开设请填写重复开设理由"
        )
        raise DuplicateAccountError(message, details={"existing_account_ids": existing, "duplicate_reason": [message]})
    values = {n: clean(data[n]) for n in OPEN_FIELDS if n != "name" and clean(data.get(n)) is not None}
    values.update(platform_uid=uid, duplicate_reason=duplicate_reason)
    opened = values.get("opened_on") or today()
    account = Account(
        platform=platform,
        name=str(data["name"]).strip(),
        unit_id=unit.id,
        status=S.applying,
        is_primary=not existing,
        filing_due_on=workdays_after(opened, filing_workdays()),
        **values,
    )
    db.session.add(account)
    db.session.flush()
    changes = {
        name: [None, jsonable(getattr(account, name))]
        for name in ("platform", "name", "unit_id", *OPEN_FIELDS, "is_primary", "filing_due_on")
        if getattr(account, name) is not None
    }
    _write_event(account, EVENT_OPEN, None, changes, actor, reason=_text(data, "reason"))
    hooks.accounts_touched([account])
    return account


# ----------------------------------------------------------------------------- advance


@dataclass
class ActionPlan:
    """What an action does, decided before anything is written."""

    updates: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    filing_date: date | None = None
    approver: bool = False
    changes: dict[str, list[Any]] | None = None  # event diffs when not simply the updates
    event_action: str | None = None


Handler = Callable[[Account, dict[str, Any]], ActionPlan]


def _approve(account: Account, data: dict[str, Any]) -> ActionPlan:
    filing_date = _not_future(data.get("filing_date") or today(), "filed_on")
    updates: dict[str, Any] = {"filed_on": filing_date, "filing_due_on": None}
    if _text(data, "filing_number"):
        updates["filing_number"] = _text(data, "filing_number")
    if account.opened_on is None or data.get("opened_on"):
        updates["opened_on"] = data.get("opened_on") or today()
    return ActionPlan(updates, reason=_text(data, "reason"), filing_date=filing_date, approver=True)


def _reject(account: Account, data: dict[str, Any]) -> ActionPlan:
    """applying → rejected; changing → active (the change is discarded); closing → active."""
    reason = _require_text(data, "reason", "驳回须填写理由")
    if account.status is S.changing:
        updates: dict[str, Any] = {"pending_change": None, "filing_due_on": None}
        changes = {"pending_change": [account.pending_change, None], **diff(account, updates)}
        return ActionPlan(updates, reason=reason, approver=True, changes=changes)
    if account.status is S.closing:
        return ActionPlan({"closure_notice_on": None, "closure_notice_url": None}, reason=reason, approver=True)
    return ActionPlan({"filing_due_on": None}, reason=reason, approver=True)


def proposed_changes(account: Account, changes: dict[str, Any]) -> dict[str, Any]:
    """The proposed values that differ from the account (typed), or 422."""
    unknown = sorted(set(changes) - set(CHANGEABLE_FIELDS))
    if unknown:
        raise Invalid("这些字段不能通过变更申请修改", details={name: ["不可变更"] for name in unknown})
    cleaned: dict[str, Any] = {}
    for name, raw in changes.items():
        value = clean(raw)
        if name == "name" and not value:
            raise Invalid("账号名称不能为空", details={"name": ["账号名称不能为空"]})
        if name == "verified" and value is None:
            value = False
        if getattr(account, name) != value:
            cleaned[name] = value
    return cleaned


def _request_change(account: Account, data: dict[str, Any]) -> ActionPlan:
    proposed = proposed_changes(account, data.get("changes") or {})
    if not proposed:
        raise Invalid("没有需要变更的内容", details={"changes": ["没有需要变更的内容"]})
    _ensure_uid_free(account.platform, proposed.get("platform_uid"), account.id)
    due = workdays_after(today(), filing_workdays())
    updates = {"pending_change": {k: jsonable(v) for k, v in proposed.items()}, "filing_due_on": due}
    changes = diff(account, proposed) | diff(account, {"filing_due_on": due})
    return ActionPlan(updates, reason=_text(data, "reason"), changes=changes)


def _approve_change(account: Account, data: dict[str, Any]) -> ActionPlan:
    pending = account.pending_change or {}
    values = {name: from_json(name, value) for name, value in pending.items()}
    _ensure_uid_free(account.platform, values.get("platform_uid"), account.id)
    filing_date = _not_future(data.get("filing_date") or today(), "filed_on")
    updates = {**values, "pending_change": None, "filing_due_on": None}
    return ActionPlan(updates, reason=_text(data, "reason"), filing_date=filing_date, approver=True)


def _request_close(account: Account, data: dict[str, Any]) -> ActionPlan:
    reason = _require_text(data, "reason", "申请关停须填写关停原因")
    url = _require_text(data, "closure_notice_url", "须填写停更公告链接")
    notice_on = _not_future(data.get("closure_notice_on") or today(), "closure_notice_on")
    updates = {"closure_notice_on": notice_on, "closure_notice_url": url}
    if data.get("closure_requested_on"):
        updates["closure_requested_on"] = data["closure_requested_on"]
    return ActionPlan(updates, reason=reason)


def closable_on(account: Account) -> date | None:
    """First day confirm_closed is allowed: CLOSURE_NOTICE_WORKDAYS working days after the notice."""
    if account.closure_notice_on is None:
        return None
    return workdays_after(account.closure_notice_on, notice_workdays())


def _confirm_closed(account: Account, data: dict[str, Any]) -> ActionPlan:
    if account.status is S.closed_on_platform:
        filed = _not_future(data.get("filing_date") or today(), "closure_filed_on")
        updates = {"closure_filed_on": filed, "filing_due_on": None}
        return ActionPlan(
            updates, reason=_text(data, "reason"), filing_date=filed, approver=True, event_action="confirm_closed:filed"
        )
    closed_on = _not_future(data.get("closed_on") or today(), "closed_on")
    notice_on = account.closure_notice_on
    if notice_on is None:  # only accounts imported as 拟关停 without a date can lack it
        raise Conflict(
            "该账号没有停更公告日期，无法计算公告期；请先通过导入补录停更公告日期", code="closure_notice_missing"
        )
    possible_on = workdays_after(notice_on, notice_workdays())
    if closed_on < possible_on:
        raise ClosureNoticeError(notice_on, possible_on, notice_workdays())
    updates = {"closed_on": closed_on, "filing_due_on": workdays_after(closed_on, filing_workdays())}
    if data.get("closure_requested_on"):
        updates["closure_requested_on"] = data["closure_requested_on"]
    return ActionPlan(updates, reason=_text(data, "reason"), event_action="confirm_closed:platform")


def _suspend(account: Account, data: dict[str, Any]) -> ActionPlan:
    return ActionPlan(reason=_require_text(data, "reason", "暂停须填写理由"), approver=True)


def _reactivate(account: Account, data: dict[str, Any]) -> ActionPlan:
    return ActionPlan(reason=_text(data, "reason"), approver=True)


HANDLERS: dict[AccountAction, Handler] = {
    AccountAction.approve: _approve,
    AccountAction.reject: _reject,
    AccountAction.request_change: _request_change,
    AccountAction.approve_change: _approve_change,
    AccountAction.request_close: _request_close,
    AccountAction.confirm_closed: _confirm_closed,
    AccountAction.suspend: _suspend,
    AccountAction.reactivate: _reactivate,
}


def advance(account: Account, action: AccountAction | str, actor: User | None, **data: Any) -> AccountEvent:
    """Move ``account`` by ``action``; 404 (scope) → 403 (role) → 409 (state) → 403 (four eyes) → 422 (data).

    ``actor`` None is the system (CLI) with every role. Nothing is written on refusal.
    """
    action = parse_action(action)
    _ensure_scope(actor, account.unit_id)
    _lock(Account, account.id)
    db.session.refresh(account)
    transition = _transition(account, action, actor)
    _ensure_four_eyes(account, transition, actor)
    outcome = HANDLERS[action](account, data)
    return _apply(account, transition, outcome, actor)


def ensure_can(account: Account, action: AccountAction | str, actor: User | None) -> Transition:
    """The checks of :func:`advance` without the data or any write (for showing a form)."""
    action = parse_action(action)
    _ensure_scope(actor, account.unit_id)
    transition = _transition(account, action, actor)
    _ensure_four_eyes(account, transition, actor)
    return transition


# Four-eyes rule (四眼原则): an approval is never decided by a person who made the application.
# Per approving step, the statuses its application went through (the first one opens it) and
# what the application is called in the refusal.
FOUR_EYES: dict[tuple[AccountAction, AccountStatus], tuple[tuple[AccountStatus, ...], str]] = {
    (AccountAction.approve, S.applying): ((S.applying,), "开设申请"),
    (AccountAction.approve_change, S.changing): ((S.changing,), "变更申请"),
    # the closure: who requested it and who reported the account closed on the platform
    (AccountAction.confirm_closed, S.closed_on_platform): ((S.closing, S.closed_on_platform), "关停申请"),
}


# The same per status of the account (each guarded status has one approving step).
FOUR_EYES_STATUSES: dict[AccountStatus, tuple[AccountStatus, ...]] = {
    source: statuses for (_action, source), (statuses, _label) in FOUR_EYES.items()
}


def applicant_ids(account: Account, statuses: Sequence[AccountStatus]) -> set[int]:
    """Who made the pending application: actors of the events that moved the account into
    ``statuses`` since it last entered ``statuses[0]`` (open, import, request_*, platform closure).
    Events that stay in one status (import updates, unit renames) are not applications."""
    rows = db.session.execute(
        sa.select(AccountEvent.actor_id, AccountEvent.from_status, AccountEvent.to_status)
        .where(AccountEvent.account_id == account.id, AccountEvent.to_status.in_([s.value for s in statuses]))
        .order_by(AccountEvent.id.desc())
    )
    return _applicants(rows, statuses)


def _applicants(rows: Iterable[Any], statuses: Sequence[AccountStatus]) -> set[int]:
    """``applicant_ids`` over (actor_id, from_status, to_status) rows, newest first."""
    actors: set[int] = set()
    values = {s.value for s in statuses}
    for actor_id, source, target in rows:
        if target not in values or source == target:
            continue
        if actor_id is not None:
            actors.add(actor_id)
        if target == statuses[0].value:
            break
    return actors


def pending_applicants(accounts: Iterable[Account]) -> dict[int, set[int]]:
    """``applicant_ids`` of every account awaiting an approval, in one query per 500 accounts
    (for lists: ``allowed_actions`` without a query per row). Accounts not awaiting one, or
    without applicants, are left out."""
    wanted = {a.id: FOUR_EYES_STATUSES[a.status] for a in accounts if a.status in FOUR_EYES_STATUSES}
    if not wanted:
        return {}
    targets = sorted({s.value for statuses in wanted.values() for s in statuses})
    rows: dict[int, list[Any]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        stmt = (
            sa.select(AccountEvent.account_id, AccountEvent.actor_id, AccountEvent.from_status, AccountEvent.to_status)
            .where(AccountEvent.account_id.in_(ids[start : start + 500]), AccountEvent.to_status.in_(targets))
            .order_by(AccountEvent.account_id, AccountEvent.id.desc())
        )
        for account_id, *row in db.session.execute(stmt):
            rows.setdefault(account_id, []).append(row)
    found = {account_id: _applicants(rows[account_id], wanted[account_id]) for account_id in rows}
    return {account_id: actors for account_id, actors in found.items() if actors}


def _ensure_four_eyes(account: Account, transition: Transition, actor: User | None) -> None:
    rule = FOUR_EYES.get((transition.action, transition.source))
    if rule is None or actor is None:  # None: the system (CLI)
        return
    statuses, application = rule
    if actor.id in applicant_ids(account, statuses):
        raise ActionRoleError(
            f"四眼原则：该{application}由您本人提出或经办，不能再由您{ACTION_LABELS[transition.action]}，"
            "请由其他审批人办理",
            code="own_application",
            details={"action": transition.action.value, "status": account.status.value},
        )


def _apply(account: Account, transition: Transition, outcome: ActionPlan, actor: User | None) -> AccountEvent:
    changes = outcome.changes if outcome.changes is not None else diff(account, outcome.updates)
    source = account.status
    for name, value in outcome.updates.items():
        setattr(account, name, value)
    account.status = transition.target
    event = _write_event(
        account,
        transition.action.value,
        source,
        changes,
        actor,
        reason=outcome.reason,
        filing_date=outcome.filing_date,
        approver=actor if outcome.approver else None,
        tag=outcome.event_action,
    )
    hooks.accounts_touched([account])
    return event


def _write_event(
    account: Account,
    action: str,
    source: AccountStatus | None,
    changes: dict[str, list[Any]],
    actor: User | None,
    *,
    reason: str | None = None,
    filing_date: date | None = None,
    approver: User | None = None,
    tag: str | None = None,
    audit_tag: str | None = None,
) -> AccountEvent:
    event = AccountEvent(
        account_id=account.id,
        action=tag or action,
        from_status=source.value if source else None,
        to_status=account.status.value,
        changes=changes,
        actor_id=getattr(actor, "id", None),
        approver_id=getattr(approver, "id", None),
        reason=reason,
        filing_date=filing_date,
        at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    before = {name: old for name, (old, _new) in changes.items() if name != "pending_change"}
    after = {name: new for name, (_old, new) in changes.items() if name != "pending_change"}
    if source is not account.status:
        before["status"] = source.value if source else None
        after["status"] = account.status.value
    audit.record(
        audit_tag or f"account:status:{action}",
        account,
        before=before,
        after={**after, "event_id": event.id, "reason": reason},
        actor=actor,
    )
    return event


# ----------------------------------------------------------------------------- deadlines


def overdue_clause(day: date | None = None) -> Any:
    return sa.and_(Account.filing_due_on.is_not(None), Account.filing_due_on < (day or today()))


def is_overdue(account: Account, day: date | None = None) -> bool:
    return account.filing_due_on is not None and account.filing_due_on < (day or today())
