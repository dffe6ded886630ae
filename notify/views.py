"""The to-do centre and reminders: /todo (page), /api/v1/todo, /api/v1/reminders and the
user's notification preferences (/todo/preferences, /api/v1/notify/preferences)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Email, List, Nested, String
from apiflask.validators import Length
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from audit import service as audit
from auth.models import User
from auth.scoping import current_user
from common.db import utcnow
from common.errors import Invalid
from common.fields import DateTime, Integer
from extensions import db
from notify import reminders, sources, todo
from notify.models import NotifyPreference, Reminder

api = APIBlueprint("notify_api", __name__, url_prefix="/api/v1", tag="待办与提醒")
pages = Blueprint("notify", __name__, url_prefix="/todo")

RECENT_REMINDERS = 50


class TodoSection(Schema):
    key = String()
    label = String()
    count = Integer()
    items = List(Dict())


class TodoOut(Schema):
    total = Integer()
    sections = List(Nested(TodoSection))


class CountsOut(Schema):
    total = Integer()
    sections = Dict(metadata={"description": "各分组的待办数"})
    unread_reminders = Integer()


class ReminderOut(Schema):
    id = Integer()
    kind = String()
    kind_label = String()
    title = String()
    body = String()
    link = String(allow_none=True)
    created_at = DateTime()
    read_at = DateTime(allow_none=True)


class ReminderList(Schema):
    items = List(Nested(ReminderOut))
    unread = Integer()


class PreferenceSchema(Schema):
    email = Email(
        load_default=None, allow_none=True, validate=Length(max=200), metadata={"description": "接收提醒的邮箱"}
    )
    email_enabled = Boolean(load_default=False, metadata={"description": "通过邮件接收提醒（须填邮箱）"})
    robot_enabled = Boolean(load_default=True, metadata={"description": "本单位的企业微信/钉钉群机器人转发我的提醒"})
    email_digest = Boolean(
        load_default=False,
        metadata={
            "description": "每日汇总：邮件提醒每天合并为一封，在 NOTIFY_DIGEST_HOUR（北京时间）发送（须开启邮件提醒）"
        },
    )


def _todo(user: User) -> dict[str, Any]:
    sections = todo.sections(user)
    return {"total": sum(s["count"] for s in sections), "sections": sections}


def _reminder_dict(r: Reminder) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "kind_label": sources.KIND_LABELS.get(r.kind, r.kind),
        "title": r.title,
        "body": r.body,
        "link": r.link,
        "created_at": r.created_at,
        "read_at": r.read_at,
    }


def _unread(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Reminder.id)).where(Reminder.user_id == user.id, Reminder.read_at.is_(None))
        )
        or 0
    )


def _recent(user: User) -> list[Reminder]:
    return list(
        db.session.scalars(
            sa.select(Reminder)
            .where(Reminder.user_id == user.id)
            .order_by(Reminder.created_at.desc(), Reminder.id.desc())
            .limit(RECENT_REMINDERS)
        )
    )


def _mark_read(user: User) -> int:
    return db.session.execute(
        sa.update(Reminder).where(Reminder.user_id == user.id, Reminder.read_at.is_(None)).values(read_at=utcnow())
    ).rowcount


def _save_preferences(user: User, data: dict[str, Any]) -> NotifyPreference:
    if data.get("email_enabled") and not data.get("email"):
        raise Invalid("开启邮件提醒须填写邮箱", details={"email": ["开启邮件提醒时必填"]})
    if data.get("email_digest") and not data.get("email_enabled"):
        raise Invalid("每日汇总须先开启邮件提醒", details={"email_digest": ["开启每日汇总时须开启邮件提醒"]})
    pref = db.session.get(NotifyPreference, user.id)
    before = None
    if pref is None:
        pref = NotifyPreference(user_id=user.id)
        db.session.add(pref)
    else:
        before = _fields(pref)
    pref.email = data.get("email") or None
    pref.email_enabled = bool(data.get("email_enabled"))
    pref.robot_enabled = bool(data.get("robot_enabled", True))
    pref.email_digest = bool(data.get("email_digest"))
    db.session.flush()
    after = _fields(pref)
    if before is not None and before["email_digest"] and not pref.email_digest:
        after["released"] = reminders.release_held(user.id)  # held e-mails now go out one by one
    audit.record("notify:preferences", object_type="users", object_id=user.id, before=before, after=after, actor=user)
    return pref


def _fields(pref: NotifyPreference) -> dict[str, Any]:
    return {
        "email": pref.email,
        "email_enabled": pref.email_enabled,
        "robot_enabled": pref.robot_enabled,
        "email_digest": bool(pref.email_digest),
    }


def _pref_dict(user: User) -> dict[str, Any]:
    return _fields(reminders.preference(user.id))


# ----------------------------------------------------------------------------- API


@api.get("/todo")
@api.output(TodoOut)
@api.doc(summary="我的待办：按角色分组的待处理事项（每组前 20 条）", security="BearerAuth")
def get_todo() -> Any:
    return _todo(current_user())


@api.get("/todo/counts")
@api.output(CountsOut)
@api.doc(summary="我的待办数（页眉显示用）", security="BearerAuth")
def get_counts() -> Any:
    user = current_user()
    sections = todo.sections(user, with_items=False)
    return {
        "total": sum(s["count"] for s in sections),
        "sections": {s["key"]: s["count"] for s in sections},
        "unread_reminders": _unread(user),
    }


@api.get("/reminders")
@api.output(ReminderList)
@api.doc(summary="我最近收到的提醒（站内）", security="BearerAuth")
def get_reminders() -> Any:
    user = current_user()
    return {"items": [_reminder_dict(r) for r in _recent(user)], "unread": _unread(user)}


@api.post("/reminders/read")
@api.output(ReminderList)
@api.doc(summary="把我的提醒全部标为已读", security="BearerAuth")
def read_reminders() -> Any:
    user = current_user()
    _mark_read(user)
    db.session.commit()
    return {"items": [_reminder_dict(r) for r in _recent(user)], "unread": 0}


@api.get("/notify/preferences")
@api.output(PreferenceSchema)
@api.doc(summary="我的提醒渠道设置（站内提醒始终开启）", security="BearerAuth")
def get_preferences() -> Any:
    return _pref_dict(current_user())


@api.put("/notify/preferences")
@api.input(PreferenceSchema, arg_name="data")
@api.output(PreferenceSchema)
@api.doc(summary="修改我的提醒渠道：邮件（须填邮箱）、每日汇总、群机器人", security="BearerAuth")
def put_preferences(data: dict[str, Any]) -> Any:
    user = current_user()
    _save_preferences(user, data)
    db.session.commit()
    return _pref_dict(user)


# ----------------------------------------------------------------------------- pages


@pages.get("/")
def todo_page() -> Any:
    user = current_user()
    return render_template(
        "notify/todo.html",
        todo=_todo(user),
        recent=[_reminder_dict(r) for r in _recent(user)],
        unread=_unread(user),
        pref=_pref_dict(user),
        digest_hour=current_app.config["NOTIFY_DIGEST_HOUR"],
    )


@pages.post("/reminders/read")
def read_page() -> Any:
    _mark_read(current_user())
    db.session.commit()
    return redirect(url_for("notify.todo_page"))


@pages.post("/preferences")
def preferences_page() -> Any:
    user = current_user()
    raw = {
        "email": (request.form.get("email") or "").strip() or None,
        "email_enabled": request.form.get("email_enabled") == "1",
        "robot_enabled": request.form.get("robot_enabled") == "1",
        "email_digest": request.form.get("email_digest") == "1",
    }
    try:
        _save_preferences(user, PreferenceSchema().load(raw))
        db.session.commit()
        flash("已保存提醒设置", "success")
    except ValidationError as exc:
        db.session.rollback()
        flash("邮箱格式不正确" if "email" in exc.messages else "填写的内容有误", "error")
    except Invalid as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("notify.todo_page"))
