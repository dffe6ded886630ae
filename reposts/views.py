"""Repost tasks: /api/v1/reposts and the pages /reposts (office: new, list, board; unit: my tasks).

The office (auditor, admin) issues tasks and sees every board; a unit's operator sees only its
own units' targets, turns a task into a content (一键转为稿件) or says it does not apply. A task
that names none of the caller's units answers 404.
"""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, FileSchema, Schema
from apiflask.fields import Boolean, Dict, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for

from auth.models import User
from auth.scoping import current_user, scope_filter
from common.errors import ApiError, Invalid
from common.fields import DateTime, Integer
from common.formal_sheet import XLSX_MIME
from common.pagination import MAX_PER_PAGE, PageOut, paginate
from extensions import db
from moderation.models import Content
from registry.models import PUBLISHABLE_PLATFORMS, Platform, Unit
from reposts import board, completion, editing, light_review, service
from reposts.models import OPEN_STATUSES, SOURCE_KIND_LABELS, TARGET_STATUS_LABELS, RepostSourceKind

api = APIBlueprint("reposts_api", __name__, url_prefix="/api/v1", tag="转载任务")
pages = Blueprint("reposts", __name__, url_prefix="/reposts")

PLATFORM_VALUES = [p.value for p in Platform]


# ----------------------------------------------------------------------------- schemas


class RepostTaskIn(Schema):
    title = String(load_default=None, validate=Length(max=200), metadata={"description": "任务名称（默认取原文标题）"})
    source_kind = String(
        required=True,
        validate=OneOf([k.value for k in RepostSourceKind]),
        metadata={"description": "content：上级单位稿件；url：指定稿源文章；platform_post：平台帖子（转发/分享）"},
    )
    source_content_id = Integer(load_default=None, metadata={"description": "source_kind=content：已终审的稿件"})
    source_url = String(load_default=None, validate=Length(max=500), metadata={"description": "原文或帖子链接"})
    source_title = String(load_default=None, validate=Length(max=200), metadata={"description": "原文标题"})
    source_name = String(load_default=None, validate=Length(max=100), metadata={"description": "来源（稿源单位）"})
    unit_ids = List(Integer(), load_default=list, metadata={"description": "接收单位（与 parent_unit_id 二选一）"})
    parent_unit_id = Integer(load_default=None, metadata={"description": "该单位下属的全部在用单位"})
    platforms = List(String(validate=OneOf(PLATFORM_VALUES)), required=True)
    deadline = String(
        load_default=None,
        validate=Length(max=40),
        metadata={"description": "截止时间，ISO 格式；不带时区按北京时间（与 workdays 二选一）"},
    )
    workdays = Integer(
        load_default=None,
        validate=Range(min=1, max=service.WORKDAYS_MAX),
        metadata={"description": "N 个工作日内：截止为第 N 个工作日 23:59（北京时间）"},
    )
    note = String(load_default=None, validate=Length(max=service.NOTE_MAX))


class CountsOut(Schema):
    pending = Integer()
    done = Integer()
    done_late = Integer()
    not_applicable = Integer()
    overdue = Integer()
    cancelled = Integer()
    total = Integer()


class RepostTargetOut(Schema):
    id = Integer()
    unit_id = Integer()
    unit_name = String()
    platform = String()
    platform_label = String()
    status = String(
        metadata={
            "description": "pending 待完成、done 已完成、done_late 逾期完成、not_applicable 不适用、"
            "overdue 逾期未完成、cancelled 已撤销"
        }
    )
    status_label = String()
    content_id = Integer(allow_none=True)
    completed_at = DateTime(allow_none=True)
    via = String(allow_none=True, metadata={"description": "delivery（经本平台发布）或 live_post（巡检发现）"})
    via_label = String(allow_none=True)
    url = String(allow_none=True)
    reason = String(allow_none=True)


class RepostTaskOut(Schema):
    id = Integer()
    title = String()
    source_kind = String()
    source_kind_label = String()
    source_content_id = Integer(allow_none=True)
    source_url = String(allow_none=True)
    source_title = String()
    source_name = String()
    platforms = List(String())
    platform_labels = List(String())
    deadline_at = DateTime()
    workdays = Integer(allow_none=True)
    deadline_is_exact = Boolean(metadata={"description": "false：工作日期限按周一至周五估算（当年节假日数据缺失）"})
    note = String(allow_none=True)
    parent_unit_id = Integer(allow_none=True)
    issued_by = String()
    issuer_unit = String()
    issued_at = DateTime()
    past_deadline = Boolean()
    cancelled = Boolean(metadata={"description": "true：网信办已撤销该任务"})
    cancelled_at = DateTime(allow_none=True)
    cancelled_by = String(allow_none=True, metadata={"description": "撤销人"})
    cancel_reason = String(allow_none=True, metadata={"description": "撤销理由"})
    counts = Nested(CountsOut)
    units = Integer()


class RepostTaskDetail(RepostTaskOut):
    targets = List(Nested(RepostTargetOut))
    board = Dict(metadata={"description": "单位 × 平台：rows、per_platform、totals"})


class RepostTaskPage(PageOut):
    items = List(Nested(RepostTaskOut))


class RepostQuery(Schema):
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class ReasonIn(Schema):
    reason = String(
        required=True, validate=Length(max=service.REASON_MAX), metadata={"description": "理由（至少 2 个字）"}
    )
    platforms = List(
        String(validate=OneOf(PLATFORM_VALUES)), load_default=list, metadata={"description": "留空：本单位全部平台"}
    )


class CancelIn(Schema):
    reason = String(
        required=True, validate=Length(max=service.REASON_MAX), metadata={"description": "撤销理由（至少 2 个字）"}
    )


class RepostTaskEditIn(Schema):
    title = String(load_default=None, validate=Length(max=200), metadata={"description": "新的任务名称"})
    note = String(
        load_default=None, validate=Length(max=service.NOTE_MAX), metadata={"description": "新的说明（空字符串：清除）"}
    )
    deadline = String(
        load_default=None,
        validate=Length(max=40),
        metadata={"description": "新的截止时间，须晚于现在；不带时区按北京时间（与 workdays 二选一）"},
    )
    workdays = Integer(
        load_default=None,
        validate=Range(min=1, max=service.WORKDAYS_MAX),
        metadata={"description": "自下达之日起 N 个工作日内"},
    )
    add_unit_ids = List(
        Integer(),
        load_default=list,
        metadata={"description": "增加的接收单位（此前移除的单位可重新加入：其已撤销的平台恢复为待完成）"},
    )
    remove_unit_ids = List(
        Integer(),
        load_default=list,
        metadata={"description": "移除的单位：其未完成的平台改为已撤销；已完成转载的单位不能移除"},
    )
    reason = String(
        load_default=None,
        validate=Length(max=service.REASON_MAX),
        metadata={"description": "修改理由（移除单位时必填，至少 2 个字）"},
    )


class ConvertOut(Schema):
    content_id = Integer()
    url = String()


class SweepOut(Schema):
    done = Integer()
    done_late = Integer()
    overdue = Integer()


class SettingIn(Schema):
    light_review_allowed = Boolean(load_default=None, metadata={"description": "网信办：是否允许（须写 note）"})
    light_review_enabled = Boolean(load_default=None, metadata={"description": "本单位运营人员：是否启用"})
    note = String(load_default=None, validate=Length(max=1000))


class SettingOut(Schema):
    unit_id = Integer()
    light_review_allowed = Boolean()
    allowed_note = String(allow_none=True)
    allowed_at = DateTime(allow_none=True)
    light_review_enabled = Boolean()
    enabled_at = DateTime(allow_none=True)


XLSX_FILE = FileSchema(type="string", format="binary")


def _detail(task: Any, user: User) -> dict[str, Any]:
    out = service.task_dict(task, user, with_targets=True)
    out["board"] = board.board(task, user)
    return out


def _xlsx(task: Any, user: User) -> Any:
    data = board.board_xlsx(task, user, issuer=user.unit.name if user.unit else "")
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=f"转载任务{task.id}完成情况.xlsx"
    )


# ----------------------------------------------------------------------------- API


@api.get("/reposts")
@api.input(RepostQuery, location="query", arg_name="q")
@api.output(RepostTaskPage)
@api.doc(summary="转载任务列表（网信办：全部；单位：下达给本单位的）", security="BearerAuth")
def list_tasks(q: dict[str, Any]) -> Any:
    user = current_user()
    return paginate(service.listing(user), q["page"], q["per_page"], lambda t: service.task_dict(t, user))


@api.post("/reposts")
@api.input(RepostTaskIn, arg_name="data")
@api.output(RepostTaskDetail, status_code=201)
@api.doc(summary="下达转载任务（网信办或管理员）", security="BearerAuth")
def create_task(data: dict[str, Any]) -> Any:
    user = current_user()
    task = service.create_task(data, user)
    db.session.commit()
    return _detail(task, user), 201


@api.get("/reposts/<int:task_id>")
@api.output(RepostTaskDetail)
@api.doc(summary="转载任务详情与进度（单位 × 平台）", security="BearerAuth")
def get_task(task_id: int) -> Any:
    user = current_user()
    return _detail(service.get_task(task_id, user), user)


@api.get("/reposts/<int:task_id>/board.xlsx")
@api.output(XLSX_FILE, content_type=XLSX_MIME, description="XLSX 文件")
@api.doc(summary="导出转载任务完成情况（XLSX，报表格式）", security="BearerAuth")
def board_xlsx(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.require_issuer(user)
    return _xlsx(task, user)


@api.post("/reposts/<int:task_id>/sweep")
@api.output(SweepOut)
@api.doc(summary="立即核对完成情况（发布记录与巡检发现的帖子）", security="BearerAuth")
def sweep_task(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.require_issuer(user)
    result = completion.sweep(task_ids=[task.id], actor=user)
    db.session.commit()
    return result.as_dict()


@api.post("/reposts/<int:task_id>/units/<int:unit_id>/convert")
@api.output(ConvertOut, status_code=201)
@api.doc(summary="一键转为稿件（本单位运营人员；带“来源：”说明，仍须三审）", security="BearerAuth")
def convert(task_id: int, unit_id: int) -> Any:
    user = current_user()
    content = service.convert(service.get_task(task_id, user), unit_id, user)
    db.session.commit()
    return {"content_id": content.id, "url": url_for("moderation.content_detail", content_id=content.id)}, 201


@api.post("/reposts/<int:task_id>/units/<int:unit_id>/not-applicable")
@api.input(ReasonIn, arg_name="data")
@api.output(RepostTaskDetail)
@api.doc(summary="说明不适用（本单位运营人员；须写理由）", security="BearerAuth")
def not_applicable(task_id: int, unit_id: int, data: dict[str, Any]) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.not_applicable(task, unit_id, user, data.get("reason"), data.get("platforms"))
    db.session.commit()
    return _detail(task, user)


@api.post("/reposts/<int:task_id>/units/<int:unit_id>/reopen")
@api.input(ReasonIn, arg_name="data")
@api.output(RepostTaskDetail)
@api.doc(summary="退回不适用说明（网信办；须写理由）", security="BearerAuth")
def reopen(task_id: int, unit_id: int, data: dict[str, Any]) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.reopen(task, unit_id, user, data.get("reason"), data.get("platforms"))
    db.session.commit()
    return _detail(task, user)


@api.patch("/reposts/<int:task_id>")
@api.input(RepostTaskEditIn, arg_name="data")
@api.output(RepostTaskDetail)
@api.doc(
    summary="修改已下达的转载任务（网信办或管理员）：截止时间、名称、说明，增加或移除单位（记入审计）",
    security="BearerAuth",
)
def edit_task(task_id: int, data: dict[str, Any]) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    editing.edit_task(task, data, user)
    db.session.commit()
    return _detail(task, user)


@api.post("/reposts/<int:task_id>/cancel")
@api.input(CancelIn, arg_name="data")
@api.output(RepostTaskDetail)
@api.doc(summary="撤销转载任务（网信办或管理员；须写理由；未完成的单位平台改为已撤销）", security="BearerAuth")
def cancel(task_id: int, data: dict[str, Any]) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.cancel(task, user, data.get("reason"))
    db.session.commit()
    return _detail(task, user)


@api.get("/reposts/settings/<int:unit_id>")
@api.output(SettingOut)
@api.doc(summary="单位的转载简化审核设置", security="BearerAuth")
def get_setting(unit_id: int) -> Any:
    user = current_user()
    service.require_viewer(user)
    if db.session.get(Unit, unit_id) is None or not (service.is_issuer(user) or user.unit_id == unit_id):
        raise ApiError(status=404, code="not_found", message="单位不存在")
    return service.setting_dict(service.setting(unit_id))


@api.put("/reposts/settings/<int:unit_id>")
@api.input(SettingIn, arg_name="data")
@api.output(SettingOut)
@api.doc(
    summary="设置转载简化审核：网信办允许或撤销（light_review_allowed, note），单位启用（light_review_enabled）",
    security="BearerAuth",
)
def put_setting(unit_id: int, data: dict[str, Any]) -> Any:
    user = current_user()
    if data.get("light_review_allowed") is None and data.get("light_review_enabled") is None:
        raise ApiError(
            "请指定 light_review_allowed 或 light_review_enabled",
            status=422,
            code="validation_error",
            details={"light_review_allowed": ["二者至少填一个"]},
        )
    row = None
    if data.get("light_review_allowed") is not None:
        row = service.set_allowed(unit_id, bool(data["light_review_allowed"]), user, data.get("note"))
    if data.get("light_review_enabled") is not None:
        row = service.set_enabled(unit_id, bool(data["light_review_enabled"]), user)
    db.session.commit()
    return service.setting_dict(row if row is not None else service.setting(unit_id))


# ----------------------------------------------------------------------------- pages


def _units(user: User) -> list[Unit]:
    return list(
        db.session.scalars(
            sa.select(Unit).where(Unit.is_active.is_(True), scope_filter(user, Unit.id)).order_by(Unit.name)
        )
    )


def _page_context() -> dict[str, Any]:
    return {
        "status_labels": {s.value: label for s, label in TARGET_STATUS_LABELS.items()},
        "source_kind_labels": {k.value: label for k, label in SOURCE_KIND_LABELS.items()},
        "platform_choices": [(p.value, service.platform_label(p)) for p in Platform if p is not Platform.other],
        "publishable": {p.value for p in PUBLISHABLE_PLATFORMS},
    }


@pages.get("/")
def index() -> Any:
    user = current_user()
    service.require_viewer(user)
    if not service.is_issuer(user):
        return redirect(url_for("reposts.mine"))
    page = int(request.args["page"]) if (request.args.get("page") or "").isdigit() else 1
    result = paginate(service.listing(user), max(page, 1), 50, lambda t: service.task_dict(t, user))
    return render_template("reposts/index.html", result=result, pages=(result["total"] + 49) // 50, **_page_context())


def _form_data() -> dict[str, Any]:
    f = request.form
    data: dict[str, Any] = {
        "title": f.get("title") or None,
        "source_kind": f.get("source_kind") or "",
        "source_url": f.get("source_url") or None,
        "source_title": f.get("source_title") or None,
        "source_name": f.get("source_name") or None,
        "platforms": f.getlist("platforms"),
        "note": f.get("note") or None,
    }
    if (f.get("source_content_id") or "").strip().isdigit():
        data["source_content_id"] = int(f["source_content_id"])
    if f.get("scope") == "parent":
        if (f.get("parent_unit_id") or "").isdigit():
            data["parent_unit_id"] = int(f["parent_unit_id"])
        else:
            data["unit_ids"] = []
    else:
        data["unit_ids"] = [int(v) for v in f.getlist("unit_ids") if v.isdigit()]
    if f.get("deadline_mode") == "workdays":
        data["workdays"] = f.get("workdays") or "x"
    else:
        data["deadline"] = f.get("deadline") or None
    return data


def _form(user: User, form: Any, errors: dict[str, Any] | None = None) -> Any:

    sources = list(
        db.session.scalars(
            sa.select(Content)
            .where(Content.status.in_(service.APPROVED_SOURCE), scope_filter(user, Content.unit_id))
            .order_by(Content.updated_at.desc())
            .limit(100)
        )
    )
    return render_template(
        "reposts/new.html",
        form=form,
        errors=errors or {},
        units=_units(user),
        sources=sources,
        default_deadline=service.deadline_local_input(),
        **_page_context(),
    ), (422 if errors else 200)


@pages.get("/new")
def new() -> Any:
    user = current_user()
    service.require_issuer(user)
    return _form(user, {})


@pages.post("/new")
def create_page() -> Any:
    user = current_user()
    service.require_issuer(user)
    try:
        task = service.create_task(_form_data(), user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        details = exc.detail if isinstance(exc.detail, dict) else {}
        flash(exc.message, "error")
        return _form(user, request.form, details or {"_": [exc.message]})
    flash(f"已下达转载任务，共 {len({t.unit_id for t in task.targets})} 个单位", "success")
    return redirect(url_for("reposts.board_page", task_id=task.id))


def _removable(c: dict[str, int]) -> bool:
    """A unit the edit form offers to remove: nothing completed, something still open."""
    return not (c["done"] or c["done_late"]) and bool(c["pending"] or c["overdue"])


@pages.get("/<int:task_id>")
def board_page(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    if not service.is_issuer(user):
        return redirect(url_for("reposts.mine"))
    readdable = editing.readdable_unit_ids(task)
    on_task = {t.unit_id for t in task.targets} - readdable
    data = board.board(task, user)
    return render_template(
        "reposts/board.html",
        task=service.task_dict(task, user),
        board=data,
        removable=[r for r in data["rows"] if _removable(r["counts"])],
        deadline_value=service.deadline_local_value(task.deadline_at),
        addable=[u for u in _units(user) if u.id not in on_task],
        readdable=readdable,
        **_page_context(),
    )


@pages.get("/<int:task_id>/board.xlsx")
def board_xlsx_page(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.require_issuer(user)
    return _xlsx(task, user)


@pages.post("/<int:task_id>/sweep")
def sweep_page(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.require_issuer(user)
    result = completion.sweep(task_ids=[task.id], actor=user)
    db.session.commit()
    flash(
        f"已核对：新发现完成 {result.done} 项、逾期完成 {result.done_late} 项，新增逾期未完成 {result.overdue} 项",
        "success",
    )
    return redirect(url_for("reposts.board_page", task_id=task.id))


def _edit_form_data() -> dict[str, Any]:
    f = request.form
    data: dict[str, Any] = {
        "title": f.get("title"),
        "note": f.get("note"),
        "add_unit_ids": [int(v) for v in f.getlist("add_unit_ids") if v.isdigit()],
        "remove_unit_ids": [int(v) for v in f.getlist("remove_unit_ids") if v.isdigit()],
        "reason": f.get("reason"),
    }
    if (f.get("deadline") or "") != (f.get("deadline_was") or ""):
        data["deadline"] = f.get("deadline") or "x"
    return data


@pages.post("/<int:task_id>/edit")
def edit_page(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.require_issuer(user)
    try:
        changed = editing.edit_task(task, _edit_form_data(), user)
        db.session.commit()
        added = len(changed.get("added_unit_ids", [])) + len(changed.get("readded_unit_ids", []))
        removed = len(changed.get("removed_unit_ids", []))
        extra = "".join([f"，增加 {added} 个单位" if added else "", f"，移除 {removed} 个单位" if removed else ""])
        flash(f"已修改转载任务{extra}", "success")
    except ApiError as exc:
        db.session.rollback()
        details = exc.detail if isinstance(exc.detail, dict) else {}
        problems = [m for msgs in details.values() if isinstance(msgs, list) for m in msgs]
        flash("；".join(problems) if problems else exc.message, "error")
    return redirect(url_for("reposts.board_page", task_id=task.id))


@pages.post("/<int:task_id>/cancel")
def cancel_page(task_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    service.require_issuer(user)
    try:
        if not request.form.get("confirm"):
            raise Invalid("请勾选“确认撤销”后再提交", details={"confirm": ["请勾选确认"]})
        moved = service.cancel(task, user, request.form.get("reason"))
        db.session.commit()
        flash(f"已撤销转载任务，{len(moved)} 项未完成的单位平台改为已撤销", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("reposts.board_page", task_id=task.id))


@pages.post("/<int:task_id>/units/<int:unit_id>/reopen")
def reopen_page(task_id: int, unit_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    try:
        service.reopen(task, unit_id, user, request.form.get("reason"), request.form.getlist("platforms"))
        db.session.commit()
        flash("已退回不适用说明，单位须按期完成转载", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("reposts.board_page", task_id=task.id))


def _review_preview(task: Any, rows: list[Any]) -> dict[str, Any] | None:
    """简化审核 or 三审, said in advance for a task still open or converted and not yet submitted."""
    content = next((t.content for t in rows if t.content_id is not None), None)
    if content is None and not any(t.status in OPEN_STATUSES for t in rows):
        return None
    found = light_review.preview(task, rows[0].unit_id, content)
    return found.as_dict() if found is not None else None


@pages.get("/mine")
def mine() -> Any:
    user = current_user()
    service.require_viewer(user)
    can_answer = user.has_role(*service.UNIT_ROLES)
    setting = service.setting(user.unit_id) if can_answer else None
    return render_template(
        "reposts/mine.html",
        groups=[
            (
                service.task_dict(task, user),
                [service.target_dict(t) for t in rows],
                _review_preview(task, rows) if can_answer else None,
            )
            for task, rows in service.my_targets(user)
        ],
        setting=setting,
        can_answer=can_answer,
        **_page_context(),
    )


@pages.post("/<int:task_id>/units/<int:unit_id>/convert")
def convert_page(task_id: int, unit_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    try:
        content = service.convert(task, unit_id, user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("reposts.mine"))
    flash("已转为稿件草稿（含“来源：”说明），请核对后提交三审", "success")
    return redirect(url_for("moderation.edit_content", content_id=content.id))


@pages.post("/<int:task_id>/units/<int:unit_id>/not-applicable")
def not_applicable_page(task_id: int, unit_id: int) -> Any:
    user = current_user()
    task = service.get_task(task_id, user)
    try:
        rows = service.not_applicable(
            task, unit_id, user, request.form.get("reason"), request.form.getlist("platforms")
        )
        db.session.commit()
        flash(f"已说明不适用（{len(rows)} 个平台）", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("reposts.mine"))


@pages.post("/settings/mine")
def setting_mine_page() -> Any:
    user = current_user()
    try:
        service.set_enabled(user.unit_id, request.form.get("enabled") == "1", user)
        db.session.commit()
        flash("已保存本单位的转载审核方式", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("reposts.mine"))


@pages.get("/settings")
def settings_page() -> Any:
    user = current_user()
    service.require_issuer(user)
    units = _units(user)
    return render_template("reposts/settings.html", rows=[(u, service.setting(u.id)) for u in units], **_page_context())


@pages.post("/settings/<int:unit_id>")
def setting_page(unit_id: int) -> Any:
    user = current_user()
    try:
        service.set_allowed(unit_id, request.form.get("allowed") == "1", user, request.form.get("note"))
        db.session.commit()
        flash("已保存", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("reposts.settings_page"))
