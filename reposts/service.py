"""Repost tasks: issue, turn into a content, 不适用, read and shape them, the lighter-review setting.

* :func:`create_task` — the office (网信办) or an admin issues a task to explicit units or to every
  active unit under a parent, on some platforms, with a deadline (a Beijing time, or N working
  days from today: the end of that working day). One :class:`RepostTarget` per unit × platform.
* :func:`convert` — the unit's operator turns the task into a draft content with one click: title
  and body from the source, the 来源 statement DOMAIN.md R6 asks for, the unit's active accounts on
  the task's platforms as targets. The three reviews apply as to any content.
* :func:`not_applicable` — the unit says a platform (or all) does not apply, with a reason;
  :func:`reopen` — the office refuses that reason.

The sweep (completion and lateness) is :mod:`reposts.completion`; the board, its export and
:func:`~reposts.board.late_units` (the 通报) are :mod:`reposts.board`.

Roles: issuing, reopening and the board of every unit are the office's (auditor, admin);
operators see and answer the targets of their own unit (and its sub-units) only.
Services flush; the request or task commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from auth.models import Role, User
from auth.scoping import can_see_unit, scope_filter, unit_subtree_ids, visible_unit_ids
from common.db import utcnow
from common.errors import Conflict, Forbidden, Invalid, NotFound
from common.fields import LATEST
from common.timefmt import CN_TZ, bj, today_cn
from common.validation import control_char_problem, http_url
from common.workdays import add_workdays, span_is_exact
from extensions import db
from moderation import service as content_service
from moderation.models import Content, ContentStatus
from platforms.types import PLATFORM_LABELS
from registry.models import PUBLISHABLE_PLATFORMS, Account, AccountStatus, Platform, Unit
from reposts import lifecycle
from reposts.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    SOURCE_KIND_LABELS,
    TARGET_STATUS_LABELS,
    RepostSourceKind,
    RepostTarget,
    RepostTargetStatus,
    RepostTask,
    RepostUnitSetting,
)

ISSUER_ROLES = (Role.auditor, Role.admin)
UNIT_ROLES = (Role.operator,)
VIEW_ROLES = (*ISSUER_ROLES, *UNIT_ROLES)
#: a content that has passed 终审 may be the source of a task (it is what the superior published)
APPROVED_SOURCE = (
    ContentStatus.approved,
    ContentStatus.scheduled,
    ContentStatus.publishing,
    ContentStatus.published,
    ContentStatus.partly_failed,
)
TITLE_MAX = 200
NOTE_MAX = 2000
REASON_MIN = 2
REASON_MAX = 1000
WORKDAYS_MAX = 30
MATCH_TITLE_MIN = 6  # a normalised title shorter than this never counts as a match on its own
S = RepostTargetStatus


class _Errors:
    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.details.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.details:
            first = next(iter(self.details.values()))[0]
            raise Invalid(first, details=self.details)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def is_issuer(user: User) -> bool:
    return user.has_role(*ISSUER_ROLES)


def require_issuer(user: User) -> None:
    if not is_issuer(user):
        raise Forbidden(
            "只有网信办或管理员可以下发和管理转载任务", details={"required_roles": [r.value for r in ISSUER_ROLES]}
        )


def require_viewer(user: User) -> None:
    if not user.has_role(*VIEW_ROLES):
        raise Forbidden("您的角色无权查看转载任务", details={"required_roles": [r.value for r in VIEW_ROLES]})


def platform_label(value: Platform | str) -> str:
    return PLATFORM_LABELS.get(str(value.value if isinstance(value, Platform) else value), str(value))


# ----------------------------------------------------------------------------- issuing


def deadline_from_workdays(days: int, today: date | None = None) -> datetime:
    """The end (23:59:59 Beijing) of the working day ``days`` working days after today, as naive UTC."""
    day = add_workdays(today or today_cn(), days)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=CN_TZ)
    return end.astimezone(UTC).replace(tzinfo=None)


def parse_deadline(value: Any) -> datetime | None:
    """An ISO date-time (no offset: Beijing time) → naive UTC; None if it is not one."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CN_TZ)
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return None


def _target_units(data: Mapping[str, Any], errors: _Errors) -> tuple[list[Unit], int | None]:
    parent_id = data.get("parent_unit_id")
    unit_ids = data.get("unit_ids") or []
    if parent_id and unit_ids:
        errors.add("unit_ids", "请选择具体单位，或选择“某单位下属全部单位”，二者只能选一种")
        return [], None
    if parent_id:
        parent = db.session.get(Unit, int(parent_id))
        if parent is None:
            errors.add("parent_unit_id", "上级单位不存在")
            return [], None
        ids = unit_subtree_ids(parent.id) - {parent.id}
        units = list(
            db.session.scalars(
                sa.select(Unit).where(Unit.id.in_(ids), Unit.is_active.is_(True)).order_by(Unit.name, Unit.id)
            )
        )
        if not units:
            errors.add("parent_unit_id", f"“{parent.name}”下没有在用的下属单位")
        return units, parent.id
    if not isinstance(unit_ids, list) or not unit_ids:
        errors.add("unit_ids", "请至少选择一个接收单位")
        return [], None
    ids = list(dict.fromkeys(int(i) for i in unit_ids))
    return units_by_id(ids, "unit_ids", errors), None


def units_by_id(ids: list[int], field: str, errors: _Errors) -> list[Unit]:
    """The units of ``ids`` by name; an unknown or stopped one is an error on ``field``."""
    units = list(db.session.scalars(sa.select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name, Unit.id)))
    found = {u.id for u in units}
    missing = [i for i in ids if i not in found]
    if missing:
        errors.add(field, f"单位不存在：{', '.join(str(i) for i in missing)}")
    stopped = [u.name for u in units if not u.is_active]
    if stopped:
        errors.add(field, f"单位已停用：{'、'.join(stopped)}")
    return units


def _source(data: Mapping[str, Any], actor: User, errors: _Errors) -> dict[str, Any]:
    try:
        kind = RepostSourceKind(data.get("source_kind") or "")
    except ValueError:
        errors.add(
            "source_kind", "来源类型应为 content（上级单位稿件）、url（指定稿源文章）或 platform_post（平台帖子）"
        )
        return {}
    out: dict[str, Any] = {"source_kind": kind, "source_content_id": None, "source_url": None}
    if kind is RepostSourceKind.content:
        content_id = data.get("source_content_id")
        content = db.session.get(Content, int(content_id)) if content_id else None
        if content is None or not can_see_unit(actor, content.unit_id):
            errors.add("source_content_id", "来源稿件不存在")
            return out
        if content.status not in APPROVED_SOURCE:
            errors.add("source_content_id", "来源稿件须已通过终审（已终审、已排期或已发布）")
        name = _text(data.get("source_name"))
        if name and (len(name) > 100 or control_char_problem(name)):
            errors.add("source_name", "来源最多 100 字，且不能含控制字符")
        out.update(
            source_content_id=content.id,
            source_title=content.title,
            source_name=name or content.unit.name,
            source_url=http_url(data.get("source_url")) if data.get("source_url") else None,
        )
        return out
    url = http_url(data.get("source_url"))
    if url is None or len(url) > 500:
        errors.add("source_url", "请填写以 http:// 或 https:// 开头的原文链接（500 字以内）")
    title = _text(data.get("source_title"))
    name = _text(data.get("source_name"))
    if not title:
        errors.add("source_title", "请填写原文标题")
    elif len(title) > TITLE_MAX or control_char_problem(title):
        errors.add("source_title", f"原文标题最多 {TITLE_MAX} 字，且不能含控制字符")
    if not name:
        errors.add("source_name", "请填写来源（稿源单位或发布账号名称），用于“来源：”说明")
    elif len(name) > 100 or control_char_problem(name):
        errors.add("source_name", "来源最多 100 字，且不能含控制字符")
    out.update(source_url=url, source_title=title, source_name=name)
    return out


def _platforms(value: Any, errors: _Errors) -> list[str]:
    values = value if isinstance(value, list) else []
    known = {p.value for p in Platform}
    picked = list(dict.fromkeys(str(v) for v in values))
    bad = [v for v in picked if v not in known]
    if bad or not picked:
        errors.add("platforms", "请至少选择一个平台" if not picked else f"未知平台：{'、'.join(bad)}")
    return [v for v in picked if v in known]


def create_task(data: Mapping[str, Any], actor: User) -> RepostTask:
    """Issue a task (office or admin). Validates everything first: bad input changes nothing."""
    require_issuer(actor)
    errors = _Errors()
    source = _source(data, actor, errors)
    units, parent_id = _target_units(data, errors)
    platforms = _platforms(data.get("platforms"), errors)
    workdays = data.get("workdays")
    deadline: datetime | None = None
    if workdays not in (None, ""):
        try:
            days = int(workdays)
        except (TypeError, ValueError):
            days = -1
        if not 1 <= days <= WORKDAYS_MAX:
            errors.add("workdays", f"工作日数应为 1 至 {WORKDAYS_MAX}")
        else:
            deadline = deadline_from_workdays(days)
            workdays = days
        if data.get("deadline"):
            errors.add("deadline", "请填写截止时间，或填写工作日数，二者只能选一种")
    else:
        workdays = None
        deadline = parse_deadline(data.get("deadline"))
        if deadline is None:
            errors.add("deadline", "请填写截止时间（北京时间），或填写“N 个工作日内”")
        elif deadline <= utcnow():
            errors.add("deadline", "截止时间须晚于现在")
        elif deadline > LATEST:
            errors.add("deadline", "截止时间不能晚于 2099 年")
    note = _text(data.get("note")) or None
    if note and (len(note) > NOTE_MAX or control_char_problem(note, single_line=False)):
        errors.add("note", f"说明最多 {NOTE_MAX} 字，且不能含控制字符")
    title = _text(data.get("title")) or source.get("source_title") or ""
    if len(title) > TITLE_MAX or control_char_problem(title):
        errors.add("title", f"任务名称最多 {TITLE_MAX} 字，且不能含控制字符")
    errors.raise_if_any()
    assert deadline is not None  # noqa: S101 - raise_if_any refused every other case
    task = RepostTask(
        title=title,
        source_kind=source["source_kind"],
        source_content_id=source["source_content_id"],
        source_url=source["source_url"],
        source_title=source["source_title"],
        source_name=source["source_name"],
        platforms=platforms,
        deadline_at=deadline,
        workdays=workdays,
        note=note,
        parent_unit_id=parent_id,
        issued_by_id=actor.id,
        issuer_unit_id=actor.unit_id,
        issued_at=utcnow(),
    )
    db.session.add(task)
    db.session.flush()
    for unit in units:
        for platform in platforms:
            db.session.add(
                RepostTarget(task_id=task.id, unit_id=unit.id, platform=Platform(platform), status=lifecycle.INITIAL)
            )
    db.session.flush()
    audit.record(
        "repost:create",
        task,
        after={
            "title": task.title,
            "source_kind": task.source_kind.value,
            "source_content_id": task.source_content_id,
            "source_url": task.source_url,
            "source_title": task.source_title,
            "unit_ids": [u.id for u in units],
            "parent_unit_id": parent_id,
            "platforms": platforms,
            "deadline_at": task.deadline_at.isoformat(),
            "workdays": workdays,
        },
        actor=actor,
    )
    return task


# ----------------------------------------------------------------------------- reading


def listing(user: User) -> sa.Select[Any]:
    """The tasks the user sees: every task for the office; for a unit, those naming it."""
    require_viewer(user)
    stmt = sa.select(RepostTask).order_by(RepostTask.issued_at.desc(), RepostTask.id.desc())
    if not is_issuer(user):
        mine = sa.select(RepostTarget.task_id).where(scope_filter(user, RepostTarget.unit_id))
        stmt = stmt.where(RepostTask.id.in_(mine))
    return stmt


def get_task(task_id: int, user: User) -> RepostTask:
    """The task, or 404 when it does not exist or names none of the user's units."""
    require_viewer(user)
    task = db.session.get(RepostTask, task_id)
    if task is None:
        raise NotFound("转载任务不存在")
    if not is_issuer(user) and not any(can_see_unit(user, t.unit_id) for t in task.targets):
        raise NotFound("转载任务不存在")
    return task


def visible_targets(task: RepostTask, user: User) -> list[RepostTarget]:
    scope = visible_unit_ids(user)
    return [t for t in task.targets if scope is None or t.unit_id in scope]


def _unit_targets(task: RepostTask, unit_id: int, user: User) -> list[RepostTarget]:
    rows = [t for t in task.targets if t.unit_id == unit_id]
    if not rows or not can_see_unit(user, unit_id):
        raise NotFound("本单位没有这项转载任务")
    return rows


def _cn_date(value: datetime) -> date:
    return value.replace(tzinfo=UTC).astimezone(CN_TZ).date()


def deadline_is_exact(task: RepostTask) -> bool:
    """False when a working-day deadline was counted Monday–Friday for lack of holiday data."""
    if not task.workdays:
        return True
    return span_is_exact(_cn_date(task.issued_at), _cn_date(task.deadline_at))


def is_overdue_now(task: RepostTask, now: datetime | None = None) -> bool:
    return (now or utcnow()) > task.deadline_at


def counts(targets: Iterable[RepostTarget]) -> dict[str, int]:
    out = {s.value: 0 for s in RepostTargetStatus}
    total = 0
    for t in targets:
        out[t.status.value] += 1
        total += 1
    out["total"] = total
    return out


def target_dict(t: RepostTarget) -> dict[str, Any]:
    evidence = t.evidence or {}
    return {
        "id": t.id,
        "unit_id": t.unit_id,
        "unit_name": t.unit.name,
        "platform": t.platform.value,
        "platform_label": platform_label(t.platform),
        "status": t.status.value,
        "status_label": TARGET_STATUS_LABELS[t.status],
        "content_id": t.content_id,
        "completed_at": t.completed_at,
        "via": evidence.get("via"),
        "via_label": VIA_LABELS.get(evidence.get("via") or "", ""),
        "url": evidence.get("url"),
        "reason": t.reason,
    }


VIA_LABELS = {"delivery": "经本平台发布", "live_post": "巡检发现（平台上直接转发）"}


def task_dict(task: RepostTask, user: User, *, with_targets: bool = False) -> dict[str, Any]:
    targets = visible_targets(task, user)
    out: dict[str, Any] = {
        "id": task.id,
        "title": task.title,
        "source_kind": task.source_kind.value,
        "source_kind_label": SOURCE_KIND_LABELS[task.source_kind],
        "source_content_id": task.source_content_id,
        "source_url": task.source_url,
        "source_title": task.source_title,
        "source_name": task.source_name,
        "platforms": list(task.platforms),
        "platform_labels": [platform_label(p) for p in task.platforms],
        "deadline_at": task.deadline_at,
        "workdays": task.workdays,
        "deadline_is_exact": deadline_is_exact(task),
        "note": task.note,
        "parent_unit_id": task.parent_unit_id,
        "issued_by": task.issued_by.display_name,
        "issuer_unit": task.issuer_unit.name,
        "issued_at": task.issued_at,
        "past_deadline": is_overdue_now(task),
        "cancelled": task.cancelled_at is not None,
        "cancelled_at": task.cancelled_at,
        "cancelled_by": task.cancelled_by.display_name if task.cancelled_by is not None else None,
        "cancel_reason": task.cancel_reason,
        "counts": counts(targets),
        "units": len({t.unit_id for t in targets}),
    }
    if with_targets:
        out["targets"] = [target_dict(t) for t in targets]
    return out


# ----------------------------------------------------------------------------- the unit's answer


def source_statement(task: RepostTask) -> str:
    """The R6 statement: 来源：<source>."""
    return f"来源：{task.source_name}"


SUMMARY_TITLE_MAX = 80  # the summary is the Weibo/Douyin text and the WeChat digest (128 characters)


def summary_of(task: RepostTask) -> str:
    """The short text (Weibo/Douyin copy, WeChat digest): the title and the 来源 statement."""
    title = task.source_title if len(task.source_title) <= SUMMARY_TITLE_MAX else task.source_title[:79] + "…"
    return f"{title}（{source_statement(task)}）"


def _content_body(task: RepostTask) -> str:
    parts: list[str] = []
    if task.source_kind is RepostSourceKind.content and task.source_content is not None:
        parts.append(task.source_content.body_html or "")
    elif task.source_kind is RepostSourceKind.platform_post:
        parts.append(f"<p>转发：{escape(task.source_title)}</p>")
    else:
        parts.append(f"<p>{escape(task.source_title)}</p>")
    if task.source_url:
        url = escape(task.source_url, quote=True)
        parts.append(f'<p>原文链接：<a href="{url}">{url}</a></p>')
    parts.append(f"<p>{escape(source_statement(task))}</p>")
    return "".join(parts)


def _unit_accounts(unit_id: int, platforms: Iterable[str]) -> list[Account]:
    wanted = [Platform(p) for p in platforms if Platform(p) in PUBLISHABLE_PLATFORMS]
    if not wanted:
        return []
    return list(
        db.session.scalars(
            sa.select(Account)
            .where(Account.unit_id == unit_id, Account.status == AccountStatus.active, Account.platform.in_(wanted))
            .order_by(Account.platform, Account.id)
        )
    )


def convert(task: RepostTask, unit_id: int, actor: User) -> Content:
    """一键转为稿件: a draft of the unit with the source's title and body and the 来源 statement,
    aimed at the unit's active accounts on the task's platforms. Returns the existing content if
    the unit already made one. The three reviews apply as to any content, unless the lighter
    review (reposts/light_review.py) is granted at submit."""

    if not actor.has_role(*UNIT_ROLES):
        raise Forbidden("只有本单位的运营人员可以把转载任务转为稿件", details={"required_roles": ["operator"]})
    rows = _unit_targets(task, unit_id, actor)
    existing = next((t.content for t in rows if t.content_id is not None), None)
    if existing is not None:
        return existing
    open_rows = [t for t in rows if t.status in OPEN_STATUSES]
    if not open_rows:
        raise Conflict("本单位的这项任务已完成或已说明不适用，无需再转为稿件", code="invalid_state")
    accounts = _unit_accounts(unit_id, [t.platform.value for t in open_rows])
    content = content_service.create_content(
        {
            "unit_id": unit_id,
            "title": task.source_title[:TITLE_MAX],
            "body": _content_body(task),
            "summary": summary_of(task),
            "target_ids": [a.id for a in accounts],
        },
        actor,
    )
    for t in rows:
        t.content_id = content.id
        t.converted_hash = content.content_hash  # the lighter review holds while this is unchanged
    db.session.flush()
    audit.record(
        "repost:convert",
        task,
        after={
            "unit_id": unit_id,
            "content_id": content.id,
            "target_ids": [a.id for a in accounts],
            "content_hash": content.content_hash,
        },
        actor=actor,
    )
    return content


def _reason(value: Any) -> str:
    reason = _text(value)
    if len(reason) < REASON_MIN:
        raise Invalid("请写明理由（至少 2 个字）", details={"reason": ["请写明理由（至少 2 个字）"]})
    if len(reason) > REASON_MAX or control_char_problem(reason, single_line=False):
        raise Invalid(f"理由最多 {REASON_MAX} 字，且不能含控制字符", details={"reason": ["理由过长或含控制字符"]})
    return reason


def _pick(rows: list[RepostTarget], platforms: Iterable[str] | None) -> list[RepostTarget]:
    wanted = {str(p) for p in platforms or []}
    if not wanted:
        return rows
    known = {t.platform.value for t in rows}
    unknown = sorted(wanted - known)
    if unknown:
        raise Invalid("任务不含所选平台", details={"platforms": [f"任务不含平台：{'、'.join(unknown)}"]})
    return [t for t in rows if t.platform.value in wanted]


def not_applicable(
    task: RepostTask, unit_id: int, actor: User, reason: Any, platforms: Iterable[str] | None = None
) -> list[RepostTarget]:
    """The unit says the task (or some of its platforms) does not apply, with a reason. Only
    targets still 待完成 can be so marked; after the deadline the office decides."""
    if not actor.has_role(*UNIT_ROLES):
        raise Forbidden("只有本单位的运营人员可以说明不适用", details={"required_roles": ["operator"]})
    rows = _pick(_unit_targets(task, unit_id, actor), platforms)
    text = _reason(reason)
    pending = [t for t in rows if t.status is S.pending]
    if not pending:
        label = "、".join(sorted({TARGET_STATUS_LABELS[t.status] for t in rows}))
        raise Conflict(f"所选平台处于“{label}”状态，不能再说明不适用", code="invalid_state")
    for t in pending:
        lifecycle.transition(t, S.not_applicable, actor=actor, reason=text)
        t.reason = text
        t.decided_by_id = actor.id
    db.session.flush()
    return pending


def reopen(
    task: RepostTask, unit_id: int, actor: User, reason: Any, platforms: Iterable[str] | None = None
) -> list[RepostTarget]:
    """The office does not accept a 不适用: the targets go back to the unit (待完成; the sweep
    marks them 逾期未完成 if the deadline has passed)."""
    require_issuer(actor)
    rows = _pick(_unit_targets(task, unit_id, actor), platforms)
    text = _reason(reason)
    if task.cancelled_at is not None:
        raise Conflict("该转载任务已撤销，不能再退回不适用说明", code="invalid_state")
    moved = [t for t in rows if t.status is S.not_applicable]
    if not moved:
        raise Conflict("所选平台没有“不适用”说明可退回", code="invalid_state")
    for t in moved:
        lifecycle.transition(t, S.pending, actor=actor, reason=text)
        t.decided_by_id = actor.id
    db.session.flush()
    return moved


def cancel(task: RepostTask, actor: User, reason: Any) -> list[RepostTarget]:
    """撤销任务 (office or admin, with a reason): every target still open (待完成, 逾期未完成)
    becomes 已撤销 through the lifecycle; done and 不适用 targets keep theirs. The task records who,
    when and why. A task already cancelled answers 409."""
    require_issuer(actor)
    text = _reason(reason)
    if task.cancelled_at is not None:
        raise Conflict("该转载任务已撤销，不能重复撤销", code="invalid_state")
    moved = [t for t in task.targets if t.status in OPEN_STATUSES]
    for t in moved:
        lifecycle.transition(t, S.cancelled, actor=actor, reason=text)
        t.decided_by_id = actor.id
    task.cancelled_at, task.cancelled_by_id, task.cancel_reason = utcnow(), actor.id, text
    db.session.flush()
    audit.record(
        "repost:cancel",
        task,
        before={"cancelled_at": None},
        after={"cancelled_at": task.cancelled_at.isoformat(), "reason": text, "targets": [t.id for t in moved]},
        actor=actor,
    )
    return moved


# ----------------------------------------------------------------------------- the lighter-review setting


def setting(unit_id: int) -> RepostUnitSetting:
    row = db.session.get(RepostUnitSetting, unit_id)
    return (
        row
        if row is not None
        else RepostUnitSetting(unit_id=unit_id, light_review_allowed=False, light_review_enabled=False)
    )


def set_allowed(unit_id: int, allowed: bool, actor: User, note: Any = None) -> RepostUnitSetting:
    """The office allows (or withdraws) the lighter review for a unit. Withdrawing also switches
    the unit's own choice off. Audited."""
    require_issuer(actor)
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    text = _text(note) or None
    if allowed and not text:
        raise Invalid("允许简化审核须写明依据", details={"note": ["允许简化审核须写明依据"]})
    row = db.session.get(RepostUnitSetting, unit_id)
    if row is None:
        row = RepostUnitSetting(unit_id=unit_id, light_review_allowed=False, light_review_enabled=False)
        db.session.add(row)
    before = {"light_review_allowed": row.light_review_allowed, "light_review_enabled": row.light_review_enabled}
    row.light_review_allowed = allowed
    row.allowed_by_id, row.allowed_at, row.allowed_note = actor.id, utcnow(), text
    if not allowed:
        row.light_review_enabled = False
    db.session.flush()
    after = {"light_review_allowed": allowed, "light_review_enabled": row.light_review_enabled, "note": text}
    audit.record(
        "repost:setting:allow", object_type="units", object_id=unit_id, before=before, after=after, actor=actor
    )
    return row


def set_enabled(unit_id: int, enabled: bool, actor: User) -> RepostUnitSetting:
    """The unit (its operator) switches the lighter review on or off — only where the office allowed it."""
    if not actor.has_role(*UNIT_ROLES) or actor.unit_id != unit_id:
        raise Forbidden("只有本单位的运营人员可以设置本单位的转载审核方式", details={"required_roles": ["operator"]})
    row = db.session.get(RepostUnitSetting, unit_id)
    if enabled and (row is None or not row.light_review_allowed):
        raise Conflict("网信办尚未允许本单位对转载上级稿件使用简化审核", code="not_allowed")
    if row is None:
        return setting(unit_id)
    before = {"light_review_enabled": row.light_review_enabled}
    row.light_review_enabled = enabled
    row.enabled_by_id, row.enabled_at = actor.id, utcnow()
    db.session.flush()
    audit.record(
        "repost:setting:enable",
        object_type="units",
        object_id=unit_id,
        before=before,
        after={"light_review_enabled": enabled},
        actor=actor,
    )
    return row


def setting_dict(row: RepostUnitSetting) -> dict[str, Any]:
    return {
        "unit_id": row.unit_id,
        "light_review_allowed": bool(row.light_review_allowed),
        "allowed_note": row.allowed_note,
        "allowed_at": row.allowed_at,
        "light_review_enabled": bool(row.light_review_enabled),
        "enabled_at": row.enabled_at,
    }


# ----------------------------------------------------------------------------- what the unit sees


def my_targets(user: User) -> list[tuple[RepostTask, list[RepostTarget]]]:
    """The user's units' targets, grouped by task (open ones first, then by deadline)."""
    require_viewer(user)
    rows = db.session.scalars(
        sa.select(RepostTarget)
        .join(RepostTask, RepostTask.id == RepostTarget.task_id)
        .where(scope_filter(user, RepostTarget.unit_id))
        .order_by(RepostTask.deadline_at.desc(), RepostTarget.task_id, RepostTarget.unit_id, RepostTarget.id)
    ).all()
    grouped: dict[tuple[int, int], list[RepostTarget]] = {}
    for t in rows:
        grouped.setdefault((t.task_id, t.unit_id), []).append(t)
    out = [(ts[0].task, ts) for ts in grouped.values()]
    out.sort(key=lambda item: (not any(t.status in OPEN_STATUSES for t in item[1]), item[0].deadline_at))
    return out


def open_tasks_statement(user: User) -> sa.Select[Any]:
    """For the 待办: tasks with a target of the user's units still to do."""
    open_ids = sa.select(RepostTarget.task_id).where(
        RepostTarget.status.in_(OPEN_STATUSES), scope_filter(user, RepostTarget.unit_id)
    )
    return sa.select(RepostTask).where(RepostTask.id.in_(open_ids)).order_by(RepostTask.deadline_at, RepostTask.id)


def done_statuses() -> tuple[RepostTargetStatus, ...]:
    return DONE_STATUSES


def beijing_deadline(task: RepostTask) -> str:
    return bj(task.deadline_at)


def deadline_local_input(value: datetime | None = None) -> str:
    """A default for the form's datetime-local field: three days ahead, 18:00 Beijing."""
    base = (value or datetime.now(CN_TZ)) + timedelta(days=3)
    return base.replace(hour=18, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


def deadline_local_value(value: datetime) -> str:
    """A stored deadline (naive UTC) for a datetime-local field, in Beijing time (seconds kept when set)."""
    local = value.replace(tzinfo=UTC).astimezone(CN_TZ)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")
