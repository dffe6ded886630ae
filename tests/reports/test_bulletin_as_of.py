# ruff: noqa: F811 - the county fixture is imported and then requested
"""The 通报's work-order counts are as of the quarter's end (its last moment, Beijing time), read back
from the orders' history with a fixed clock: an order overdue and escalated at the quarter's end
but closed a few days after it still counts; one escalated only after the quarter does not; one
closed inside the quarter is 办结; one issued after it is not there at all."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from auth.models import Role
from oversight import findings
from oversight.workorders import service as workorders
from oversight.workorders.models import WorkOrderEvent
from reports import service as reports
from reports.bulletin_doc import bulletin_docx
from tests.reports.test_bulletin_office import read
from tests.reports.test_formal_workbooks import county  # noqa: F401 - fixture
from tests.reports.test_report_jobs import make_finding

NOW = datetime(2026, 11, 15, 2, 0)  # the fixed clock: 2026-11-15 10:00 Beijing, after 2026Q3


def _at(order, created, times, due):
    """Put the order's history at fixed times (UTC): created, then each event in order."""
    order.created_at = created
    order.due_on = due
    events = order.events
    assert [e.kind for e in events] == [k for k, _ in times]
    for event, (_, at) in zip(events, times, strict=True):
        event.at = at
        if event.kind == "escalate":
            order.escalated_at = at
        if event.to_status in ("verified", "accepted") and event.from_status != event.to_status:
            order.closed_at = at


def test_bulletin_counts_work_orders_as_of_the_quarters_end(app, db_session, county, make_unit, make_user):
    town = make_unit("丰源县石桥镇人民政府", region="丰源县")
    officer = make_user(Role.auditor, unit=make_unit("丰源县委网信办", region="丰源县"))
    a, c, d = (make_finding(county, message=m) for m in ("县里逾期后才整改", "县里按期整改", "县里十月的问题"))
    b = make_finding(town, message="镇里九月的问题")
    for f in (a, b, c, d):
        findings.act(f, "confirm", officer)
    orders = {k: workorders.order_of(f) for k, f in {"a": a, "b": b, "c": c, "d": d}.items()}
    orders["a"].due_on = orders["b"].due_on = date(2026, 10, 8)
    orders["c"].due_on = orders["d"].due_on = date(2099, 1, 1)
    db_session.flush()
    assert sorted(workorders.escalate_overdue()) == sorted([orders["a"].id, orders["b"].id])
    findings.act(a, "resolve", officer, "已恢复更新")
    findings.act(c, "resolve", officer, "已恢复更新")
    db_session.flush()

    # A: overdue from 08-11, escalated 08-11, closed 10-05 (after the quarter)
    _at(
        orders["a"],
        datetime(2026, 8, 1, 2),
        [("issue", datetime(2026, 8, 1, 2)), ("escalate", datetime(2026, 8, 11, 1)), ("verify", datetime(2026, 10, 5))],
        date(2026, 8, 10),
    )
    # B (the town): issued in September, due 10-08, escalated 10-09 — after the quarter; still open
    _at(
        orders["b"],
        datetime(2026, 9, 1, 2),
        [("issue", datetime(2026, 9, 1, 2)), ("escalate", datetime(2026, 10, 9, 1))],
        date(2026, 10, 8),
    )
    # C: issued and closed inside the quarter
    _at(
        orders["c"],
        datetime(2026, 7, 5, 2),
        [("issue", datetime(2026, 7, 5, 2)), ("verify", datetime(2026, 9, 20, 2))],
        date(2026, 7, 15),
    )
    # D: issued after the quarter
    _at(orders["d"], datetime(2026, 10, 2, 2), [("issue", datetime(2026, 10, 2, 2))], date(2026, 11, 30))
    # the findings behind them were found in the quarter, with the orders' deadlines
    for f, key in ((a, "a"), (b, "b"), (c, "c")):
        f.first_seen_at, f.due_on = orders[key].created_at, orders[key].due_on
    db_session.commit()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(WorkOrderEvent)) == 8

    q3 = reports.quarter("2026Q3")
    summary = reports.workorder_summary(q3, now=NOW)
    assert summary["as_of_period_end"] is True
    assert summary["totals"] == {"issued": 3, "closed": 1, "open": 2, "overdue": 1, "escalated": 1}
    rows = {u["unit_name"]: u for u in summary["units"]}
    assert rows["丰源县人民政府"] == {
        "unit_name": "丰源县人民政府",
        "issued": 2,
        "closed": 1,
        "open": 1,
        "overdue": 1,
        "escalated": 1,
    }
    assert (rows["丰源县石桥镇人民政府"]["overdue"], rows["丰源县石桥镇人民政府"]["escalated"]) == (0, 0)
    assert summary["late_units"] == ["丰源县人民政府"]

    # the Word 通报 says so, dated at the quarter's end
    lines, tables = read(bulletin_docx(q3, now=NOW))
    text = "\n".join(lines)
    assert (
        "本期下发整改工单3个，办结1个；截至2026年9月30日未办结2个，其中逾期未整改1个、已升级督办1个。"
        "逾期或被升级督办的单位：丰源县人民政府（逾期1个）。"
    ) in text
    assert "（未办结、逾期未整改、已升级督办均为截至2026年9月30日的情况）" in lines
    # named as overdue: the county (A was overdue then), not the town (B's deadline came after)
    assert reports.bulletin_data(q3, now=NOW)["overdue_units"] == ["丰源县人民政府"]
    assert [[c.text for c in r.cells][1:] for r in tables[2].rows[1:]] == [
        ["丰源县人民政府", "2", "1", "1", "1", "1"],
        ["丰源县石桥镇人民政府", "1", "0", "1", "0", "0"],
    ]

    # while the quarter was running (the clock at 09-15): as of then — C was still open and overdue
    running = reports.workorder_summary(q3, now=datetime(2026, 9, 15, 2))
    assert running["as_of_period_end"] is False
    assert running["totals"] == {"issued": 3, "closed": 0, "open": 3, "overdue": 2, "escalated": 1}
    # the next quarter (running at the fixed clock) sees B overdue and escalated, A closed, D issued
    q4 = reports.workorder_summary(reports.quarter("2026Q4"), now=NOW)
    assert q4["totals"] == {"issued": 1, "closed": 1, "open": 2, "overdue": 1, "escalated": 1}
    assert q4["late_units"] == ["丰源县石桥镇人民政府"]
