"""Reminders: what is due, to whom, through which channels — each exactly once.

:func:`collect` reads the database for what needs a reminder now (an *event*, with a stable
``event_key``): 整改 work orders due soon / overdue / escalated / returned, 备案 filings due soon or
overdue, reviews waiting longer than ``REVIEW_OVERDUE_HOURS``, failed deliveries, platform
credentials that need re-authorisation or expire within ``NOTIFY_CREDENTIAL_EXPIRY_DAYS``.

:func:`record` writes one :class:`Reminder` per (event, user) — the unique ``key`` makes a second
run a no-op — plus the outside deliveries: an e-mail per user who switched e-mail on, and one
message per group robot of the users' units (unique ``target``: a robot hears of an event once).

:func:`dispatch` sends pending deliveries unless it is quiet time (``NOTIFY_QUIET_HOURS``,
Beijing): each is claimed and committed before it is sent and marked after, so a retry never
sends what was sent; failures retry with backoff up to ``NOTIFY_MAX_ATTEMPTS``.

:func:`run` = collect → record → commit → dispatch (the scheduled job and ``flask notify run``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from auth.models import User
from common.db import utcnow
from common.timefmt import CN_TZ, bj
from extensions import db
from notify import channels, robots
from notify.models import NotifyPreference, Reminder, ReminderDelivery, RobotWebhook
from notify.sources import Event, collect

log = logging.getLogger("govmedia.notify")

# ----------------------------------------------------------------------------- record


def preference(user_id: int) -> NotifyPreference:
    pref = db.session.get(NotifyPreference, user_id)
    return (
        pref
        if pref is not None
        else NotifyPreference(user_id=user_id, email=None, email_enabled=False, robot_enabled=True)
    )


def record(events: Iterable[Event], now: datetime | None = None) -> list[Reminder]:
    """New reminders and their deliveries (existing keys are skipped). Flushes."""
    now = now or utcnow()
    events = list(events)
    keys = {f"{e.key}:u{uid}" for e in events for uid in e.user_ids}
    existing: set[str] = set()
    key_list = sorted(keys)
    for i in range(0, len(key_list), 500):
        existing |= set(db.session.scalars(sa.select(Reminder.key).where(Reminder.key.in_(key_list[i : i + 500]))))
    targets = set()
    created: list[Reminder] = []
    for e in events:
        for uid in sorted(e.user_ids):
            key = f"{e.key}:u{uid}"
            if key in existing:
                continue
            existing.add(key)
            reminder = Reminder(
                key=key,
                event_key=e.key,
                user_id=uid,
                kind=e.kind,
                title=e.title,
                body=e.body,
                link=e.link,
                unit_id=e.unit_id,
                created_at=now,
            )
            db.session.add(reminder)
            db.session.flush()
            created.append(reminder)
            pref = preference(uid)
            if pref.email_enabled and pref.email:
                target = f"email:{pref.email.lower()}:{e.key}"
                if target not in targets and not _delivery_exists(target):
                    targets.add(target)
                    db.session.add(
                        ReminderDelivery(
                            target=target, channel="email", reminder_id=reminder.id, address=pref.email, created_at=now
                        )
                    )
            if pref.robot_enabled:
                user = db.session.get(User, uid)
                for robot in robots.robots_of_unit(user.unit_id) if user is not None else ():
                    target = f"robot:{robot.id}:{e.key}"
                    if target not in targets and not _delivery_exists(target):
                        targets.add(target)
                        db.session.add(
                            ReminderDelivery(
                                target=target,
                                channel=robot.kind,
                                reminder_id=reminder.id,
                                robot_id=robot.id,
                                created_at=now,
                            )
                        )
    db.session.flush()
    if created:
        counts: dict[str, int] = {}
        for r in created:
            counts[r.kind] = counts.get(r.kind, 0) + 1
        audit.record(
            "notify:reminders",
            object_type="reminders",
            after={"created": len(created), "by_kind": counts},
            actor_label="system:notify",
        )
    return created


def _delivery_exists(target: str) -> bool:
    return db.session.scalar(sa.select(ReminderDelivery.id).where(ReminderDelivery.target == target)) is not None


# ----------------------------------------------------------------------------- send


def quiet_window(value: str | None = None) -> tuple[time, time] | None:
    raw = current_app.config.get("NOTIFY_QUIET_HOURS", "") if value is None else value
    if not raw:
        return None
    start, end = (time.fromisoformat(p.strip().zfill(5)) for p in str(raw).replace("～", "-").split("-"))
    return start, end


def is_quiet(now: datetime | None = None) -> bool:
    """Whether ``now`` (naive UTC, default now) is inside the quiet hours in Beijing time."""
    window = quiet_window()
    if window is None:
        return False
    local = (now or utcnow()).replace(tzinfo=UTC).astimezone(CN_TZ).time()
    start, end = window
    if start == end:
        return False
    return start <= local < end if start < end else (local >= start or local < end)


def _public_url(link: str | None) -> str | None:
    if not link:
        return None
    return current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/") + link


def _message(reminder: Reminder) -> channels.Message:
    return channels.Message(reminder.title, reminder.body, _public_url(reminder.link), bj(reminder.created_at))


def _message_id(target: str) -> str:
    return f"<{hashlib.sha256(target.encode()).hexdigest()[:32]}@govmedia.reminders>"


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def dispatch(now: datetime | None = None, *, limit: int = 200) -> dict[str, Any]:
    """Send what is pending (commits per delivery). Returns counts."""
    now = now or utcnow()
    if is_quiet(now):
        waiting = db.session.scalar(
            sa.select(sa.func.count(ReminderDelivery.id)).where(ReminderDelivery.status.in_(("pending", "retrying")))
        )
        return {"quiet": True, "sent": 0, "failed": 0, "waiting": waiting or 0}
    max_attempts = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 5))
    ids = list(
        db.session.scalars(
            sa.select(ReminderDelivery.id)
            .where(
                sa.or_(
                    ReminderDelivery.status == "pending",
                    sa.and_(ReminderDelivery.status == "retrying", ReminderDelivery.next_attempt_at <= now),
                )
            )
            .order_by(ReminderDelivery.id)
            .limit(limit)
        )
    )
    db.session.commit()
    sent = failed = 0
    for delivery_id in ids:
        # Claim: only one process moves it to "sending" (and commits) before anything goes out.
        claimed = db.session.execute(
            sa.update(ReminderDelivery)
            .where(ReminderDelivery.id == delivery_id, ReminderDelivery.status.in_(("pending", "retrying")))
            .values(status="sending", attempts=ReminderDelivery.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        d = db.session.get(ReminderDelivery, delivery_id)
        try:
            _send(d)
        except channels.SendError as exc:
            d.last_error = str(exc)[:500]
            if exc.retryable and d.attempts < max_attempts:
                d.status, d.next_attempt_at = "retrying", now + _backoff(d.attempts)
            else:
                d.status = "failed"
            failed += 1
            log.warning("reminder delivery %s (%s) failed: %s", d.id, d.channel, d.last_error)
        else:
            d.status, d.sent_at, d.last_error = "sent", utcnow(), None
            sent += 1
        db.session.commit()
    return {"quiet": False, "sent": sent, "failed": failed, "waiting": 0}


def _send(d: ReminderDelivery) -> None:
    msg = _message(d.reminder)
    if d.channel == "email":
        channels.send_email(d.address or "", msg, message_id=_message_id(d.target))
        return
    robot = db.session.get(RobotWebhook, d.robot_id) if d.robot_id else None
    if robot is None or not robot.enabled:
        raise channels.SendError("机器人已删除或停用", retryable=False)
    url, secret = robots.secrets_of(robot)
    channels.send_robot(robot.kind, url, secret, msg)


def run(now: datetime | None = None) -> dict[str, Any]:
    """collect → record → commit → dispatch (the scheduled job and ``flask notify run``)."""
    created = record(collect(now), now)
    db.session.commit()
    result = dispatch(now)
    return {"created": len(created), **result}


def counts_by_kind(start: datetime, end: datetime) -> dict[str, int]:
    """Reminders created in [start, end) per kind (the quarter's 提醒次数 for reports)."""
    rows = db.session.execute(
        sa.select(Reminder.kind, sa.func.count(sa.distinct(Reminder.event_key)))
        .where(Reminder.created_at >= start, Reminder.created_at < end)
        .group_by(Reminder.kind)
    ).all()
    return {str(kind): int(n) for kind, n in rows}


def sent_by_channel(start: datetime, end: datetime, unit_ids: set[int] | None = None) -> dict[str, int]:
    """Reminders of [start, end) by channel, for the 通报: in-app = reminders made (one per user
    and event), outside channels = messages sent (e-mail per mailbox, robots once per group)."""
    in_app = sa.select(sa.func.count(Reminder.id)).where(Reminder.created_at >= start, Reminder.created_at < end)
    outside = (
        sa.select(ReminderDelivery.channel, sa.func.count(ReminderDelivery.id))
        .join(Reminder, Reminder.id == ReminderDelivery.reminder_id)
        .where(ReminderDelivery.status == "sent", ReminderDelivery.sent_at >= start, ReminderDelivery.sent_at < end)
        .group_by(ReminderDelivery.channel)
    )
    if unit_ids is not None:
        in_app = in_app.where(Reminder.unit_id.in_(unit_ids or {-1}))
        outside = outside.where(Reminder.unit_id.in_(unit_ids or {-1}))
    counts = {"in_app": int(db.session.scalar(in_app) or 0)}
    counts.update({str(channel): int(n) for channel, n in db.session.execute(outside).all()})
    return counts
