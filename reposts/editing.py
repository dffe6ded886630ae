"""修改已下达的转载任务: the office changes a task it issued instead of cancelling and issuing anew.

:func:`edit_task` (office or admin, a task not cancelled) changes any of:

* the **title** and the **note** (the instructions the units read);
* the **deadline** (a Beijing time, or N working days counted from the day of issue), always to a
  moment after now. Moving it later re-judges what the old deadline made late, through
  :mod:`reposts.lifecycle`: 逾期未完成 → 待完成, and 逾期完成 → 已完成 where the completion came
  within the new deadline. Moving it earlier (still after now) changes no status: every completion
  so far happened before now;
* **add units**: one 待完成 target per new unit × the task's platforms. The reminders
  (notify/sources.py, keyed per task and unit) give the new units' operators the same
  “新的转载任务” as at issue time, and the task enters their 待办. A unit **removed before** can be
  added back: its 已撤销 targets reopen as 待完成 through the lifecycle (``repost:readded``, one
  row per unit × platform as before, so the board and the unit's page show one line whose history
  is in the audit log); its 不适用 ones stay. Its operators get “新的转载任务” again (notify keys
  it by the re-add). A unit with a target still open or completed is already on the task;
* **remove units** (with a reason): a unit that has completed a platform cannot be removed; the
  unit's open targets (待完成, 逾期未完成) become 已撤销 with the reason through the lifecycle,
  its 不适用 ones stay.

Everything is validated before anything changes. One audit entry ``repost:edit`` holds the old and
new value of each changed field, the units added and removed and the reason; each target move has
its own lifecycle entry. Flushes; the request commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from audit.models import AuditEntry
from auth.models import User
from common.db import utcnow
from common.errors import Conflict
from common.fields import LATEST
from common.validation import control_char_problem
from extensions import db
from registry.models import Platform, Unit
from reposts import lifecycle
from reposts.models import DONE_STATUSES, OPEN_STATUSES, RepostTarget, RepostTask
from reposts.service import (
    NOTE_MAX,
    REASON_MAX,
    REASON_MIN,
    TITLE_MAX,
    WORKDAYS_MAX,
    S,
    _cn_date,
    _Errors,
    _text,
    deadline_from_workdays,
    parse_deadline,
    require_issuer,
    units_by_id,
)

__all__ = ["edit_task", "readd_times", "readdable_unit_ids"]


def _ids(value: Any, field: str, errors: _Errors) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, int) or str(v).isdigit() for v in value):
        errors.add(field, "单位编号应为整数列表")
        return []
    return list(dict.fromkeys(int(v) for v in value))


def _new_deadline(task: RepostTask, data: Mapping[str, Any], errors: _Errors) -> tuple[datetime, int | None] | None:
    """(deadline, workdays) when the request changes the deadline, else None."""
    workdays, deadline_text = data.get("workdays"), data.get("deadline")
    if workdays in (None, "") and not deadline_text:
        return None
    if workdays not in (None, "") and deadline_text:
        errors.add("deadline", "请填写截止时间，或填写工作日数，二者只能选一种")
        return None
    if workdays not in (None, ""):
        try:
            days = int(workdays)
        except (TypeError, ValueError):
            days = -1
        if not 1 <= days <= WORKDAYS_MAX:
            errors.add("workdays", f"工作日数应为 1 至 {WORKDAYS_MAX}（自下达之日起算）")
            return None
        deadline, kept = deadline_from_workdays(days, _cn_date(task.issued_at)), days
    else:
        parsed = parse_deadline(deadline_text)
        if parsed is None:
            errors.add("deadline", "截止时间格式不对（北京时间，如 2026-12-31T18:00）")
            return None
        deadline, kept = parsed, None
    if deadline <= utcnow():
        errors.add("deadline" if kept is None else "workdays", "新的截止时间须晚于现在")
        return None
    if deadline > LATEST:
        errors.add("deadline", "截止时间不能晚于 2099 年")
        return None
    if deadline == task.deadline_at and kept == task.workdays:
        return None
    return deadline, kept


def edit_task(task: RepostTask, data: Mapping[str, Any], actor: User) -> dict[str, Any]:
    """Change the task (see the module). Returns what changed, as recorded in ``repost:edit``."""
    require_issuer(actor)
    if task.cancelled_at is not None:
        raise Conflict("该转载任务已撤销，不能再修改", code="invalid_state")
    errors = _Errors()
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    if data.get("title") is not None:
        title = _text(data.get("title"))
        if not title:
            errors.add("title", "任务名称不能为空")
        elif len(title) > TITLE_MAX or control_char_problem(title):
            errors.add("title", f"任务名称最多 {TITLE_MAX} 字，且不能含控制字符")
        elif title != task.title:
            before["title"], after["title"] = task.title, title
    if data.get("note") is not None:
        note = _text(data.get("note")) or None
        if note and (len(note) > NOTE_MAX or control_char_problem(note, single_line=False)):
            errors.add("note", f"说明最多 {NOTE_MAX} 字，且不能含控制字符")
        elif note != task.note:
            before["note"], after["note"] = task.note, note
    deadline = _new_deadline(task, data, errors)

    by_unit: dict[int, list[RepostTarget]] = {}
    for t in task.targets:
        by_unit.setdefault(t.unit_id, []).append(t)
    add_ids = _ids(data.get("add_unit_ids"), "add_unit_ids", errors)
    remove_ids = _ids(data.get("remove_unit_ids"), "remove_unit_ids", errors)
    adding, reopening = _units_to_add(add_ids, by_unit, errors)
    removing = _targets_to_cancel(remove_ids, by_unit, errors)
    if set(add_ids) & set(remove_ids):
        errors.add("remove_unit_ids", "同一单位不能既增加又移除")
    reason = _text(data.get("reason")) or None
    if reason and (len(reason) > REASON_MAX or control_char_problem(reason, single_line=False)):
        errors.add("reason", f"理由最多 {REASON_MAX} 字，且不能含控制字符")
    elif remove_ids and (reason is None or len(reason) < REASON_MIN):
        errors.add("reason", "移除单位须写明理由（至少 2 个字）")
    if (adding or reopening) and deadline is None and task.deadline_at <= utcnow():
        errors.add("deadline", "任务已截止：增加单位须同时把截止时间延后")
    if not errors.details and not (before or deadline or adding or reopening or removing):
        errors.add("_", "没有要修改的内容")
    errors.raise_if_any()

    for field, value in after.items():
        setattr(task, field, value)
    reopened: list[int] = []
    if deadline is not None:
        before["deadline_at"], after["deadline_at"] = task.deadline_at.isoformat(), deadline[0].isoformat()
        before["workdays"], after["workdays"] = task.workdays, deadline[1]
        task.deadline_at, task.workdays = deadline
        reopened = _rejudge(task, actor)
    for unit in adding:
        for platform in task.platforms:
            db.session.add(
                RepostTarget(task_id=task.id, unit_id=unit.id, platform=Platform(platform), status=lifecycle.INITIAL)
            )
    for t in removing:
        lifecycle.transition(t, S.cancelled, actor=actor, reason=reason)
        t.decided_by_id = actor.id
    for t in reopening:
        lifecycle.transition(t, S.pending, actor=actor, reason=reason or "重新加入任务")
        t.decided_by_id = actor.id
    db.session.flush()
    db.session.expire(task, ["targets"])
    if adding:
        after["added_unit_ids"] = [u.id for u in adding]
    if reopening:
        after["readded_unit_ids"] = sorted({t.unit_id for t in reopening})
        after["reopened_targets"] = [t.id for t in reopening]
    if remove_ids:
        after["removed_unit_ids"] = remove_ids
        after["cancelled_targets"] = [t.id for t in removing]
    if reopened:
        after["rejudged_targets"] = reopened
    if reason:
        after["reason"] = reason
    audit.record("repost:edit", task, before=before, after=after, actor=actor)
    return after


def _was_removed(rows: list[RepostTarget]) -> bool:
    """Every platform of the unit 已撤销 (or 不适用), at least one 已撤销: it was removed."""
    statuses = {t.status for t in rows}
    return S.cancelled in statuses and statuses <= {S.cancelled, S.not_applicable}


def readdable_unit_ids(task: RepostTask) -> set[int]:
    """The units removed from the task (see :func:`_was_removed`) that an edit may add back."""
    by_unit: dict[int, list[RepostTarget]] = {}
    for t in task.targets:
        by_unit.setdefault(t.unit_id, []).append(t)
    return {unit_id for unit_id, rows in by_unit.items() if _was_removed(rows)}


def readd_times(task_ids: set[int]) -> dict[tuple[int, int], datetime]:
    """(task, unit) → when the unit was last added back (the ``repost:readded`` audit entries):
    the reminders treat a re-added unit as newly added from then on."""
    if not task_ids:
        return {}
    out: dict[tuple[int, int], datetime] = {}
    rows = db.session.execute(sa.select(AuditEntry.at, AuditEntry.after).where(AuditEntry.action == "repost:readded"))
    for at, after in rows:
        key = (int((after or {}).get("task_id", 0)), int((after or {}).get("unit_id", 0)))
        if key[0] in task_ids and (key not in out or at > out[key]):
            out[key] = at
    return out


def _units_to_add(
    ids: list[int], by_unit: Mapping[int, list[RepostTarget]], errors: _Errors
) -> tuple[list[Unit], list[RepostTarget]]:
    """(units new to the task, the 已撤销 targets of removed units to reopen)."""
    if not ids:
        return [], []
    units = units_by_id(ids, "add_unit_ids", errors)
    present = [u.name for u in units if u.id in by_unit and not _was_removed(by_unit[u.id])]
    if present:
        errors.add("add_unit_ids", f"单位已在任务中：{'、'.join(present)}")
    active = [u for u in units if u.is_active]
    new = [u for u in active if u.id not in by_unit]
    removed = [u for u in active if u.id in by_unit and _was_removed(by_unit[u.id])]
    reopen = [t for u in removed for t in by_unit[u.id] if t.status is S.cancelled]
    return new, reopen


def _targets_to_cancel(
    ids: list[int], by_unit: Mapping[int, list[RepostTarget]], errors: _Errors
) -> list[RepostTarget]:
    out: list[RepostTarget] = []
    for unit_id in ids:
        rows = by_unit.get(unit_id)
        if not rows:
            errors.add("remove_unit_ids", f"单位 {unit_id} 不在该任务中")
            continue
        name = rows[0].unit.name
        if any(t.status in DONE_STATUSES for t in rows):
            errors.add("remove_unit_ids", f"“{name}”已完成转载，不能移除")
            continue
        open_rows = [t for t in rows if t.status in OPEN_STATUSES]
        if not open_rows:
            errors.add("remove_unit_ids", f"“{name}”没有未完成的平台可撤销")
        out += open_rows
    return out


def _rejudge(task: RepostTask, actor: User) -> list[int]:
    """After the deadline moved (always to after now): what the old one made late, judged again."""
    moved: list[int] = []
    for t in task.targets:
        if t.status is S.overdue:
            lifecycle.transition(t, S.pending, actor=actor, reason="截止时间延后")
            moved.append(t.id)
        elif t.status is S.done_late and t.completed_at is not None and t.completed_at <= task.deadline_at:
            lifecycle.transition(t, S.done, actor=actor, reason="截止时间延后，完成时间在新期限内")
            moved.append(t.id)
    return moved
