"""Reminders: sent once, outside quiet hours, over a real local SMTP server and a real webhook
receiver in the robots' formats; retried without duplicates; secrets never in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.timefmt import CN_TZ, today_cn
from moderation.models import Content, ContentStatus
from notify import reminders, robots
from notify.models import NotifyPreference, Reminder, ReminderDelivery
from oversight import findings
from oversight.findings import FindingInput
from oversight.models import FindingKind
from oversight.workorders import service as workorders
from platforms.models import AccountCredential
from publishers.credential_admin import set_credentials

DAY = datetime(2026, 12, 7, 10, 0, tzinfo=CN_TZ)  # a Monday, 10:00 Beijing
NIGHT = datetime(2026, 12, 7, 23, 30, tzinfo=CN_TZ)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def county(make_unit):
    return make_unit("提醒县人民政府", region="提醒县")


@pytest.fixture
def bureau(make_unit, county):
    return make_unit("提醒县文旅局", parent=county, region="提醒县")


@pytest.fixture
def people(make_user, bureau, county):
    return {
        "operator": make_user(Role.operator, unit=bureau),
        "operator2": make_user(Role.operator, unit=bureau),
        "county_operator": make_user(Role.operator, unit=county),
        "auditor": make_user(Role.auditor),
        "admin": make_user(Role.admin),
        "reviewer1": make_user(Role.reviewer_1, unit=bureau),
    }


def overdue_order(unit, auditor, days=3):
    report = findings.upsert_many(
        [
            FindingInput(
                kind=FindingKind.duplicate,
                fingerprint=f"test:{uuid.uuid4().hex}",
                evidence={"message": "重复开设"},
                unit_id=unit.id,
            )
        ]
    )
    finding = report.created[0]
    findings.act(finding, "confirm", auditor)
    order = workorders.order_of(finding)
    order.due_on = today_cn() - timedelta(days=days)
    return order


def email_on(db_session, user, address):
    db_session.add(NotifyPreference(user_id=user.id, email=address, email_enabled=True, robot_enabled=True))
    db_session.flush()


# ----------------------------------------------------------------------------- e-mail over SMTP


def test_overdue_order_emails_the_units_operator_once(db_session, smtp, bureau, people, monkeypatch, app):
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "22:00-07:00")
    order = overdue_order(bureau, people["auditor"])
    email_on(db_session, people["operator"], "wenlv@gov.example.cn")
    db_session.commit()

    first = reminders.run(utc(DAY))
    assert first["sent"] == 1 and first["failed"] == 0
    (got,) = smtp.messages
    message = got["message"]
    assert got["to"] == ["wenlv@gov.example.cn"]
    assert message["Subject"] == "【政务新媒体平台】整改已逾期"
    body = message.get_content()
    assert f"整改工单 #{order.id}" in body and "提醒县文旅局" in body
    assert "提醒时间：2026-12-07 10:00（北京时间）" in body
    assert f"https://gov.example.cn/workorders/{order.id}" in body
    # In-app for every operator of the unit, e-mail only for the one who switched it on.
    users = set(db_session.scalars(sa.select(Reminder.user_id).where(Reminder.kind == "workorder_overdue")))
    assert users == {people["operator"].id, people["operator2"].id}

    again = reminders.run(utc(DAY + timedelta(minutes=10)))
    assert again["created"] == 0 and again["sent"] == 0
    assert len(smtp.messages) == 1


def test_quiet_hours_hold_outside_channels_until_morning(db_session, smtp, bureau, people, app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "22:00-07:00")
    overdue_order(bureau, people["auditor"])
    email_on(db_session, people["operator"], "wenlv@gov.example.cn")
    db_session.commit()

    night = reminders.run(utc(NIGHT))
    assert night["quiet"] is True and night["created"] >= 1 and night["waiting"] == 1
    assert smtp.messages == []
    assert db_session.scalar(sa.select(sa.func.count(Reminder.id)).where(Reminder.user_id == people["operator"].id))
    before_dawn = reminders.run(utc(NIGHT + timedelta(hours=7)))  # 06:30
    assert before_dawn["quiet"] is True and smtp.messages == []
    morning = reminders.run(utc(NIGHT + timedelta(hours=8)))  # 07:30
    assert morning["sent"] == 1 and len(smtp.messages) == 1


def test_quiet_hours_window_parsing(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "22:00-07:00")
        assert reminders.is_quiet(utc(NIGHT)) and not reminders.is_quiet(utc(DAY))
        assert reminders.is_quiet(utc(datetime(2026, 12, 7, 6, 59, tzinfo=CN_TZ)))
        assert not reminders.is_quiet(utc(datetime(2026, 12, 7, 7, 0, tzinfo=CN_TZ)))
        monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "12:00-14:00")
        assert reminders.is_quiet(utc(datetime(2026, 12, 7, 13, 0, tzinfo=CN_TZ)))
        assert not reminders.is_quiet(utc(NIGHT))
        monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "")
        assert not reminders.is_quiet(utc(NIGHT))


# ----------------------------------------------------------------------------- robots over HTTP


def test_wecom_and_dingtalk_robots_get_one_message_per_event(db_session, webhooks, bureau, people, caplog):
    order = overdue_order(bureau, people["auditor"])
    wecom_url = f"{webhooks.url}/cgi-bin/webhook/send?key=wecom-secret-key-123"
    ding_url = f"{webhooks.url}/robot/send?access_token=ding-token-456"
    wecom = robots.add(bureau.id, "wecom", "文旅局企业微信群", wecom_url)
    ding = robots.add(bureau.id, "dingtalk", "文旅局钉钉群", ding_url, "SECding-sign-secret")
    db_session.commit()

    result = reminders.run(utc(DAY))
    assert result["sent"] == 2
    by_path = {r["path"]: r for r in webhooks.requests}
    assert set(by_path) == {"/cgi-bin/webhook/send", "/robot/send"}  # two operators, one message per robot

    w = by_path["/cgi-bin/webhook/send"]
    assert w["query"] == {"key": "wecom-secret-key-123"} and w["content_type"] == "application/json"
    assert w["json"]["msgtype"] == "markdown"
    content = w["json"]["markdown"]["content"]
    assert "**整改已逾期**" in content and f"整改工单 #{order.id}" in content and "2026-12-07 10:00" in content

    d = by_path["/robot/send"]
    assert d["json"]["msgtype"] == "markdown" and d["json"]["markdown"]["title"] == "整改已逾期"
    assert f"[去处理](https://gov.example.cn/workorders/{order.id})" in d["json"]["markdown"]["text"]
    query = d["query"]
    assert query["access_token"] == "ding-token-456"
    expected = base64.b64encode(
        hmac.new(b"SECding-sign-secret", f"{query['timestamp']}\nSECding-sign-secret".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == expected  # parse_qs already url-decoded it
    assert abs(int(query["timestamp"]) / 1000 - datetime.now(UTC).timestamp()) < 600

    # Secrets at rest and in the audit log: never in clear.
    for robot in (wecom, ding):
        assert b"secret-key" not in robot.url_ciphertext and b"ding-token" not in robot.url_ciphertext
    entries = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "notify:robot:add")).all()
    text = " ".join(str(e.after) for e in entries)
    assert "wecom-secret-key" not in text and "ding-token" not in text and "SECding" not in text
    assert robots.describe(ding) | {} == robots.describe(ding) and robots.describe(ding)["host"] == "127.0.0.1"

    assert reminders.run(utc(DAY + timedelta(hours=1)))["sent"] == 0
    assert len(webhooks.requests) == 2


def test_failed_webhook_is_retried_once_without_duplicates_and_never_logs_the_key(
    db_session, webhooks, bureau, people, caplog
):
    overdue_order(bureau, people["auditor"])
    robots.add(bureau.id, "wecom", "文旅局企业微信群", f"{webhooks.url}/cgi-bin/webhook/send?key=k-top-secret")
    db_session.commit()
    webhooks.failures.append((502, {"errcode": -1, "errmsg": "bad gateway"}))
    caplog.set_level(logging.DEBUG)

    first = reminders.run(utc(DAY))
    assert first["failed"] == 1 and first["sent"] == 0
    (delivery,) = db_session.scalars(sa.select(ReminderDelivery)).all()
    assert delivery.status == "retrying" and delivery.attempts == 1 and "502" in delivery.last_error
    # Not yet due again: nothing is sent.
    assert reminders.dispatch(utc(DAY + timedelta(seconds=30)))["sent"] == 0
    second = reminders.dispatch(utc(DAY + timedelta(minutes=5)))
    assert second["sent"] == 1
    db_session.refresh(delivery)
    assert delivery.status == "sent" and delivery.attempts == 2
    assert reminders.dispatch(utc(DAY + timedelta(hours=2)))["sent"] == 0
    assert len(webhooks.requests) == 2  # one refused, one delivered
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # werkzeug: the test's receiver
    assert any("key=***" in m for m in ours)  # urllib3's DEBUG line, redacted
    assert not any("k-top-secret" in m for m in ours) and "k-top-secret" not in (delivery.last_error or "")


def test_a_delivery_claimed_by_another_run_is_not_sent_again(db_session, webhooks, bureau, people):
    overdue_order(bureau, people["auditor"])
    robots.add(bureau.id, "wecom", "群", f"{webhooks.url}/cgi-bin/webhook/send?key=k1")
    reminders.record(reminders.collect(utc(DAY)), utc(DAY))
    (delivery,) = db_session.scalars(sa.select(ReminderDelivery)).all()
    delivery.status = "sending"  # another worker claimed it and is sending right now
    db_session.commit()
    assert reminders.dispatch(utc(DAY))["sent"] == 0
    assert webhooks.requests == []


def test_robot_refusal_is_permanent(db_session, webhooks, bureau, people):
    overdue_order(bureau, people["auditor"])
    robots.add(bureau.id, "dingtalk", "群", f"{webhooks.url}/robot/send?access_token=t", "SECx")
    db_session.commit()
    webhooks.failures.append((200, {"errcode": 310000, "errmsg": "sign not match"}))
    assert reminders.run(utc(DAY))["failed"] == 1
    (delivery,) = db_session.scalars(sa.select(ReminderDelivery)).all()
    assert delivery.status == "failed" and "310000" in delivery.last_error


def test_preferences_switch_channels_off(db_session, smtp, webhooks, bureau, people):
    overdue_order(bureau, people["auditor"])
    robots.add(bureau.id, "wecom", "群", f"{webhooks.url}/cgi-bin/webhook/send?key=k2")
    for who in ("operator", "operator2"):
        db_session.add(NotifyPreference(user_id=people[who].id, email=None, email_enabled=False, robot_enabled=False))
    db_session.commit()
    result = reminders.run(utc(DAY))
    assert result["created"] == 2 and result["sent"] == 0
    assert webhooks.requests == [] and smtp.messages == []


# ----------------------------------------------------------------------------- what is reminded


def test_escalation_review_filing_delivery_and_credential_reminders(
    db_session, bureau, county, people, make_account, app, monkeypatch
):
    monkeypatch.setitem(app.config, "REVIEW_OVERDUE_HOURS", 24)
    order = overdue_order(bureau, people["auditor"])
    workorders.escalate_overdue()
    account = make_account(bureau, "douyin", filing_due_on=today_cn() + timedelta(days=1))
    content = Content(
        unit_id=bureau.id,
        author_id=people["operator"].id,
        title="文旅局冬季旅游推介",
        status=ContentStatus.review_1,
        stage_entered_at=utc(DAY) - timedelta(hours=30),
    )
    db_session.add(content)
    set_credentials(
        account.id,
        {
            "client_key": "ck",
            "client_secret": "cs",
            "access_token": "at",
            "open_id": "oid",
            "refresh_token": "rt",
            "refresh_expires_at": int((utc(DAY) + timedelta(days=3)).replace(tzinfo=UTC).timestamp()),
        },
    )
    db_session.flush()

    created = reminders.record(reminders.collect(utc(DAY)), utc(DAY))
    got = {(r.kind, r.user_id) for r in created}
    assert ("workorder_escalated", people["county_operator"].id) in got  # the superior unit
    assert ("workorder_escalated", people["auditor"].id) in got  # and the office
    assert ("review_waiting", people["reviewer1"].id) in got
    assert ("filing_due", people["operator"].id) in got
    assert ("credential_expiring", people["admin"].id) in got
    review = next(r for r in created if r.kind == "review_waiting")
    assert "已等待 1 天 6 小时" in review.body and review.link == f"/review/{content.id}"
    assert order.id and reminders.record(reminders.collect(utc(DAY)), utc(DAY)) == []
    counts = reminders.counts_by_kind(utc(DAY) - timedelta(days=1), utc(DAY) + timedelta(days=1))
    assert counts["workorder_overdue"] == 1 and counts["credential_expiring"] == 1
    db_session.execute(sa.update(AccountCredential).values(needs_reauth=True))
    reauth = reminders.record(reminders.collect(utc(DAY)), utc(DAY))
    assert [r.title for r in reauth if r.kind == "credential_expiring"] == ["平台凭据需重新授权"]
