# ruff: noqa: F811 - the fixtures (county, office, units) are imported from test_reposts and then requested
"""撤销任务: the office withdraws a task issued by mistake, with a reason. Open targets become
已撤销 (audited, through the lifecycle), finished and 不适用 ones stay; the task leaves the units'
待办, the reminders, the sweep and the 通报; the board says so; a second cancel is refused."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.timefmt import today_cn
from notify import todo
from notify.sources import collect
from reports import service as reports
from reposts import completion, lifecycle
from reposts.models import RepostTask
from tests.reposts.test_reposts import S, _page_client, _targets, _task, county, office, units  # noqa: F401


def _setup(db_session, api_as, make_user, office, units):
    """edu overdue, health 不适用, town done; the task past its deadline."""
    edu, health, town = units["edu"], units["health"], units["town"]
    task_json = _task(api_as, office, [edu, health, town])
    task = db_session.get(RepostTask, task_json["id"])
    op_health = make_user(Role.operator, unit=health)
    r = api_as(op_health).post(f"/api/v1/reposts/{task.id}/units/{health.id}/not-applicable", json={"reason": "无微博"})
    assert r.status_code == 200, r.get_json()
    targets = _targets(db_session, task.id)
    lifecycle.transition(targets[(town.id, "weibo")], S.done)
    task.deadline_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    assert completion.sweep().overdue == 1
    db_session.commit()
    return task, targets


def test_cancel_moves_open_targets_only_and_is_recorded(db_session, api_as, make_user, office, units):
    edu, health, town = units["edu"], units["health"], units["town"]
    op_edu = make_user(Role.operator, unit=edu)
    task, targets = _setup(db_session, api_as, make_user, office, units)
    assert any(e.kind == "repost_overdue" and e.unit_id == edu.id for e in collect())
    assert db_session.scalars(todo._reposts(op_edu)).all() == [task]

    r = api_as(office).post(f"/api/v1/reposts/{task.id}/cancel", json={"reason": "来源链接下达错误"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["cancelled"] is True and body["cancel_reason"] == "来源链接下达错误"
    assert body["cancelled_by"] == office.display_name and body["cancelled_at"]
    assert body["counts"]["cancelled"] == 1 and body["counts"]["overdue"] == 0
    db_session.expire_all()
    assert targets[(edu.id, "weibo")].status is S.cancelled
    assert targets[(health.id, "weibo")].status is S.not_applicable
    assert targets[(town.id, "weibo")].status is S.done

    entries = db_session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action.in_(["repost:cancelled", "repost:cancel"]))
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.object_type) for e in entries] == [
        ("repost:cancelled", "repost_targets"),
        ("repost:cancel", "repost_tasks"),
    ]
    assert entries[0].before == {"status": "overdue"} and entries[0].after["reason"] == "来源链接下达错误"
    assert entries[0].actor_id == office.id

    # no longer open: not in the 待办, no reminders, not swept, not late in the 通报
    assert db_session.scalars(todo._reposts(op_edu)).all() == []
    assert not any(e.kind.startswith("repost_") and e.unit_id == edu.id for e in collect())
    assert completion.sweep(task_ids=[task.id]).overdue == 0
    today = today_cn()
    period = reports.period(today - timedelta(days=30), today + timedelta(days=1))
    assert reports.bulletin_data(period)["reposts_late"] == []

    # twice → 409, nothing changes
    again = api_as(office).post(f"/api/v1/reposts/{task.id}/cancel", json={"reason": "再撤一次"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_state"
    # and the office can no longer send a 不适用 back to a cancelled task
    back = api_as(office).post(f"/api/v1/reposts/{task.id}/units/{health.id}/reopen", json={"reason": "不认可"})
    assert back.status_code == 409
    db_session.expire_all()
    assert targets[(health.id, "weibo")].status is S.not_applicable


def test_cancel_needs_a_reason_the_office_and_an_existing_task(db_session, api_as, make_user, office, units):
    edu = units["edu"]
    task = _task(api_as, office, [edu])
    for body in ({}, {"reason": ""}, {"reason": " 错 "}):
        r = api_as(office).post(f"/api/v1/reposts/{task['id']}/cancel", json=body)
        assert r.status_code == 422, body
        err = r.get_json()["error"]
        assert set(err) == {"code", "message", "details"} and "reason" in (err["details"] or {}).get(
            "json", err["details"]
        )
    operator = make_user(Role.operator, unit=edu)
    r = api_as(operator).post(f"/api/v1/reposts/{task['id']}/cancel", json={"reason": "单位想撤销"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    # an operator of a unit the task does not name does not learn it exists
    stranger = make_user(Role.operator, unit=units["town"])
    assert api_as(stranger).post(f"/api/v1/reposts/{task['id']}/cancel", json={"reason": "无关"}).status_code == 404
    assert api_as(office).post("/api/v1/reposts/999999/cancel", json={"reason": "不存在"}).status_code == 404
    db_session.expire_all()
    assert {t.status for t in _targets(db_session, task["id"]).values()} == {S.pending}
    assert db_session.get(RepostTask, task["id"]).cancelled_at is None
    assert not db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "repost:cancel")).all()


def test_board_page_cancel_needs_confirmation_and_shows_the_reason(db_session, client, api_as, office, units):
    task = _task(api_as, office, [units["edu"]])
    web = _page_client(client, office)
    page = web.get(f"/reposts/{task['id']}")
    assert page.status_code == 200 and "撤销任务" in page.get_data(as_text=True)
    unconfirmed = web.post(f"/reposts/{task['id']}/cancel", data={"reason": "接收单位选错"})
    assert unconfirmed.status_code == 302
    db_session.expire_all()
    assert db_session.get(RepostTask, task["id"]).cancelled_at is None
    done = web.post(
        f"/reposts/{task['id']}/cancel",
        data={"reason": "接收单位选错", "confirm": "1"},
        follow_redirects=True,
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "已撤销转载任务" in html
    assert "理由：接收单位选错" in html and 'data-status="cancelled"' in html
    assert 'id="cancel-form"' not in html
