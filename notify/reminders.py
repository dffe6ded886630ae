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

:func:`send_digests` (called by :func:`dispatch`, so also outside quiet hours only): a user who chose
每日汇总 gets his e-mail reminders as one message per Beijing day, from ``NOTIFY_DIGEST_HOUR`` on
(the first non-quiet run at or after it). Their deliveries are made "held" and never go out on
their own; the day's :class:`ReminderDigest` (unique key ``digest:u<user>:<day>``) takes those
held before that hour, is claimed and committed before it is sent, and on success marks each of
its items "sent" — so ``sent_by_channel`` counts a digest per item (one e-mail reminder per
event and mailbox, as without the digest), not as one message. In-app reminders and group robots
(a robot speaks to the whole unit, not to one user) stay immediate.

:func:`run` = collect → record → commit → dispatch (the scheduled job and ``flask notify run``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from audit import service as audit
from auth.models import User
from common.db import utcnow
from common.timefmt import CN_TZ, bj
from extensions import db
from notify import channels, robots
from notify.models import NotifyPreference, Reminder, ReminderDelivery, ReminderDigest, RobotWebhook
from notify.sources import KIND_LABELS, Event, collect

log = logging.getLogger("govmedia.notify")

# ----------------------------------------------------------------------------- record


def preference(user_id: int) -> NotifyPreference:
    pref = db.session.get(NotifyPreference, user_id)
    return (
        pref
        if pref is not None
        else NotifyPreference(user_id=user_id, email=None, email_enabled=False, robot_enabled=True, email_digest=False)
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
                            target=target,
                            channel="email",
                            reminder_id=reminder.id,
                            address=pref.email,
                            status="held" if pref.email_digest else "pending",
                            created_at=now,
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
        return {"quiet": True, "sent": 0, "failed": 0, "waiting": waiting or 0, "digests": 0}
    digests = send_digests(now)
    max_attempts = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 5))
    ids = _due_ids(ReminderDelivery, now, limit)
    db.session.commit()
    sent = failed = 0
    for delivery_id in ids:
        if not _claim(ReminderDelivery, delivery_id):
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
    return {"quiet": False, "sent": sent, "failed": failed, "waiting": 0, "digests": digests}


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


# ----------------------------------------------------------------------------- daily digest


def digest_moment(now: datetime) -> tuple[date, datetime]:
    """The latest ``NOTIFY_DIGEST_HOUR`` (Beijing) at or before ``now``: its day and naive UTC."""
    hour = int(current_app.config.get("NOTIFY_DIGEST_HOUR", 8))
    local = now.replace(tzinfo=UTC).astimezone(CN_TZ)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment > local:
        moment -= timedelta(days=1)
    return moment.date(), moment.astimezone(UTC).replace(tzinfo=None)


def make_digests(now: datetime) -> int:
    """Today's digest for each user with e-mail held from before the digest hour, unless the day's
    digest exists already (then they wait for tomorrow's). Commits. Returns how many were made."""
    day, moment = digest_moment(now)
    rows = db.session.execute(
        sa.select(ReminderDelivery.id, Reminder.user_id, ReminderDelivery.address)
        .join(Reminder, Reminder.id == ReminderDelivery.reminder_id)
        .where(ReminderDelivery.status == "held", ReminderDelivery.created_at <= moment)
        .order_by(ReminderDelivery.id)
    ).all()
    by_user: dict[int, list[tuple[int, str]]] = {}
    for delivery_id, user_id, address in rows:
        by_user.setdefault(user_id, []).append((delivery_id, address or ""))
    made = 0
    for user_id, items in sorted(by_user.items()):
        key = f"digest:u{user_id}:{day.isoformat()}"
        if db.session.scalar(sa.select(ReminderDigest.id).where(ReminderDigest.key == key)) is not None:
            continue
        try:
            with db.session.begin_nested():
                digest = ReminderDigest(key=key, user_id=user_id, day=day, address=items[-1][1], created_at=now)
                db.session.add(digest)
                db.session.flush()
        except IntegrityError:
            continue  # another run made it a moment ago
        taken = db.session.execute(
            sa.update(ReminderDelivery)
            .where(ReminderDelivery.id.in_([i for i, _ in items]), ReminderDelivery.status == "held")
            .values(status="digested", digest_id=digest.id)
        ).rowcount
        digest.item_count = taken
        audit.record(
            "notify:digest",
            object_type="users",
            object_id=user_id,
            after={"day": day.isoformat(), "items": taken},
            actor_label="system:notify",
        )
        db.session.commit()
        made += 1
    return made


def _digest_message(digest: ReminderDigest) -> channels.Message:
    items = list(
        db.session.scalars(
            sa.select(Reminder)
            .join(ReminderDelivery, ReminderDelivery.reminder_id == Reminder.id)
            .where(ReminderDelivery.digest_id == digest.id)
            .order_by(Reminder.created_at, Reminder.id)
        )
    )
    order = {kind: i for i, kind in enumerate(KIND_LABELS)}
    groups: dict[str, list[Reminder]] = {}
    for r in sorted(items, key=lambda r: order.get(r.kind, len(order))):
        groups.setdefault(r.kind, []).append(r)
    lines = [f"{digest.day.month} 月 {digest.day.day} 日，您有 {len(items)} 条提醒："]
    for kind, group in groups.items():
        lines += ["", f"【{KIND_LABELS.get(kind, '其他提醒')}】{len(group)} 条"]
        for n, r in enumerate(group, 1):
            lines.append(f"{n}. {r.title}：{r.body}（{bj(r.created_at)}）")
            if r.link:
                lines.append(f"   链接：{_public_url(r.link)}")
    title = f"每日提醒汇总（{len(items)} 条）"
    return channels.Message(title, "\n".join(lines), _public_url("/todo/"), bj(utcnow()))


def _claim(model: Any, row_id: int) -> bool:
    """Only one process moves a due reminder or digest to "sending" (and commits) before
    anything goes out; False when another process had it first."""
    claimed = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.status.in_(("pending", "retrying")))
        .values(status="sending", attempts=model.attempts + 1)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _due_ids(model: Any, now: datetime, limit: int | None = None) -> list[int]:
    """Ids of the single reminders or digests to send now: pending, or retrying whose backoff has
    passed, oldest first — the same rule for both."""
    due = sa.or_(model.status == "pending", sa.and_(model.status == "retrying", model.next_attempt_at <= now))
    return list(db.session.scalars(sa.select(model.id).where(due).order_by(model.id).limit(limit)))


def send_digests(now: datetime) -> int:
    """Make the due digests and send those pending (claimed and committed before sending, like a
    delivery). Returns how many went out."""
    make_digests(now)
    max_attempts = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 5))
    ids = _due_ids(ReminderDigest, now)
    db.session.commit()
    sent = 0
    for digest_id in ids:
        if not _claim(ReminderDigest, digest_id):
            continue
        digest = db.session.get(ReminderDigest, digest_id)
        items = sa.update(ReminderDelivery).where(ReminderDelivery.digest_id == digest_id)
        try:
            channels.send_email(digest.address, _digest_message(digest), message_id=_message_id(digest.key))
        except channels.SendError as exc:
            digest.last_error = str(exc)[:500]
            if exc.retryable and digest.attempts < max_attempts:
                digest.status, digest.next_attempt_at = "retrying", now + _backoff(digest.attempts)
            else:
                digest.status = "failed"
                db.session.execute(items.values(status="failed", last_error=digest.last_error))
            log.warning("reminder digest %s failed: %s", digest.id, digest.last_error)
        else:
            at = utcnow()
            digest.status, digest.sent_at, digest.last_error = "sent", at, None
            db.session.execute(items.values(status="sent", sent_at=at, attempts=digest.attempts))
            sent += 1
        db.session.commit()
    return sent


def release_held(user_id: int) -> int:
    """The user switched 每日汇总 off: his held e-mails go out singly at the next run. Flushes."""
    reminder_ids = sa.select(Reminder.id).where(Reminder.user_id == user_id)
    return db.session.execute(
        sa.update(ReminderDelivery)
        .where(ReminderDelivery.status == "held", ReminderDelivery.reminder_id.in_(reminder_ids))
        .values(status="pending")
    ).rowcount


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
    and event), outside channels = messages sent (e-mail per mailbox, robots once per group).

    Scope: ``unit_ids`` (a unit-scoped exporter) counts only reminders of those units — a reminder
    with no unit belongs to no unit, so it is not theirs; ``None`` (office-wide) counts every
    reminder, those with no unit too, and says how many of the total those are (``no_unit``, over
    all channels), so that 各单位 + 未归属具体单位 = the total."""
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
    if unit_ids is None:
        no_unit = Reminder.unit_id.is_(None)
        counts["no_unit"] = int(db.session.scalar(in_app.where(no_unit)) or 0) + sum(
            int(n) for _, n in db.session.execute(outside.where(no_unit)).all()
        )
    return counts
