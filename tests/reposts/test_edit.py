# ruff: noqa: F811 - the fixtures (county, office, units) are imported from test_reposts and then requested
"""修改已下达的任务: the office moves the deadline, renames the task, rewrites the note, adds units
(who then get the task in their 待办 and the “新的转载任务” reminder) and removes units that have
not completed (their open targets → 已撤销 with the reason). Audited with old → new values; a
unit that completed cannot be removed; a cancelled task cannot be edited."""

from __future__ import annotations

from datetime import UTC, timedelta

import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.timefmt import CN_TZ, bj
from notify import reminders, todo
from notify.models import Reminder
from notify.sources import collect
from reposts import completion, lifecycle
from reposts.models import RepostTask
from tests.reposts.test_reposts import S, _page_client, _targets, _task, county, office, units  # noqa: F401


def _iso(dt):
    return dt.replace(microsecond=0).isoformat() + "+00:00"


def _issued_an_hour_ago(db_session, task_id):
    """Arrange: the task and its targets were written an hour ago (an edit comes later)."""
    task = db_session.get(RepostTask, task_id)
    earlier = utcnow() - timedelta(hours=1)
    task.issued_at = task.created_at = earlier
    for t in task.targets:
        t.created_at = earlier
    db_session.commit()
    # the UPDATE above set updated_at to now: put it back as an unedited row has it
    db_session.execute(sa.update(RepostTask).where(RepostTask.id == task_id).values(updated_at=earlier))
    db_session.commit()


def _edit_entries(db_session):
    return db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "repost:edit")).all()


def test_edit_title_note_deadline_and_add_a_unit(db_session, api_as, make_user, office, units):
    edu, health, town = units["edu"], units["health"], units["town"]
    task = _task(api_as, office, [edu, health])
    _issued_an_hour_ago(db_session, task["id"])
    op_town = make_user(Role.operator, unit=town)
    op_edu = make_user(Role.operator, unit=edu)
    make_user(Role.operator, unit=health)
    assert db_session.scalars(todo._reposts(op_town)).all() == []
    assert not [e for e in collect() if e.kind == "repost_changed"]
    old_deadline = db_session.get(RepostTask, task["id"]).deadline_at
    new_deadline = (utcnow() + timedelta(days=5)).replace(microsecond=0)

    r = api_as(office).patch(
        f"/api/v1/reposts/{task['id']}",
        json={
            "title": "转载国务院办公厅政务服务意见",
            "note": "请在官方微博置顶转载",
            "deadline": _iso(new_deadline),
            "add_unit_ids": [town.id],
        },
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["title"] == "转载国务院办公厅政务服务意见" and body["note"] == "请在官方微博置顶转载"
    assert body["units"] == 3 and body["counts"]["pending"] == 3
    assert {t["unit_id"] for t in body["targets"]} == {edu.id, health.id, town.id}
    db_session.expire_all()
    assert db_session.get(RepostTask, task["id"]).deadline_at == new_deadline

    # the added unit has it to do and gets the same reminder as at issue time
    assert [t.id for t in db_session.scalars(todo._reposts(op_town)).all()] == [task["id"]]
    events = collect()
    issued = [e for e in events if e.kind == "repost_issued" and e.unit_id == town.id]
    assert len(issued) == 1 and op_town.id in issued[0].user_ids and "转载国务院办公厅政务服务意见" in issued[0].body
    # the units that had it before are told it changed (once per edit), the new one is not
    changed = {e.unit_id: e for e in events if e.kind == "repost_changed"}
    assert set(changed) == {edu.id, health.id} and op_edu.id in changed[edu.id].user_ids
    assert "网信办修改了转载任务" in changed[edu.id].body and "说明：请在官方微博置顶转载" in changed[edu.id].body
    assert bj(new_deadline) in changed[edu.id].body

    (entry,) = _edit_entries(db_session)
    assert entry.actor_id == office.id
    assert entry.before["title"] == task["title"] and entry.after["title"] == "转载国务院办公厅政务服务意见"
    assert entry.before["note"] == "请各单位在官方微博转载" and entry.after["note"] == "请在官方微博置顶转载"
    assert entry.before["deadline_at"] == old_deadline.isoformat()
    assert entry.after["deadline_at"] == new_deadline.isoformat()
    assert entry.after["added_unit_ids"] == [town.id]


def test_extending_the_deadline_rejudges_what_the_old_one_made_late(db_session, api_as, office, units):
    edu, health, town = units["edu"], units["health"], units["town"]
    task_json = _task(api_as, office, [edu, health, town])
    task = db_session.get(RepostTask, task_json["id"])
    targets = _targets(db_session, task.id)
    # the old deadline passed: edu was done before it, health after it, town not at all
    task.deadline_at = utcnow() - timedelta(hours=2)
    lifecycle.transition(targets[(edu.id, "weibo")], S.done)
    targets[(edu.id, "weibo")].completed_at = utcnow() - timedelta(hours=3)
    lifecycle.transition(targets[(health.id, "weibo")], S.done_late)
    targets[(health.id, "weibo")].completed_at = utcnow() - timedelta(hours=1)
    db_session.commit()
    assert completion.sweep(task_ids=[task.id]).overdue == 1
    db_session.commit()

    r = api_as(office).patch(f"/api/v1/reposts/{task.id}", json={"workdays": 10, "reason": "节后统一转载"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["workdays"] == 10 and body["past_deadline"] is False
    assert body["counts"]["done"] == 2 and body["counts"]["pending"] == 1
    assert body["counts"]["overdue"] == 0 and body["counts"]["done_late"] == 0
    # counted from the day of issue, to the end of that working day, Beijing time
    deadline = db_session.get(RepostTask, task.id).deadline_at.replace(tzinfo=UTC).astimezone(CN_TZ)
    assert (deadline.hour, deadline.minute) == (23, 59)
    moves = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "repost:deadline_extended").order_by(AuditEntry.id)
    ).all()
    assert sorted((m.before["status"], m.after["status"]) for m in moves) == [
        ("done_late", "done"),
        ("overdue", "pending"),
    ]
    (entry,) = _edit_entries(db_session)
    assert entry.after["reason"] == "节后统一转载" and entry.after["workdays"] == 10


def test_remove_units_cancels_their_open_targets_and_refuses_a_completed_one(
    db_session, api_as, make_user, office, units
):
    edu, health, town = units["edu"], units["health"], units["town"]
    task = _task(api_as, office, [edu, health, town], platforms=["weibo", "wechat"])
    targets = _targets(db_session, task["id"])
    lifecycle.transition(targets[(town.id, "weibo")], S.done)
    op_health = make_user(Role.operator, unit=health)
    r = api_as(op_health).post(
        f"/api/v1/reposts/{task['id']}/units/{health.id}/not-applicable",
        json={"reason": "未开设公众号", "platforms": ["wechat"]},
    )
    assert r.status_code == 200
    db_session.commit()

    # a unit that completed a platform cannot be removed; nothing changes
    r = api_as(office).patch(
        f"/api/v1/reposts/{task['id']}", json={"remove_unit_ids": [edu.id, town.id], "reason": "下达范围有误"}
    )
    assert r.status_code == 422
    assert "已完成转载，不能移除" in str(r.get_json()["error"]["details"])
    # a reason is required to remove
    r = api_as(office).patch(f"/api/v1/reposts/{task['id']}", json={"remove_unit_ids": [edu.id]})
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["details"]
    db_session.expire_all()
    assert {t.status for t in _targets(db_session, task["id"]).values()} == {S.pending, S.done, S.not_applicable}

    r = api_as(office).patch(
        f"/api/v1/reposts/{task['id']}", json={"remove_unit_ids": [edu.id, health.id], "reason": "不属于本次范围"}
    )
    assert r.status_code == 200, r.get_json()
    db_session.expire_all()
    after = _targets(db_session, task["id"])
    assert after[(edu.id, "weibo")].status is S.cancelled and after[(edu.id, "wechat")].status is S.cancelled
    assert after[(health.id, "weibo")].status is S.cancelled
    assert after[(health.id, "wechat")].status is S.not_applicable
    assert after[(town.id, "weibo")].status is S.done and after[(town.id, "wechat")].status is S.pending
    cancelled = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "repost:cancelled")).all()
    assert len(cancelled) == 3 and {e.after["reason"] for e in cancelled} == {"不属于本次范围"}
    (entry,) = _edit_entries(db_session)
    assert entry.after["removed_unit_ids"] == [edu.id, health.id]
    # the removed units have nothing to do any more
    op_edu = make_user(Role.operator, unit=edu)
    assert db_session.scalars(todo._reposts(op_edu)).all() == []
    reminders.record(collect())
    db_session.commit()
    assert not [e for e in collect() if e.unit_id == edu.id]


def _issued_reminders(db_session, user):
    stmt = sa.select(Reminder).where(Reminder.kind == "repost_issued", Reminder.user_id == user.id)
    return db_session.scalars(stmt.order_by(Reminder.id)).all()


def test_a_removed_unit_can_be_added_back(db_session, client, api_as, make_user, office, units):
    edu, health, town = units["edu"], units["health"], units["town"]
    task = _task(api_as, office, [edu, health, town], platforms=["weibo", "wechat"])
    url = f"/api/v1/reposts/{task['id']}"
    op_edu = make_user(Role.operator, unit=edu)
    op_health = make_user(Role.operator, unit=health)
    r = api_as(op_health).post(
        f"{url}/units/{health.id}/not-applicable", json={"reason": "未开设公众号", "platforms": ["wechat"]}
    )
    assert r.status_code == 200
    reminders.record(collect())
    db_session.commit()
    assert len(_issued_reminders(db_session, op_edu)) == 1
    r = api_as(office).patch(url, json={"remove_unit_ids": [edu.id, health.id], "reason": "下达范围有误"})
    assert r.status_code == 200, r.get_json()

    # a unit still on the task cannot be added twice; nothing changes
    r = api_as(office).patch(url, json={"add_unit_ids": [edu.id, town.id]})
    assert r.status_code == 422 and "城关镇" in str(r.get_json()["error"]["details"])
    db_session.expire_all()
    assert _targets(db_session, task["id"])[(edu.id, "weibo")].status is S.cancelled

    r = api_as(office).patch(url, json={"add_unit_ids": [edu.id, health.id], "reason": "范围核实无误，恢复"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["units"] == 3 and body["counts"]["pending"] == 5 and body["counts"]["not_applicable"] == 1
    db_session.expire_all()
    after = _targets(db_session, task["id"])
    # the same rows reopen: one line per unit × platform on the board, its 不适用 kept
    assert after[(edu.id, "weibo")].status is S.pending and after[(edu.id, "wechat")].status is S.pending
    assert after[(health.id, "weibo")].status is S.pending and after[(health.id, "wechat")].status is S.not_applicable
    readded = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "repost:readded")).all()
    assert len(readded) == 3 and {e.after["reason"] for e in readded} == {"范围核实无误，恢复"}
    assert {(e.before["status"], e.after["status"]) for e in readded} == {("cancelled", "pending")}
    entry = _edit_entries(db_session)[-1]
    assert entry.after["readded_unit_ids"] == sorted([edu.id, health.id])
    assert sorted(entry.after["reopened_targets"]) == sorted(t.id for t in readded_targets(after, edu, health))

    # back in the unit's 待办, told “新的转载任务” again (once), not “已修改”
    assert [t.id for t in db_session.scalars(todo._reposts(op_edu)).all()] == [task["id"]]
    events = collect()
    assert not [e for e in events if e.kind == "repost_changed"]
    for _ in range(2):
        reminders.record(collect())
        db_session.commit()
    first, again = _issued_reminders(db_session, op_edu)
    assert again.title == "新的转载任务" and again.key != first.key
    assert len(_issued_reminders(db_session, op_health)) == 2

    # removed once more, the board's edit form offers it back, and adding it there works
    r = api_as(office).patch(url, json={"remove_unit_ids": [edu.id], "reason": "再次移除"})
    assert r.status_code == 200
    web = _page_client(client, office)
    html = web.get(f"/reposts/{task['id']}").get_data(as_text=True)
    offered = html.split(f'name="add_unit_ids" value="{edu.id}"')[1].split("</label>")[0]
    assert "此前移除，可重新加入" in offered
    assert f'name="add_unit_ids" value="{town.id}"' not in html
    page = web.post(
        f"/reposts/{task['id']}/edit", data={"add_unit_ids": str(edu.id), "reason": "恢复"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已修改转载任务，增加 1 个单位" in page
    db_session.expire_all()
    assert _targets(db_session, task["id"])[(edu.id, "weibo")].status is S.pending


def readded_targets(after, edu, health):
    return [after[(edu.id, "weibo")], after[(edu.id, "wechat")], after[(health.id, "weibo")]]


def test_edit_refusals(db_session, api_as, make_user, office, units):
    edu = units["edu"]
    task = _task(api_as, office, [edu])
    url = f"/api/v1/reposts/{task['id']}"
    assert api_as(office).patch(url, json={"deadline": _iso(utcnow() - timedelta(hours=1))}).status_code == 422
    assert api_as(office).patch(url, json={"title": "   "}).status_code == 422
    nothing = api_as(office).patch(url, json={"title": task["title"]})
    assert nothing.status_code == 422 and nothing.get_json()["error"]["message"] == "没有要修改的内容"
    operator = make_user(Role.operator, unit=edu)
    assert api_as(operator).patch(url, json={"title": "单位改名"}).status_code == 403
    assert api_as(office).patch("/api/v1/reposts/999999", json={"title": "不存在"}).status_code == 404
    assert api_as(office).post(f"{url}/cancel", json={"reason": "下达错误"}).status_code == 200
    r = api_as(office).patch(url, json={"title": "撤销后再改"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_state"
    assert _edit_entries(db_session) == []


def test_board_page_edit_form(db_session, client, api_as, office, units):
    edu, health, town = units["edu"], units["health"], units["town"]
    task = _task(api_as, office, [edu, health])
    web = _page_client(client, office)
    html = web.get(f"/reposts/{task['id']}").get_data(as_text=True)
    assert 'id="edit-form"' in html and f'name="add_unit_ids" value="{town.id}"' in html
    assert f'name="remove_unit_ids" value="{edu.id}"' in html
    deadline_was = html.split('name="deadline_was" value="')[1].split('"')[0]

    # the unchanged deadline is not sent as a change; a new unit is added
    done = web.post(
        f"/reposts/{task['id']}/edit",
        data={
            "title": "改名后的任务",
            "note": "请置顶",
            "deadline": deadline_was,
            "deadline_was": deadline_was,
            "add_unit_ids": str(town.id),
            "remove_unit_ids": str(health.id),
            "reason": "卫健局不在本次范围",
        },
        follow_redirects=True,
    )
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "已修改转载任务，增加 1 个单位，移除 1 个单位" in page
    assert "<h1>改名后的任务</h1>" in page and "说明：请置顶" in page
    assert f'<tr data-unit="{town.id}">' in page
    (entry,) = _edit_entries(db_session)
    assert "deadline_at" not in entry.after

    # an error comes back as a message on the board, nothing changed
    bad = web.post(
        f"/reposts/{task['id']}/edit",
        data={"title": "改名后的任务", "deadline": "2020-01-01T08:00", "deadline_was": deadline_was},
        follow_redirects=True,
    )
    assert "新的截止时间须晚于现在" in bad.get_data(as_text=True)
    assert len(_edit_entries(db_session)) == 1


def _due_reminders(db_session, user):
    stmt = sa.select(Reminder).where(Reminder.kind == "repost_due", Reminder.user_id == user.id).order_by(Reminder.id)
    return db_session.scalars(stmt).all()


def test_moving_the_deadline_lets_the_due_soon_reminder_fire_again(db_session, api_as, make_user, office, units):
    edu = units["edu"]
    first = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    task = _task(api_as, office, [edu], deadline=_iso(first))
    op_edu = make_user(Role.operator, unit=edu)
    url = f"/api/v1/reposts/{task['id']}"
    reminders.record(collect())
    db_session.commit()
    (sent,) = _due_reminders(db_session, op_edu)
    assert bj(first) in sent.body

    # an edit that leaves the deadline alone: no second “即将截止”
    assert api_as(office).patch(url, json={"title": "改名不改期限"}).status_code == 200
    reminders.record(collect())
    db_session.commit()
    assert len(_due_reminders(db_session, op_edu)) == 1

    # the deadline moves 20 days later: nothing now, but again before the new deadline — once
    later = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    assert api_as(office).patch(url, json={"deadline": _iso(later)}).status_code == 200
    reminders.record(collect())
    db_session.commit()
    assert len(_due_reminders(db_session, op_edu)) == 1
    before_new = later - timedelta(hours=2)
    for _ in range(2):
        reminders.record(collect(before_new), before_new)
        db_session.commit()
    first_sent, new = _due_reminders(db_session, op_edu)
    assert first_sent.id == sent.id
    assert bj(later) in new.body and "即将截止" in new.title
    # and after the new deadline passes with the repost still missing, “已逾期” names the new one
    after_new = later + timedelta(hours=1)
    reminders.record(collect(after_new), after_new)
    db_session.commit()
    (overdue,) = db_session.scalars(
        sa.select(Reminder).where(Reminder.kind == "repost_overdue", Reminder.user_id == op_edu.id)
    ).all()
    assert bj(later) in overdue.body
