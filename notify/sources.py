"""What needs a reminder now: the events (a stable ``key``, a kind, a text, a link, the users
concerned) read from work orders, filings, the review queues, deliveries, credentials and
repost tasks (issued, due soon, overdue).
:mod:`notify.reminders` records and sends them (docs/workorders.md lists who gets what)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from auth.models import Role, User, UserRole
from common.db import utcnow
from common.timefmt import CN_TZ, bj, waited
from common.workdays import add_workdays
from extensions import db
from moderation import review as workflow
from moderation.models import Content
from oversight.inspection.models import AccountInspection
from oversight.inspection.service import INSPECTED_STATUSES
from oversight.models import FINDING_LABELS
from oversight.workorders.models import UNIT_TURN, WorkOrder, WorkOrderStatus
from platforms import credentials
from platforms.models import AccountCredential
from publishers.models import Delivery, DeliveryStatus
from registry.models import Account, Unit
from reposts.editing import readd_times
from reposts.models import OPEN_STATUSES, RepostTarget, RepostTargetStatus, RepostTask

KIND_LABELS = {
    "workorder_due": "整改期限将到",
    "workorder_overdue": "整改已逾期",
    "workorder_escalated": "整改逾期升级督办",
    "workorder_returned": "整改反馈被退回",
    "filing_due": "备案期限将到",
    "filing_overdue": "备案已逾期",
    "review_waiting": "稿件待审超时",
    "delivery_failed": "发布失败",
    "credential_expiring": "平台凭据即将到期或需重新授权",
    "inspection_unauthorised": "账号未授权，无法巡检",
    "repost_issued": "新的转载任务",
    "repost_due": "转载任务即将截止",
    "repost_overdue": "转载任务已逾期",
    "repost_changed": "转载任务已修改",
}


@dataclass
class Event:
    key: str
    kind: str
    title: str
    body: str
    link: str | None
    unit_id: int | None
    user_ids: set[int] = field(default_factory=set)


# ----------------------------------------------------------------------------- who


def _active_users(*roles: Role, unit_ids: Iterable[int] | None = None) -> set[int]:
    stmt = (
        sa.select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role.in_(roles))
    )
    if unit_ids is not None:
        stmt = stmt.where(User.unit_id.in_(list(unit_ids)))
    return set(db.session.scalars(stmt))


def _operators_of(unit_id: int) -> set[int]:
    return _active_users(Role.operator, unit_ids=[unit_id])


def _office() -> set[int]:
    return _active_users(Role.auditor)


def _ancestors(unit_id: int) -> set[int]:
    found: set[int] = set()
    current = db.session.get(Unit, unit_id)
    while current is not None and current.parent_id is not None and current.parent_id not in found:
        found.add(current.parent_id)
        current = db.session.get(Unit, current.parent_id)
    return found


# ----------------------------------------------------------------------------- what


def _workorder_events(today: date) -> list[Event]:
    soon = add_workdays(today, int(current_app.config.get("NOTIFY_DUE_SOON_WORKDAYS", 2)))
    out: list[Event] = []
    rows = db.session.scalars(
        sa.select(WorkOrder).where(
            sa.or_(WorkOrder.status.in_(UNIT_TURN), WorkOrder.escalation_level > 0),
            WorkOrder.status.in_((*UNIT_TURN, WorkOrderStatus.submitted, WorkOrderStatus.rechecking)),
        )
    ).all()
    for o in rows:
        label = FINDING_LABELS.get(o.finding.kind, o.finding.kind.value)
        what = f"整改工单 #{o.id}（{label}，{o.unit.name}）"
        link = f"/workorders/{o.id}"
        due = o.due_on.isoformat()
        if o.status in UNIT_TURN and today <= o.due_on <= soon:
            out.append(
                Event(
                    f"wo-due:{o.id}:{due}",
                    "workorder_due",
                    "整改期限将到",
                    f"{what}须于 {due} 前提交整改反馈。",
                    link,
                    o.unit_id,
                    _operators_of(o.unit_id),
                )
            )
        if o.status in UNIT_TURN and o.due_on < today:
            out.append(
                Event(
                    f"wo-overdue:{o.id}:{due}",
                    "workorder_overdue",
                    "整改已逾期",
                    f"{what}的整改期限 {due} 已过，请尽快提交整改反馈。",
                    link,
                    o.unit_id,
                    _operators_of(o.unit_id),
                )
            )
        if o.escalation_level > 0 and o.escalated_at is not None and o.status in UNIT_TURN:
            targets = o.escalated_to or {}
            users = _active_users(Role.operator, unit_ids=targets.get("unit_ids") or [])
            if targets.get("office"):
                users |= _office()
            out.append(
                Event(
                    f"wo-escalated:{o.id}:{o.escalated_at.date().isoformat()}",
                    "workorder_escalated",
                    "整改逾期升级督办",
                    f"{what}已超过整改期限 {due}，单位尚未提交反馈，请督办。",
                    link,
                    o.unit_id,
                    users,
                )
            )
        if o.status is WorkOrderStatus.returned and o.events:
            last = o.events[-1]
            if last.to_status == WorkOrderStatus.returned.value:
                out.append(
                    Event(
                        f"wo-returned:{o.id}:{last.id}",
                        "workorder_returned",
                        "整改反馈被退回",
                        f"{what}：{last.text or '请重新整改后再次反馈'}",
                        link,
                        o.unit_id,
                        _operators_of(o.unit_id),
                    )
                )
    return out


def _filing_events(today: date) -> list[Event]:
    soon = add_workdays(today, int(current_app.config.get("NOTIFY_DUE_SOON_WORKDAYS", 2)))
    out: list[Event] = []
    for a in db.session.scalars(
        sa.select(Account).where(Account.filing_due_on.is_not(None), Account.filing_due_on <= soon)
    ):
        due = a.filing_due_on.isoformat()  # type: ignore[union-attr]
        users = _operators_of(a.unit_id)
        link = f"/registry/accounts/{a.id}"
        if a.filing_due_on < today:  # type: ignore[operator]
            out.append(
                Event(
                    f"filing-overdue:{a.id}:{due}",
                    "filing_overdue",
                    "备案已逾期",
                    f"账号「{a.name}」的报送系统备案期限 {due} 已过，请尽快备案并在台账登记。",
                    link,
                    a.unit_id,
                    users | _office(),
                )
            )
        else:
            out.append(
                Event(
                    f"filing-due:{a.id}:{due}",
                    "filing_due",
                    "备案期限将到",
                    f"账号「{a.name}」须于 {due} 前在报送系统完成备案。",
                    link,
                    a.unit_id,
                    users,
                )
            )
    return out


def _review_events(now: datetime) -> list[Event]:
    out: list[Event] = []
    superior = workflow.superior_unit_stages()
    for stage, status in workflow.STAGE_STATUS.items():
        cutoff = now - timedelta(hours=workflow.overdue_hours(stage))
        rows = db.session.scalars(
            sa.select(Content).where(Content.status == status, Content.stage_entered_at < cutoff)
        ).all()
        for c in rows:
            units = {c.unit_id} | (_ancestors(c.unit_id) if stage in superior else set())
            users = _active_users(workflow.STAGE_ROLES[stage], unit_ids=units) - {c.author_id}
            hours = (now - c.stage_entered_at).total_seconds() / 3600  # type: ignore[operator]
            out.append(
                Event(
                    f"review-wait:{c.id}:{stage}:{c.stage_entered_at.isoformat()}",
                    "review_waiting",  # type: ignore[union-attr]
                    f"{workflow.STAGE_LABELS[stage]}待审超时",
                    f"稿件「{c.title}」在{workflow.STAGE_LABELS[stage]}环节已等待 {waited(hours)}。",
                    f"/review/{c.id}",
                    c.unit_id,
                    users,
                )
            )
    return out


def _delivery_events() -> list[Event]:
    out: list[Event] = []
    rows = db.session.execute(
        sa.select(Delivery, Content)
        .join(Content, Content.id == Delivery.content_id)
        .where(Delivery.status == DeliveryStatus.failed)
    ).all()
    for d, c in rows:
        reason = d.last_error_message or d.last_error_code or "平台拒绝"
        out.append(
            Event(
                f"delivery-failed:{d.id}:{d.attempts}",
                "delivery_failed",
                "发布失败",
                f"稿件「{c.title}」发往账号「{d.account.name}」失败：{reason}",
                f"/publishing/contents/{c.id}",
                c.unit_id,
                {c.author_id} | _operators_of(c.unit_id),
            )
        )
    return out


def _expiry(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _credential_events(now: datetime) -> list[Event]:
    horizon = now + timedelta(days=int(current_app.config.get("NOTIFY_CREDENTIAL_EXPIRY_DAYS", 7)))
    admins = _active_users(Role.admin)
    out: list[Event] = []
    rows = db.session.execute(
        sa.select(AccountCredential, Account).join(Account, Account.id == AccountCredential.account_id)
    ).all()
    for row, account in rows:
        link = f"/registry/accounts/{account.id}"
        if row.needs_reauth:
            out.append(
                Event(
                    f"cred-reauth:{account.id}:{row.updated_at.isoformat()}",
                    "credential_expiring",
                    "平台凭据需重新授权",
                    f"账号「{account.name}」的平台凭据已失效，需管理员重新授权后才能发布。",
                    link,
                    account.unit_id,
                    set(admins),
                )
            )
            continue
        try:
            values = credentials.decrypt(account.id, row.ciphertext)
        except credentials.CredentialsUnavailable:
            out.append(
                Event(
                    f"cred-unreadable:{account.id}:{row.updated_at.isoformat()}",
                    "credential_expiring",
                    "平台凭据无法解密",
                    f"账号「{account.name}」的平台凭据无法用当前密钥解密，请重新填写。",
                    link,
                    account.unit_id,
                    set(admins),
                )
            )
            continue
        # The token a person has to renew: the refresh token where there is one, else the access token.
        field_name = "refresh_expires_at" if values.get("refresh_expires_at") else "expires_at"
        if field_name == "expires_at" and values.get("refresh_token"):
            continue  # renewed automatically with the refresh token
        expires = _expiry(values.get(field_name))
        if expires is not None and expires <= horizon:
            when = bj(expires)
            out.append(
                Event(
                    f"cred-expiring:{account.id}:{expires.date().isoformat()}",
                    "credential_expiring",
                    "平台凭据即将到期",
                    f"账号「{account.name}」的平台授权将于 {when}（北京时间）到期，请及时重新授权。",
                    link,
                    account.unit_id,
                    set(admins),
                )
            )
    return out


def _unauthorised_events(today: date) -> list[Event]:
    """Once a week (ISO week), per unit: its accounts the inspection cannot read for want of any
    source, to the unit's operators — 请授权账号以纳入巡检."""

    rows = db.session.execute(
        sa.select(Account.unit_id, Account.name)
        .join(AccountInspection, AccountInspection.account_id == Account.id)
        .where(AccountInspection.not_checkable_reason == "no_source", Account.status.in_(INSPECTED_STATUSES))
        .order_by(Account.unit_id, Account.id)
    ).all()
    by_unit: dict[int, list[str]] = {}
    for unit_id, name in rows:
        by_unit.setdefault(unit_id, []).append(name)
    year, week, _ = today.isocalendar()
    out: list[Event] = []
    for unit_id, names in by_unit.items():
        shown = "、".join(f"「{n}」" for n in names[:5]) + (f"等 {len(names)} 个账号" if len(names) > 5 else "")
        out.append(
            Event(
                f"insp-unauth:{unit_id}:{year}-W{week:02d}",
                "inspection_unauthorised",
                "请授权账号以纳入巡检",
                f"本单位的{shown}未向本平台授权，每日巡检无法读取其发布内容。请在台账账号页完成平台授权。",
                "/todo/",
                unit_id,
                _operators_of(unit_id),
            )
        )
    return out


EDIT_SLACK = timedelta(seconds=1)  # a task row written within a second of its issue was not edited


def time_key(deadline_at: datetime) -> str:
    """A time (naive UTC) in a reminder's key: the deadline of the due-soon and overdue ones, a re-add."""
    return deadline_at.strftime("%Y%m%dT%H%M%S")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _repost_events(now: datetime) -> list[Event]:
    """Per task and unit: the task was issued (once), its deadline is within
    NOTIFY_DUE_SOON_WORKDAYS working days, or it has passed with a platform still to do (these two
    once per deadline: after the office moved it they fire again for the new one); and
    once per edit (reposts/editing.py: title, note or deadline changed — the task row's
    ``updated_at``) to the units that had it before the edit (units added by it get “新的转载任务”).
    A unit removed and added back is keyed by the moment it came back (``…:rYYYYMMDDTHHMMSS``):
    it gets “新的转载任务” (and the due-soon/overdue ones) again, not “已修改”."""

    today = now.replace(tzinfo=UTC).astimezone(CN_TZ).date()
    soon = add_workdays(today, int(current_app.config.get("NOTIFY_DUE_SOON_WORKDAYS", 2)))
    rows = db.session.execute(
        sa.select(RepostTarget.task_id, RepostTarget.unit_id, RepostTarget.status, RepostTarget.created_at).where(
            RepostTarget.status.in_(OPEN_STATUSES)
        )
    ).all()
    per: dict[tuple[int, int], set[RepostTargetStatus]] = {}
    since: dict[tuple[int, int], datetime] = {}
    for task_id, unit_id, status, created_at in rows:
        per.setdefault((task_id, unit_id), set()).add(status)
        since[(task_id, unit_id)] = min(created_at, since.get((task_id, unit_id), created_at))
    tasks = {t.id: t for t in db.session.scalars(sa.select(RepostTask).where(RepostTask.id.in_({k[0] for k in per})))}
    # a unit removed and added back (修改任务) is told as if newly added, from the moment it came back
    readded = readd_times(set(tasks))
    out: list[Event] = []
    for (task_id, unit_id), statuses in per.items():
        task = tasks[task_id]
        back = readded.get((task_id, unit_id))
        again = f":r{time_key(back)}" if back is not None else ""
        if back is not None:
            since[(task_id, unit_id)] = max(since[(task_id, unit_id)], back)
        users = _operators_of(unit_id)
        when = bj(task.deadline_at)
        what = f"转载任务「{task.title}」（来源：{task.source_name}）"
        link = "/reposts/mine"
        out.append(
            Event(
                f"repost-new:{task_id}:{unit_id}{again}",
                "repost_issued",
                "新的转载任务",
                f"{what}须于 {when}（北京时间）前完成。",
                link,
                unit_id,
                users,
            )
        )
        edited = task.updated_at - EDIT_SLACK
        if edited > task.issued_at and since[(task_id, unit_id)] < edited:
            out.append(
                Event(
                    f"repost-changed:{task_id}:{unit_id}:{task.updated_at.isoformat()}",
                    "repost_changed",
                    "转载任务已修改",
                    f"网信办修改了{what}：现须于 {when}（北京时间）前完成"
                    + (f"；说明：{_short(task.note)}" if task.note else "")
                    + "。",
                    link,
                    unit_id,
                    users,
                )
            )
        deadline_day = task.deadline_at.replace(tzinfo=UTC).astimezone(CN_TZ).date()
        # keyed per deadline: a moved deadline may be reminded of (and missed) again, the same one not
        per_deadline = f"{task_id}:{unit_id}:{time_key(task.deadline_at)}{again}"
        if task.deadline_at >= now and deadline_day <= soon:
            out.append(
                Event(
                    f"repost-due:{per_deadline}",
                    "repost_due",
                    "转载任务即将截止",
                    f"{what}将于 {when}（北京时间）截止，请尽快转载或说明不适用。",
                    link,
                    unit_id,
                    users,
                )
            )
        if task.deadline_at < now or RepostTargetStatus.overdue in statuses:
            out.append(
                Event(
                    f"repost-overdue:{per_deadline}",
                    "repost_overdue",
                    "转载任务已逾期",
                    f"{what}已于 {when}（北京时间）截止，本单位尚未完成。",
                    link,
                    unit_id,
                    users,
                )
            )
    return out


def collect(now: datetime | None = None) -> list[Event]:
    now = now or utcnow()
    today = now.replace(tzinfo=UTC).astimezone(CN_TZ).date()
    events = [
        *_workorder_events(today),
        *_filing_events(today),
        *_review_events(now),
        *_delivery_events(),
        *_credential_events(now),
        *_unauthorised_events(today),
        *_repost_events(now),
    ]
    return [e for e in events if e.user_ids]
