"""Work orders as they stood at a past moment, read back from their history (``work_order_events``).

The 通报 of a quarter counts the orders still open, overdue and escalated **at the quarter's end**
(its last moment, Beijing time), whatever happened since: an order closed a week after the quarter
ended was still open — and overdue, if its deadline had passed — when the quarter ended.
:func:`states_at` replays each order's events up to that moment:

* the status is the ``to_status`` of the last event before the moment (the ``issue`` event, every
  lifecycle move; ``escalate`` events keep the status);
* escalated: an ``escalate`` event before the moment and no ``reissue`` after it (re-issuing a
  closed order starts its escalation afresh, as ``service.issue`` does);
* overdue: the status is the unit's turn (待整改, 退回整改) and the deadline (``due_on``, a Beijing
  date) is before the Beijing date of the moment's last instant (:func:`day_of`) — the same rule as
  ``service.is_overdue`` on that day: an order due on the quarter's last day is not yet overdue
  at the quarter's end;
* closed in a window: an event moving it to 已验收 or 复查通过 inside it.

The deadline read is the order's current ``due_on``: only a re-issue changes it, so an order
re-issued after the moment is judged against its newer deadline — but it was closed at the
moment (it had to be, to be re-issued), so that changes nothing counted. An order with no events
(older data) is read from its columns: open at the moment if it was closed after it.
Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from common.timefmt import CN_TZ
from extensions import db
from oversight.workorders.models import OPEN_STATUSES, UNIT_TURN, WorkOrder, WorkOrderEvent, WorkOrderStatus

CLOSED_OK = (WorkOrderStatus.accepted, WorkOrderStatus.verified)
CHUNK = 500


def day_of(moment: datetime) -> date:
    """The Beijing date of the last instant before ``moment`` (naive UTC): a period's end
    (next day's 00:00) gives the period's last day, as ``is_overdue`` would have seen it then."""
    return (moment - timedelta(microseconds=1)).replace(tzinfo=UTC).astimezone(CN_TZ).date()


@dataclass(frozen=True)
class StateAt:
    status: WorkOrderStatus | None  # None: not issued yet at that moment
    escalated: bool
    overdue: bool
    closed_in_window: bool

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


def states_at(
    orders: Sequence[WorkOrder], moment: datetime, window_start: datetime | None = None
) -> dict[int, StateAt]:
    """Each order's state at ``moment`` (naive UTC), and whether it was closed (已验收/复查通过)
    in ``[window_start, moment)``. One read of the events per CHUNK orders."""
    day = day_of(moment)
    events: dict[int, list[tuple[str, str | None, str | None, datetime]]] = {}
    ids = [o.id for o in orders]
    for i in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            sa.select(
                WorkOrderEvent.order_id,
                WorkOrderEvent.kind,
                WorkOrderEvent.from_status,
                WorkOrderEvent.to_status,
                WorkOrderEvent.at,
            )
            .where(WorkOrderEvent.order_id.in_(ids[i : i + CHUNK]), WorkOrderEvent.at < moment)
            .order_by(WorkOrderEvent.order_id, WorkOrderEvent.at, WorkOrderEvent.id)
        )
        for order_id, kind, from_status, to_status, at in rows:
            events.setdefault(order_id, []).append((kind, from_status, to_status, at))
    out: dict[int, StateAt] = {}
    for order in orders:
        history = events.get(order.id)
        if history is None:  # not issued yet then, or (older data) no events: the columns
            out[order.id] = _from_columns(order, moment, window_start, day)
            continue
        status: WorkOrderStatus | None = None
        escalated = closed = False
        for kind, from_status, to_status, at in history:
            if to_status:
                status = WorkOrderStatus(to_status)
            if kind == "escalate":
                escalated = True
            elif kind == "reissue":
                escalated = False
            elif status in CLOSED_OK and from_status != to_status and (window_start is None or at >= window_start):
                closed = True
        is_open = status in OPEN_STATUSES
        out[order.id] = StateAt(
            status=status,
            escalated=is_open and escalated,
            overdue=status in UNIT_TURN and order.due_on < day,
            closed_in_window=closed,
        )
    return out


def _from_columns(order: WorkOrder, moment: datetime, window_start: datetime | None, day: date) -> StateAt:
    if order.created_at >= moment:
        return StateAt(None, False, False, False)
    closed_at = order.closed_at
    if closed_at is not None and closed_at >= moment:  # closed later: open then, as far as we can tell
        status: WorkOrderStatus = WorkOrderStatus.issued
    else:
        status = order.status
    escalated = status in OPEN_STATUSES and order.escalated_at is not None and order.escalated_at < moment
    closed = (
        order.status in CLOSED_OK
        and closed_at is not None
        and closed_at < moment
        and (window_start is None or closed_at >= window_start)
    )
    return StateAt(status, escalated, status in UNIT_TURN and order.due_on < day, closed)
