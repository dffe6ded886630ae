"""改期 (moderation.reschedule): changing only the publish time of a content is a recorded
reschedule — an audit entry with the old and new time — never a new version, and the approvals
stand; past times, published content and reviewers are refused. The same through the API
(POST /api/v1/contents/{id}/reschedule) with the standard error shape, and the calendar's form."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from audit import service as audit
from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.errors import Conflict, Forbidden, Invalid
from extensions import db
from moderation import reschedule, review
from moderation.models import ContentStatus, Review
from tests.conftest import PASSWORD

S = ContentStatus


def entries(content, action="content:reschedule"):

    pending = [e for e in audit.pending() if e.action == action and e.object_id == str(content.id)]
    stored = sa.select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == str(content.id))

    return pending + list(db.session.scalars(stored))


@pytest.fixture
def scheduled(make_content, approve_all, team, db_session):
    """A content through all three reviews with a publish time tomorrow: 已排期."""
    content = make_content(publish_at=utcnow() + timedelta(days=1))
    review.submit(content, team.operator)
    approve_all(content)
    db_session.flush()
    assert content.status is S.scheduled
    return content


def test_moving_a_scheduled_post_keeps_version_hash_and_approvals(scheduled, team, db_session):
    version, approved_hash = scheduled.version, scheduled.approved_hash
    approvals = db_session.scalar(sa.select(sa.func.count(Review.id)).where(Review.content_id == scheduled.id))
    old = scheduled.publish_at
    new = old + timedelta(days=2, hours=3)

    result = reschedule.reschedule(scheduled, new, team.operator)

    assert scheduled.publish_at == new and scheduled.status is S.scheduled
    assert scheduled.version == version and scheduled.approved_hash == approved_hash
    assert scheduled.content_hash == approved_hash  # the publishing worker's check still passes
    voided = db_session.scalar(
        sa.select(sa.func.count(Review.id)).where(Review.content_id == scheduled.id, Review.voided.is_(True))
    )
    assert voided == 0
    assert db_session.scalar(sa.select(sa.func.count(Review.id)).where(Review.content_id == scheduled.id)) == approvals
    assert result.as_dict()["new_version"] is False and result.as_dict()["needs_review"] is False
    assert any("无需重新审核" in n for n in result.notes)
    [entry] = entries(scheduled)
    assert entry.before["publish_at"] == old.isoformat() and entry.after["publish_at"] == new.isoformat()
    assert entry.after["version"] == version and entry.actor_id == team.operator.id


def test_a_past_time_is_refused_in_chinese_and_nothing_changes(scheduled, team):
    old = scheduled.publish_at
    with pytest.raises(Invalid) as refused:
        reschedule.reschedule(scheduled, utcnow() - timedelta(minutes=5), team.operator)
    assert refused.value.extra_data["code"] == "publish_at_past"
    assert "已经过去" in refused.value.message and "北京时间" in refused.value.message
    assert scheduled.publish_at == old and entries(scheduled) == []


def test_reviewers_may_not_move_posts(scheduled, team):
    with pytest.raises(Forbidden):
        reschedule.reschedule(scheduled, scheduled.publish_at + timedelta(days=1), team.r3)


@pytest.mark.parametrize("status", [S.publishing, S.published, S.partly_failed, S.failed, S.withdrawn])
def test_content_that_started_publishing_keeps_its_time(scheduled, team, status, db_session):
    scheduled.status = status
    db_session.flush()  # reschedule re-reads the row under its lock
    with pytest.raises(Conflict) as refused:
        reschedule.reschedule(scheduled, scheduled.publish_at + timedelta(days=1), team.operator)
    assert refused.value.extra_data["code"] == "not_reschedulable"


def test_approved_waiting_for_the_scheduler_becomes_scheduled(make_content, approve_all, team, db_session):
    content = make_content()  # no publish time: 终审通过后立即发布
    review.submit(content, team.operator)
    approve_all(content)
    assert content.status is S.approved
    when = utcnow() + timedelta(hours=5)
    reschedule.reschedule(content, when, team.operator)
    assert content.status is S.scheduled and content.publish_at == when
    [entry] = entries(content)  # one entry: the lifecycle move is the reschedule
    assert entry.before["status"] == "approved" and entry.after["status"] == "scheduled"


def test_in_review_the_time_moves_without_restarting_review(make_content, team):
    content = make_content(publish_at=utcnow() + timedelta(days=3))
    review.submit(content, team.operator)
    assert content.status is S.review_1
    reschedule.reschedule(content, utcnow() + timedelta(days=4), team.operator)
    assert content.status is S.review_1 and content.version == 1 and len(entries(content)) == 1


def test_same_time_records_nothing(scheduled, team):
    result = reschedule.reschedule(scheduled, scheduled.publish_at, team.operator)
    assert result.changed is False and entries(scheduled) == []


# ----------------------------------------------------------------------------- API


def test_api_reschedules_and_answers_the_standard_error_shape(scheduled, team, api_as, db_session):
    db_session.commit()
    api = api_as(team.operator)
    new = (scheduled.publish_at + timedelta(days=1)).isoformat() + "Z"
    ok = api.post(f"/api/v1/contents/{scheduled.id}/reschedule", json={"publish_at": new})
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["publish_at"] == new and body["status"] == "scheduled" and body["new_version"] is False
    assert body["version"] == scheduled.version

    past = api.post(f"/api/v1/contents/{scheduled.id}/reschedule", json={"publish_at": "2020-01-01T08:00:00+08:00"})
    assert past.status_code == 422
    error = past.get_json()["error"]
    assert error["code"] == "publish_at_past" and "已经过去" in error["message"] and "publish_at" in error["details"]

    missing = api.post(f"/api/v1/contents/{scheduled.id}/reschedule", json={})
    assert missing.status_code == 422 and "error" in missing.get_json()

    reviewer = api_as(team.r1).post(f"/api/v1/contents/{scheduled.id}/reschedule", json={"publish_at": new})
    assert reviewer.status_code == 403 and reviewer.get_json()["error"]["code"] == "wrong_role"


def test_api_hides_other_units_content(scheduled, make_user, make_unit, api_as, db_session):

    stranger = make_user(Role.operator, unit=make_unit("外县人民政府"))
    db_session.commit()
    answer = api_as(stranger).post(
        f"/api/v1/contents/{scheduled.id}/reschedule", json={"publish_at": "2099-01-01T08:00:00+08:00"}
    )
    assert answer.status_code == 404


def test_calendar_form_reschedules_and_shows_the_record(scheduled, team, client, db_session):
    db_session.commit()
    assert client.post("/login", data={"username": team.operator.username, "password": PASSWORD}).status_code == 302
    page = client.get("/publishing/calendar", query_string={"view": "month"}).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    target = (scheduled.publish_at + timedelta(days=1, hours=8)).strftime("%Y-%m-%dT%H:%M")  # Beijing wall time
    answer = client.post(
        f"/publishing/calendar/contents/{scheduled.id}/reschedule",
        data={"csrf_token": token, "publish_at": target, "back": "/publishing/calendar?view=month"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/publishing/calendar?view=month")
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "已记录改期，未生成新版本" in html
    assert "最近改期记录" in html and target.replace("T", " ") in html
    past = client.post(
        f"/publishing/calendar/contents/{scheduled.id}/reschedule",
        data={"csrf_token": token, "publish_at": "2020-01-01T09:00"},
    )
    assert "已经过去" in client.get(past.headers["Location"]).get_data(as_text=True)


def test_the_review_queue_shows_the_publish_time(make_content, team, client, db_session):

    timed = make_content(title="定时稿件", publish_at=datetime(2099, 5, 1, 0, 30))  # 08:30 Beijing
    review.submit(timed, team.operator)
    at_once = make_content(title="即时稿件")
    review.submit(at_once, team.operator)
    db_session.commit()
    assert client.post("/login", data={"username": team.r1.username, "password": PASSWORD}).status_code == 302
    html = client.get("/review").get_data(as_text=True)
    assert "定时发布（北京时间）" in html
    assert "2099-05-01 08:30" in html and "终审通过后立即发布" in html
