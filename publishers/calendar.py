"""发布日历 (/publishing/calendar) and 改期 (reschedule): month, week and day grids in Beijing time.

* ``GET /publishing/calendar?view=month|week|day&date=…&unit_id=…&platform=…&status=…`` — days
  from Monday, each marked from ``common.workdays`` (法定节假日 休 / 调休上班 班); a content sits on
  the Beijing day of its publish time (or last change when it has none).
* The week is a time grid (hours 07–22 down, days across; stacked day after day at phone width).
* Dragging a post to another day or hour (static/js/calendar.js: HTML5 drag and drop for the mouse,
  pointer events on the post's handle for touch and pen) or its 改期 form moves only its time:
  ``moderation.reschedule`` (a recorded reschedule, never a new version; past times refused).
  ``POST /api/v1/contents/{id}/reschedule`` is the same operation for API clients and the script.
* An empty slot's 新建 opens the editor with the publish time filled (``/contents/new?publish_at=``).
"""

from __future__ import annotations

import calendar as pycal
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.orm import joinedload

from audit.models import AuditEntry
from auth.models import User
from auth.scoping import current_user, ensure_visible, get_scoped, scope_filter
from common import workdays
from common.errors import ApiError, Invalid
from common.timefmt import CN_TZ, bj, day_start_utc, today_cn
from extensions import db
from moderation import reschedule as rescheduling
from moderation.models import CONTENT_STATUS_LABELS, Content, ContentStatus, content_targets
from moderation.service import AUTHOR_ROLES
from platforms.types import PLATFORM_LABELS
from publishers.models import DELIVERY_STATUS_LABELS, Delivery
from publishers.schemas import RescheduleIn, RescheduleOut
from publishers.views import api, pages
from registry.models import PUBLISHABLE_PLATFORMS, Account, Platform, Unit

VIEWS = ("month", "week", "day")
WEEKDAYS = "一二三四五六日"
DEFAULT_HOUR = 9  # 新建 from a day cell: 09:00 Beijing
DAY_SLOTS = range(7, 23)  # the day view's hourly slots
HIDDEN_BY_DEFAULT = (ContentStatus.draft, ContentStatus.rejected)


@dataclass
class Day:
    on: date
    mark: workdays.DayMark
    in_range: bool
    items: list[Content] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.on.month}月{self.on.day}日（{WEEKDAYS[self.on.weekday()]}）"


def _anchor() -> date:
    try:
        # ``week`` is the older parameter name (links and bookmarks keep working)
        anchor = date.fromisoformat(request.args.get("date") or request.args.get("week") or "")
    except ValueError:
        return today_cn()
    if not date(2000, 1, 1) <= anchor <= date(2099, 12, 31):
        return today_cn()  # a hand-made URL: no calendar at the ends of time
    return anchor


def _span(view: str, anchor: date) -> tuple[date, date, date, date]:
    """(first day shown, day after the last shown, first day of the period, day after it)."""
    if view == "day":
        return anchor, anchor + timedelta(days=1), anchor, anchor + timedelta(days=1)
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7), start, start + timedelta(days=7)
    first = anchor.replace(day=1)
    after = first + timedelta(days=pycal.monthrange(first.year, first.month)[1])
    start = first - timedelta(days=first.weekday())
    end = after + timedelta(days=(7 - after.weekday()) % 7)
    return start, end, first, after


def _step(view: str, first: date, after: date) -> tuple[date, date]:
    if view == "month":
        previous = (first - timedelta(days=1)).replace(day=1)
        return previous, after
    length = after - first
    return first - length, after


def moment(content: Content) -> datetime:
    """The Beijing time a content sits at on the calendar."""
    return (content.publish_at or content.updated_at).replace(tzinfo=UTC).astimezone(CN_TZ)


def can_reschedule(user: User, content: Content) -> bool:
    return user.has_role(*AUTHOR_ROLES) and content.status in rescheduling.RESCHEDULABLE


@pages.get("/calendar")
def calendar() -> Any:
    """Content by Beijing day as a month, week (default) or day grid, for the units the user sees
    or one of them, filtered by platform and status."""
    user = current_user()
    view = request.args.get("view") if request.args.get("view") in VIEWS else "week"
    anchor = _anchor()
    start, end, first, after = _span(view, anchor)
    unit_id = request.args.get("unit_id", type=int)
    if unit_id is not None:
        ensure_visible(user, unit_id)
    platform = request.args.get("platform") or None
    if platform not in {p.value for p in PUBLISHABLE_PLATFORMS}:
        platform = None
    status = request.args.get("status") or None
    if status not in {s.value for s in ContentStatus}:
        status = None
    units = list(db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)))

    when = sa.func.coalesce(Content.publish_at, Content.updated_at)
    stmt = (
        sa.select(Content)
        .where(scope_filter(user, Content.unit_id))
        .where(when >= day_start_utc(start), when < day_start_utc(end))
        .options(joinedload(Content.unit))
        .order_by(when, Content.id)
    )
    if status is not None:
        stmt = stmt.where(Content.status == ContentStatus(status))
    else:
        stmt = stmt.where(Content.status.not_in(HIDDEN_BY_DEFAULT))
    if unit_id is not None:
        stmt = stmt.where(Content.unit_id == unit_id)
    if platform is not None:
        stmt = stmt.where(
            sa.exists()
            .where(content_targets.c.content_id == Content.id)
            .where(content_targets.c.account_id == Account.id)
            .where(Account.platform == Platform(platform))
        )
    contents = db.session.scalars(stmt).unique().all()
    days = [
        Day(
            start + timedelta(days=i),
            workdays.day_mark(start + timedelta(days=i)),
            first <= start + timedelta(days=i) < after,
        )
        for i in range((end - start).days)
    ]
    by_date = {d.on: d for d in days}
    for content in contents:
        by_date[moment(content).date()].items.append(content)
    channels: dict[int, list[tuple[str, str]]] = {}
    if contents:
        rows = db.session.execute(
            sa.select(Delivery.content_id, Account.platform, Delivery.status)
            .join(Account, Account.id == Delivery.account_id)
            .where(Delivery.content_id.in_([c.id for c in contents]))
            .order_by(Delivery.id)
        )
        for content_id, account_platform, delivery_status in rows:
            channels.setdefault(content_id, []).append(
                (PLATFORM_LABELS[account_platform], DELIVERY_STATUS_LABELS[delivery_status])
            )
    filters = {k: v for k, v in (("unit_id", unit_id), ("platform", platform), ("status", status)) if v is not None}
    previous, following = _step(view, first, after)
    if view == "month":
        title = f"{first.year}年{first.month}月"
    elif view == "week":
        title = f"{start.isoformat()} 起一周"
    else:
        title = f"{anchor.isoformat()}（{WEEKDAYS[anchor.weekday()]}）"
    return render_template(
        "publishers/calendar.html",
        days=days,
        weeks=[days[i : i + 7] for i in range(0, len(days), 7)],
        view=view,
        title=title,
        anchor=anchor,
        start=start,
        unit_id=unit_id,
        platform=platform,
        status=status,
        filters=filters,
        units=units if len(units) > 1 else [],
        platforms=[(p.value, PLATFORM_LABELS[p]) for p in PUBLISHABLE_PLATFORMS],
        statuses=[(s.value, CONTENT_STATUS_LABELS[s]) for s in ContentStatus],
        prev=previous.isoformat(),
        next=following.isoformat(),
        today=today_cn(),
        now_hour=datetime.now(CN_TZ).hour,
        labels=CONTENT_STATUS_LABELS,
        channels=channels,
        moment=moment,
        can_reschedule=lambda c: can_reschedule(user, c),
        can_create=user.has_role(*AUTHOR_ROLES),
        slot=_slot_value,
        day_new=_day_new,
        day_slots=DAY_SLOTS,
        history=_recent_reschedules(user, unit_id),
        weekdays=WEEKDAYS,
    )


def _slot_value(day: date, hour: int = DEFAULT_HOUR) -> str:
    """The editor's ``publish_at`` for a slot: Beijing local time, as the datetime-local field takes it."""
    return datetime.combine(day, time(hour, 0)).strftime("%Y-%m-%dT%H:%M")


def _day_new(day: date) -> str | None:
    """The month cell's 新建: 09:00 of a day ahead; today, 09:00 or else the next full hour while
    the day's slots last; none for a day gone by (the editor would open on a time already past)."""
    today = today_cn()
    if day > today:
        return _slot_value(day)
    if day < today:
        return None
    hour = max(DEFAULT_HOUR, datetime.now(CN_TZ).hour + 1)
    return _slot_value(day, hour) if hour <= DAY_SLOTS[-1] else None


def _recent_reschedules(user: User, unit_id: int | None, limit: int = 10) -> list[dict[str, Any]]:
    """The latest 改期 entries of contents the user sees (the calendar's 改期记录)."""
    stmt = (
        sa.select(AuditEntry, Content)
        .join(
            Content,
            sa.and_(
                AuditEntry.object_type == Content.__tablename__, AuditEntry.object_id == sa.cast(Content.id, sa.String)
            ),
        )
        .where(AuditEntry.action == rescheduling.ACTION)
        .where(scope_filter(user, Content.unit_id))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if unit_id is not None:
        stmt = stmt.where(Content.unit_id == unit_id)
    out = []
    for entry, content in db.session.execute(stmt):
        actor = db.session.get(User, entry.actor_id) if entry.actor_id else None
        out.append(
            {
                "at": entry.at,
                "who": actor.display_name if actor else "系统",
                "title": content.title,
                "content_id": content.id,
                "before": (entry.before or {}).get("publish_at"),
                "after": (entry.after or {}).get("publish_at"),
            }
        )
    return out


# ----------------------------------------------------------------------------- 改期


@api.post("/contents/<int:content_id>/reschedule")
@api.input(RescheduleIn, arg_name="data")
@api.output(RescheduleOut)
@api.doc(
    summary="改期：只改发布时间（记录改期，不生成新版本、不需重新审核）；过去的时间被拒绝",
    security="BearerAuth",
)
def reschedule_api(content_id: int, data: dict[str, Any]) -> Any:
    content = get_scoped(Content, content_id)
    result = rescheduling.reschedule(content, data["publish_at"], current_user())
    db.session.commit()
    return result.as_dict()


def _from_form(value: str | None) -> datetime | None:
    """A datetime-local value (Beijing) as stored naive UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("发布时间格式不正确，请按“年-月-日 时:分”填写", details={"publish_at": ["格式不正确"]}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CN_TZ)
    return parsed.astimezone(UTC).replace(tzinfo=None)


@pages.post("/calendar/contents/<int:content_id>/reschedule")
def reschedule_page(content_id: int) -> Any:
    """The 改期 form beside each post (keyboard and phone alternative to dragging)."""
    content = get_scoped(Content, content_id)
    back = request.form.get("back") or ""
    if not back.startswith("/publishing/calendar"):
        back = url_for("publishers.calendar")
    try:
        result = rescheduling.reschedule(content, _from_form(request.form.get("publish_at")), current_user())
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(f"“{content.title}”未改期：{exc.message}", "error")
        return redirect(back)
    if result.changed:
        message = f"已将“{content.title}”改期到 {bj(result.after)}（原 {bj(result.before)}），已记录改期，未生成新版本"
    else:
        message = f"“{content.title}”的发布时间未变（{bj(result.after)}）"
    flash("；".join([message, *result.notes]), "success")
    return redirect(back)
