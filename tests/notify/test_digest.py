"""每日汇总: a user who chose the daily digest gets his e-mail reminders as one message per Beijing
day at NOTIFY_DIGEST_HOUR, over the real local SMTP server — never singly, once however often the
job runs or retries, outside quiet hours; the others' e-mail is unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.timefmt import CN_TZ, today_cn
from notify import reminders
from notify.models import NotifyPreference, ReminderDelivery, ReminderDigest
from oversight import findings
from oversight.findings import FindingInput
from oversight.models import FindingKind
from oversight.workorders import service as workorders

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=CN_TZ)
TUESDAY_8 = datetime(2026, 12, 8, 8, 5, tzinfo=CN_TZ)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def bureau(make_unit):
    return make_unit("汇总县教育局", region="汇总县")


@pytest.fixture
def people(make_user, bureau):
    return {
        "digest": make_user(Role.operator, unit=bureau),
        "single": make_user(Role.operator, unit=bureau),
        "auditor": make_user(Role.auditor),
    }


@pytest.fixture
def digest_at_8(app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "22:00-07:00")
    monkeypatch.setitem(app.config, "NOTIFY_DIGEST_HOUR", 8)


def overdue_orders(unit, auditor, n):
    report = findings.upsert_many(
        [
            FindingInput(
                kind=FindingKind.duplicate,
                fingerprint=f"digest:{uuid.uuid4().hex}",
                evidence={"message": "重复开设"},
                unit_id=unit.id,
            )
            for _ in range(n)
        ]
    )
    orders = []
    for finding in report.created:
        findings.act(finding, "confirm", auditor)
        order = workorders.order_of(finding)
        order.due_on = today_cn() - timedelta(days=3)
        orders.append(order)
    return orders


def prefs(db_session, people):
    db_session.add(
        NotifyPreference(
            user_id=people["digest"].id, email="digest@gov.example.cn", email_enabled=True, email_digest=True
        )
    )
    db_session.add(
        NotifyPreference(
            user_id=people["single"].id, email="single@gov.example.cn", email_enabled=True, email_digest=False
        )
    )
    db_session.flush()


def to(smtp, address):
    return [m for m in smtp.messages if m["to"] == [address]]


def test_digest_replaces_single_emails_and_goes_out_once_next_morning(
    db_session, smtp, bureau, people, digest_at_8, app
):
    orders = overdue_orders(bureau, people["auditor"], 2)
    prefs(db_session, people)
    db_session.commit()

    monday = reminders.run(utc(MONDAY))
    assert monday["digests"] == 0
    assert to(smtp, "digest@gov.example.cn") == []  # held for the digest
    assert len(to(smtp, "single@gov.example.cn")) == 2  # digest off: one e-mail per reminder, as before
    # Later on Monday (after today's 08:00): still nothing — Monday's reminders wait for Tuesday.
    assert reminders.run(utc(MONDAY + timedelta(hours=3)))["digests"] == 0

    tuesday = reminders.run(utc(TUESDAY_8))
    assert tuesday["digests"] == 1
    (got,) = to(smtp, "digest@gov.example.cn")
    message = got["message"]
    assert message["Subject"] == "【政务新媒体平台】每日提醒汇总（2 条）"
    body = message.get_content()
    assert "12 月 8 日，您有 2 条提醒" in body and "【整改已逾期】2 条" in body
    for order in orders:
        assert f"整改工单 #{order.id}" in body and f"https://gov.example.cn/workorders/{order.id}" in body
    assert "处理入口：https://gov.example.cn/todo/" in body

    # The job runs again (and again the next day): no second digest, nothing sent singly.
    assert reminders.run(utc(TUESDAY_8 + timedelta(minutes=10)))["digests"] == 0
    assert reminders.run(utc(TUESDAY_8 + timedelta(days=1)))["digests"] == 0
    assert len(to(smtp, "digest@gov.example.cn")) == 1 and len(smtp.messages) == 3

    (digest,) = db_session.scalars(sa.select(ReminderDigest)).all()
    assert digest.key == f"digest:u{people['digest'].id}:2026-12-08" and digest.item_count == 2
    items = db_session.scalars(sa.select(ReminderDelivery).where(ReminderDelivery.digest_id == digest.id)).all()
    assert len(items) == 2 and {d.status for d in items} == {"sent"}
    assert db_session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "notify:digest")) is not None

    # The 通报's count: a digest counts per reminder it carried (2), like the single e-mails (2).
    # (sent_at is the wall clock, as for single e-mails: a wide window.)
    counts = reminders.sent_by_channel(utc(MONDAY) - timedelta(days=30), utc(MONDAY) + timedelta(days=30))
    assert counts["email"] == 4
    assert reminders.sent_by_channel(
        utc(MONDAY) - timedelta(days=30), utc(MONDAY) + timedelta(days=30), {bureau.id + 10_000}
    ) == {"in_app": 0}


def test_a_failed_digest_is_retried_without_a_duplicate(
    db_session, smtp, bureau, people, digest_at_8, app, monkeypatch
):
    overdue_orders(bureau, people["auditor"], 3)
    prefs(db_session, people)
    db_session.commit()
    reminders.run(utc(MONDAY))
    smtp.messages.clear()

    port = app.config["SMTP_PORT"]
    with monkeypatch.context() as m:
        m.setitem(app.config, "SMTP_PORT", 1)  # nothing listens: the server cannot be reached
        first = reminders.run(utc(TUESDAY_8))
    assert first["digests"] == 0 and smtp.messages == []
    (digest,) = db_session.scalars(sa.select(ReminderDigest)).all()
    assert digest.status == "retrying" and digest.attempts == 1 and "邮件发送失败" in digest.last_error
    assert app.config["SMTP_PORT"] == port

    assert reminders.run(utc(TUESDAY_8 + timedelta(seconds=20)))["digests"] == 0  # not due yet
    assert reminders.run(utc(TUESDAY_8 + timedelta(minutes=5)))["digests"] == 1
    assert reminders.run(utc(TUESDAY_8 + timedelta(minutes=15)))["digests"] == 0
    (got,) = to(smtp, "digest@gov.example.cn")
    assert got["message"]["Subject"] == "【政务新媒体平台】每日提醒汇总（3 条）"
    db_session.refresh(digest)
    assert digest.status == "sent" and digest.attempts == 2
    assert db_session.scalar(sa.select(sa.func.count(ReminderDigest.id))) == 1


def test_a_digest_claimed_by_another_run_is_not_sent_again(db_session, smtp, bureau, people, digest_at_8):
    overdue_orders(bureau, people["auditor"], 1)
    prefs(db_session, people)
    db_session.commit()
    reminders.run(utc(MONDAY))
    smtp.messages.clear()
    assert reminders.make_digests(utc(TUESDAY_8)) == 1
    assert reminders.make_digests(utc(TUESDAY_8)) == 0  # the day's key exists: a second run makes none
    digest = db_session.scalars(sa.select(ReminderDigest)).one()
    digest.status = "sending"  # another worker claimed it and is sending right now
    db_session.commit()
    assert reminders.run(utc(TUESDAY_8))["digests"] == 0
    assert to(smtp, "digest@gov.example.cn") == []


def test_digest_waits_for_the_end_of_quiet_hours(db_session, smtp, bureau, people, app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "22:00-07:00")
    monkeypatch.setitem(app.config, "NOTIFY_DIGEST_HOUR", 6)  # inside the quiet hours
    overdue_orders(bureau, people["auditor"], 2)
    prefs(db_session, people)
    db_session.commit()
    reminders.run(utc(MONDAY))
    smtp.messages.clear()

    dawn = reminders.run(utc(datetime(2026, 12, 8, 6, 30, tzinfo=CN_TZ)))
    assert dawn["quiet"] is True and smtp.messages == []
    seven = reminders.run(utc(datetime(2026, 12, 8, 7, 0, tzinfo=CN_TZ)))
    assert seven["digests"] == 1
    (got,) = smtp.messages
    assert got["to"] == ["digest@gov.example.cn"] and "（2 条）" in got["message"]["Subject"]
    assert db_session.scalars(sa.select(ReminderDigest.day)).one().isoformat() == "2026-12-08"


def test_switching_the_digest_off_sends_the_held_reminders_singly(
    db_session, smtp, bureau, people, digest_at_8, api_as
):
    overdue_orders(bureau, people["auditor"], 2)
    prefs(db_session, people)
    db_session.commit()
    reminders.run(utc(MONDAY))
    assert to(smtp, "digest@gov.example.cn") == []

    me = api_as(people["digest"])
    off = me._call(
        "PUT",
        "/api/v1/notify/preferences",
        json={"email": "digest@gov.example.cn", "email_enabled": True, "email_digest": False},
    )
    assert off.status_code == 200 and off.get_json()["email_digest"] is False
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "notify:preferences").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.before["email_digest"] is True and entry.after == {
        "email": "digest@gov.example.cn",
        "email_enabled": True,
        "robot_enabled": True,
        "email_digest": False,
        "released": 2,
    }
    result = reminders.run(utc(MONDAY + timedelta(minutes=10)))
    assert result["sent"] == 2 and result["digests"] == 0
    assert len(to(smtp, "digest@gov.example.cn")) == 2
    assert reminders.run(utc(TUESDAY_8))["digests"] == 0
