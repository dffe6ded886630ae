"""Reminders (in-app rows per user), their outside deliveries (e-mail, group robots), per-user
preferences and the robots' webhooks (encrypted at rest)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import utcnow
from extensions import db

CHANNELS = ("email", "wecom", "dingtalk")
ROBOT_KINDS = ("wecom", "dingtalk")
ROBOT_LABELS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人"}


class Reminder(db.Model):
    """One reminder for one user; ``key`` (event + user) makes it idempotent."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(240), unique=True)
    event_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(500))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]


class ReminderDelivery(db.Model):
    """One message to one outside target (a user's mailbox, a group robot); ``target`` is unique,
    so an event reaches a robot once however many of the group's members it concerns."""

    __tablename__ = "reminder_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(sa.String(260), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    reminder_id: Mapped[int] = mapped_column(sa.ForeignKey("reminders.id"), index=True)
    # E-mail of a user who chose 每日汇总: "held" until the day's digest takes it ("digested"), then
    # "sent"/"failed" with the digest — never sent on its own.
    digest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reminder_digests.id"), index=True)
    robot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("robot_webhooks.id"))
    address: Mapped[str | None] = mapped_column(sa.String(200))  # e-mail recipient
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reminder: Mapped[Reminder] = relationship()


class ReminderDigest(db.Model):
    """The 每日汇总 e-mail of one user for one Beijing day: ``key`` (user + day) is unique, so a
    retried or doubled run makes and sends it once; its items are the held e-mail deliveries."""

    __tablename__ = "reminder_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    day: Mapped[date]
    address: Mapped[str] = mapped_column(sa.String(200))
    item_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotifyPreference(db.Model):
    """A user's outside channels; in-app reminders are always on."""

    __tablename__ = "notify_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(200))
    email_enabled: Mapped[bool] = mapped_column(default=False)
    robot_enabled: Mapped[bool] = mapped_column(default=True)
    email_digest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())  # 每日汇总
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RobotWebhook(db.Model):
    """A 企业微信 or 钉钉 group robot of a unit; URL (it holds the key/token) and 加签 secret are
    Fernet-encrypted and never shown or logged."""

    __tablename__ = "robot_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    url_ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    secret_ciphertext: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
