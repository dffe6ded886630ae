"""Recount stored 备案时限 once a year's holidays are known (``flask registry recount-deadlines``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

import sqlalchemy as sa

from common.errors import Invalid
from common.timefmt import CN_TZ
from common.workdays import add_workdays, add_workdays_as_estimated, span_is_exact
from extensions import db
from registry.deadlines import filing_workdays
from registry.models import (
    Account,
    AccountEvent,
)
from registry.service import RECOUNT_ACTION, S, _write_event, jsonable


@dataclass(frozen=True)
class Recount:
    account_id: int
    name: str
    start: date
    old: date
    new: date


def recount_filing_deadlines(year: int, *, dry_run: bool = False) -> list[Recount]:
    """Count stored 备案时限 again once ``year``'s holidays are known (EXTRA_HOLIDAYS_FILE, or a
    chinesecalendar release), so deadlines counted Monday–Friday through that year follow the
    State Council's notice.

    Only a deadline that *was* such an estimate — the stored date equals the count from its start
    with ``year`` taken Monday–Friday — and that the real calendar moves is changed, each with an
    account event (``recount_deadline``) and an audit entry; any other stored date (entered by
    hand, counted with other data) is left as it is. The count starts on the closing date for an
    account closed on the platform, on the day of the event that set the deadline for one in
    ``changing``, and otherwise on the opening date (or that event's day). Flushes, never commits.
    """
    if not span_is_exact(date(year, 1, 1), date(year, 12, 31)):
        raise Invalid(
            f"{year} 年的节假日安排尚未录入（EXTRA_HOLIDAYS_FILE 或 chinesecalendar），无法重新计算",
            details={"year": [f"{year} 年没有节假日数据"]},
        )
    days = filing_workdays()
    accounts = db.session.scalars(
        sa.select(Account).where(Account.filing_due_on.is_not(None)).order_by(Account.id)
    ).all()
    history = _deadline_events([a.id for a in accounts])
    results: list[Recount] = []
    for account in accounts:
        due = account.filing_due_on
        if due is None:
            continue
        start = _deadline_start(account, _day_deadline_set(history.get(account.id, []), due))
        if start is None or not start.year <= year <= due.year:
            continue
        if add_workdays_as_estimated(start, days, {year}) != due:
            continue
        new = add_workdays(start, days)
        if new == due:
            continue
        results.append(Recount(account.id, account.name, start, due, new))
        if dry_run:
            continue
        account.filing_due_on = new
        _write_event(
            account,
            RECOUNT_ACTION,
            account.status,
            {"filing_due_on": [jsonable(due), jsonable(new)]},
            None,
            reason=f"按 {year} 年节假日安排重新计算备案时限（原按周一至周五估算）",
            audit_tag="account:deadline:recount",
        )
    db.session.flush()
    return results


def _deadline_events(account_ids: list[int]) -> dict[int, list[tuple[str, Any, Any, date]]]:
    """Per account, newest first: (action, old, new, Beijing day) of events that set filing_due_on."""
    found: dict[int, list[tuple[str, Any, Any, date]]] = {}
    for chunk in (account_ids[i : i + 500] for i in range(0, len(account_ids), 500)):
        events = db.session.execute(
            sa.select(AccountEvent.account_id, AccountEvent.action, AccountEvent.changes, AccountEvent.at)
            .where(AccountEvent.account_id.in_(chunk))
            .order_by(AccountEvent.id.desc())
        )
        for account_id, action, changes, at in events:
            value = (changes or {}).get("filing_due_on")
            if isinstance(value, list) and len(value) == 2:
                day = at.replace(tzinfo=UTC).astimezone(CN_TZ).date()
                found.setdefault(account_id, []).append((action, value[0], value[1], day))
    return found


def _day_deadline_set(events: list[tuple[str, Any, Any, date]], due: date) -> date | None:
    """The day the count behind ``due`` began: the event that set it, looking through earlier
    recounts (they moved a date, they did not start a count)."""
    value: Any = due.isoformat()
    for action, old, new, day in events:
        if new != value:
            continue
        if action != RECOUNT_ACTION:
            return day
        value = old
    return None


def _deadline_start(account: Account, event_day: date | None) -> date | None:
    if account.status is S.closed_on_platform:
        return account.closed_on or event_day
    if account.status is S.changing:
        return event_day
    return account.opened_on or event_day
