"""Units that have not authorised their accounts: the inspection counts the account as not
checkable and raises ``not_authorised``; the unit's operators see it in their 待办 and get a
weekly reminder; confirmed, it is the unit's work order 「请授权账号以纳入巡检」, which closes
itself (复查通过) once the account is authorised and the next inspection reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from auth.models import Role
from common.timefmt import CN_TZ
from notify import reminders
from oversight import findings
from oversight.inspection import service
from oversight.models import Finding, FindingKind, FindingStatus
from oversight.workorders import service as workorders
from oversight.workorders.models import WorkOrderStatus
from publishers.credential_admin import set_credentials

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=CN_TZ)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def bureau(make_unit):
    return make_unit("授权提醒县文旅局", region="授权提醒县")


def active(db_session, account):
    return list(
        db_session.scalars(
            sa.select(Finding).where(
                Finding.account_id == account.id,
                Finding.kind == FindingKind.not_authorised,
                Finding.status.in_((FindingStatus.open, FindingStatus.confirmed)),
            )
        )
    )


def sections(api_as, user):
    return {s["key"]: s for s in api_as(user).get("/api/v1/todo").get_json()["sections"]}


def test_unauthorised_account_reaches_the_units_todo_reminders_and_work_order(
    db_session, sandbox, bureau, make_unit, make_account, make_user, api_as
):

    operator = make_user(Role.operator, unit=bureau)
    stranger = make_user(Role.operator, unit=make_unit("授权提醒邻县"))
    auditor = make_user(Role.auditor)
    blind = make_account(bureau, "weibo", name="授权提醒县文旅", credentials=False)
    seen = make_account(bureau, "weibo", name=bureau.name)
    sandbox.call(
        "POST", "/_sandbox/accounts", json={"platform": "weibo", "uid": seen.platform_uid, "name": bureau.name}
    )

    outcomes = {o.account_id: o for o in service.inspect_accounts([blind.id, seen.id])}
    assert outcomes[blind.id].result == "not_checkable" and outcomes[blind.id].reason == "no_source"
    (finding,) = active(db_session, blind)
    assert "请单位在台账账号页完成平台授权" in finding.evidence["message"] and finding.unit_id == bureau.id
    assert active(db_session, seen) == []  # a readable account raises none (negative twin)

    # The unit's 待办 lists it; another unit's operator does not see it.
    todo = sections(api_as, operator)["unauthorised"]
    assert todo["count"] == 1 and todo["items"][0]["title"] == "请授权账号「授权提醒县文旅」以纳入巡检"
    assert sections(api_as, stranger)["unauthorised"]["count"] == 0

    # A reminder to the unit's operators, once a week (the same week gives nothing new).
    got = reminders.record(reminders.collect(utc(MONDAY)), utc(MONDAY))
    mine = [r for r in got if r.kind == "inspection_unauthorised"]
    assert [r.user_id for r in mine] == [operator.id] and "「授权提醒县文旅」" in mine[0].body
    assert mine[0].title == "请授权账号以纳入巡检"
    later = utc(MONDAY + timedelta(days=2))
    assert [r for r in reminders.record(reminders.collect(later), later) if r.kind == "inspection_unauthorised"] == []
    next_week = utc(MONDAY + timedelta(days=7))
    assert len([r for r in reminders.record(reminders.collect(next_week), next_week) if r.user_id == operator.id]) == 1

    # The office confirms: the unit's work order, with the recheck being a new inspection.
    findings.act(finding, "confirm", auditor)
    order = workorders.order_of(finding)
    assert order is not None and order.unit_id == bureau.id and order.status is WorkOrderStatus.issued
    assert workorders.recheck_kind(order) == "inspection"
    assert "账号未授权，无法巡检" in sections(api_as, operator)["orders_to_answer"]["items"][0]["title"]

    # The unit authorises the account; the next inspection reads it: finding resolved, order verified.
    set_credentials(blind.id, {"access_token": f"sandbox:{blind.platform_uid}"})
    sandbox.call(
        "POST", "/_sandbox/accounts", json={"platform": "weibo", "uid": blind.platform_uid, "name": blind.name}
    )
    assert service.inspect_accounts([blind.id])[0].result == "checked"
    db_session.refresh(finding)
    db_session.refresh(order)
    assert finding.status is FindingStatus.resolved and order.status is WorkOrderStatus.verified
    assert sections(api_as, operator)["unauthorised"]["count"] == 0
