"""整改 work orders: /api/v1/workorders and the pages /workorders (board, detail, forms, files).

Operators see and answer their own unit's orders (and those of units below it); auditors and
admins see every order and decide. An order outside the caller's scope answers 404.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, Dict, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Blueprint, flash, redirect, render_template, request, url_for

from auth.models import User
from auth.scoping import current_user, get_scoped, scope_filter
from common import media
from common.errors import ApiError, Forbidden, NotFound
from common.fields import DateTime, Integer
from common.pagination import MAX_PER_PAGE, PageOut, paginate
from extensions import db
from oversight import evidence_text
from oversight.workorders import service
from oversight.workorders.models import WORK_ORDER_STATUS_LABELS, WorkOrder, WorkOrderStatus
from registry.models import Unit

api = APIBlueprint("workorders_api", __name__, url_prefix="/api/v1", tag="整改工单")
pages = Blueprint("workorders", __name__, url_prefix="/workorders")

ACTIONS = ("accept", "return", "recheck")
ACTION_LABELS = {"accept": "验收通过", "return": "退回整改", "recheck": "自动复查"}


def viewer() -> User:
    user = current_user()
    if not user.has_role(*service.VIEW_ROLES):
        raise Forbidden("您的角色无权查看整改工单", details={"required_roles": [r.value for r in service.VIEW_ROLES]})
    return user


class WorkOrderQuery(Schema):
    status = String(load_default=None, validate=OneOf([s.value for s in WorkOrderStatus]))
    open = Boolean(load_default=False, metadata={"description": "true：只列未办结的"})
    overdue = Boolean(load_default=False, metadata={"description": "true：只列单位整改已逾期的"})
    unit_id = Integer(load_default=None)
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class WorkOrderOut(Schema):
    id = Integer()
    finding_id = Integer()
    finding_kind = String()
    finding_label = String()
    message = String(allow_none=True)
    unit_id = Integer()
    unit_name = String(allow_none=True)
    account_id = Integer(allow_none=True)
    status = String()
    status_label = String()
    due_on = Date()
    due_is_exact = Boolean(metadata={"description": "false：期限按周一至周五估算（当年节假日数据缺失）"})
    overdue = Boolean()
    escalated = Boolean()
    escalated_at = DateTime(allow_none=True)
    recheck = String(allow_none=True, metadata={"description": "可自动复查时的复查方式，否则为空"})
    recheck_label = String(allow_none=True)
    last_recheck = Dict(allow_none=True)
    created_at = DateTime()
    closed_at = DateTime(allow_none=True)
    actions = List(String(), metadata={"description": "当前用户现在可做的：feedback、accept、return、recheck"})


class WorkOrderPage(PageOut):
    items = List(Nested(WorkOrderOut))


class WorkOrderEventOut(Schema):
    id = Integer()
    kind = String()
    from_status = String(allow_none=True)
    to_status = String(allow_none=True)
    by = String()
    text = String(allow_none=True)
    links = List(String())
    files = List(Dict())
    at = DateTime()


class WorkOrderDetail(WorkOrderOut):
    events = List(Nested(WorkOrderEventOut))


class WorkOrderFeedbackIn(Schema):
    text = String(
        required=True, validate=Length(max=service.TEXT_MAX), metadata={"description": "整改情况说明（至少 2 个字）"}
    )
    links = List(
        String(validate=Length(max=500)), load_default=list, metadata={"description": "证据链接（http/https）"}
    )


class WorkOrderDecisionIn(Schema):
    reason = String(
        load_default=None, allow_none=True, validate=Length(max=2000), metadata={"description": "意见；退回时必填"}
    )


def _detail(user: User, order: WorkOrder) -> dict[str, Any]:
    return service.order_dict(order, user, with_events=True)


def _uploads() -> list[service.Upload]:
    every = request.files.getlist("files")
    try:
        files = [f for f in every if f and f.filename]
        max_files = int(service.setting("WORKORDER_MAX_FILES", 10))
        if len(files) > max_files:
            message = f"每次反馈最多上传 {max_files} 个文件"
            raise ApiError(message, status=422, code="validation_error", details={"files": [message]})
        return [service.Upload(name, data) for data, name in (media.read_upload(f) for f in files)]
    finally:
        for f in every:
            f.close()  # spooled temporary files, also when one of them was refused


def _decide(order: WorkOrder, action: str, user: User, reason: str | None) -> None:
    if action == "accept":
        service.accept(order, user, reason)
    elif action == "return":
        service.return_order(order, user, reason)
    elif action == "recheck":
        service.request_recheck(order, user)
    else:
        raise NotFound(f"未知操作：{action}")


# ----------------------------------------------------------------------------- API


@api.get("/workorders")
@api.input(WorkOrderQuery, location="query", arg_name="q")
@api.output(WorkOrderPage)
@api.doc(summary="整改工单列表（本单位或全部；按状态、逾期、单位筛选）", security="BearerAuth")
def list_orders(q: dict[str, Any]) -> Any:
    user = viewer()
    return paginate(service.listing(user, q), q["page"], q["per_page"], lambda o: service.order_dict(o, user))


@api.get("/workorders/<int:order_id>")
@api.output(WorkOrderDetail)
@api.doc(summary="整改工单详情：问题、期限、反馈与证据、审核与复查记录", security="BearerAuth")
def get_order(order_id: int) -> Any:
    user = viewer()
    return _detail(user, get_scoped(WorkOrder, order_id))


@api.post("/workorders/<int:order_id>/feedback")
@api.input(WorkOrderFeedbackIn, location="form", arg_name="data")
@api.output(WorkOrderDetail)
@api.doc(
    summary="单位提交整改反馈（multipart/form-data：text、links 可多个、files 可多个）",
    description="文件按素材库的上限（MEDIA_MAX_MB）保存，每次最多 WORKORDER_MAX_FILES 个；"
    "可自动复查的问题提交后进入“自动复查中”。",
    security="BearerAuth",
)
def post_feedback(order_id: int, data: dict[str, Any]) -> Any:
    user = viewer()
    order = get_scoped(WorkOrder, order_id)
    service.feedback(order, user, data.get("text"), links=data.get("links"), files=_uploads())
    db.session.commit()
    return _detail(user, order)


@api.post("/workorders/<int:order_id>/actions/<string:action>")
@api.input(WorkOrderDecisionIn, arg_name="data")
@api.output(WorkOrderDetail)
@api.doc(
    summary="网信办审核整改反馈：accept（验收，问题线索办结）、return（退回，须写理由）、recheck（自动复查）",
    security="BearerAuth",
)
def order_action(order_id: int, action: str, data: dict[str, Any]) -> Any:
    user = viewer()
    order = get_scoped(WorkOrder, order_id)
    _decide(order, action, user, data.get("reason"))
    db.session.commit()
    return _detail(user, order)


def _serve_file(order_id: int, sha256: str) -> Any:
    viewer()
    order = get_scoped(WorkOrder, order_id)
    entry = service.file_of(order, sha256)
    data = media.load(sha256) if entry is not None else None
    if entry is None or data is None:
        raise NotFound("文件不存在或已被清理")
    return media.send(data, entry["name"])


@api.get("/workorders/<int:order_id>/files/<string:sha256>")
@api.doc(summary="下载整改反馈的证据文件（图片直接显示，其余一律下载）", security="BearerAuth")
def api_file(order_id: int, sha256: str) -> Any:
    return _serve_file(order_id, sha256)


# ----------------------------------------------------------------------------- pages


@pages.get("/")
def board() -> Any:
    user = viewer()
    q: dict[str, Any] = {}
    if request.args.get("status") in {s.value for s in WorkOrderStatus}:
        q["status"] = request.args["status"]
    q["open"] = request.args.get("open", "1" if not q.get("status") else "") == "1"
    q["all"] = request.args.get("status") == "all"  # 全部: closed and withdrawn ones too
    if q["all"]:
        q["open"] = False
    q["overdue"] = request.args.get("overdue") == "1"
    if (request.args.get("unit_id") or "").isdigit():
        q["unit_id"] = int(request.args["unit_id"])
    page = int(request.args["page"]) if (request.args.get("page") or "").isdigit() else 1
    result = paginate(service.listing(user, q), max(page, 1), 50, lambda o: service.order_dict(o, user))
    units = db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)).all()
    return render_template(
        "workorders/board.html",
        result=result,
        q=q,
        units=units,
        statuses=WORK_ORDER_STATUS_LABELS,
        pages=(result["total"] + 49) // 50,
    )


@pages.get("/<int:order_id>")
def detail(order_id: int) -> Any:
    user = viewer()
    order = get_scoped(WorkOrder, order_id)
    return render_template("workorders/detail.html", o=_detail(user, order), back=None, **panel_context())


def panel_context() -> dict[str, Any]:
    """What templates/workorders/_panel.html needs besides the order (also the finding page)."""
    return {
        "wo_statuses": {s.value: label for s, label in WORK_ORDER_STATUS_LABELS.items()},
        "wo_action_labels": ACTION_LABELS,
        "wo_max_files": int(service.setting("WORKORDER_MAX_FILES", 10)),
        "wo_max_mb": media.max_bytes() // (1024 * 1024),
        "person": evidence_text.person,
    }


def _back(order_id: int) -> Any:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("workorders.detail", order_id=order_id))


@pages.post("/<int:order_id>/feedback")
def feedback_page(order_id: int) -> Any:
    user = viewer()
    order = get_scoped(WorkOrder, order_id)
    try:
        links = [line for line in (request.form.get("links") or "").splitlines() if line.strip()]
        service.feedback(order, user, request.form.get("text"), links=links, files=_uploads())
        db.session.commit()
        done = "已提交整改反馈" + (
            "，系统将自动复查" if order.status is WorkOrderStatus.rechecking else "，等待网信办审核"
        )
        flash(done, "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return _back(order_id)


@pages.post("/<int:order_id>/act")
def act_page(order_id: int) -> Any:
    user = viewer()
    order = get_scoped(WorkOrder, order_id)
    action = request.form.get("action", "")
    try:
        _decide(order, action, user, request.form.get("reason"))
        db.session.commit()
        flash(f"已{ACTION_LABELS.get(action, action)}", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return _back(order_id)


@pages.get("/<int:order_id>/files/<string:sha256>")
def file_page(order_id: int, sha256: str) -> Any:
    return _serve_file(order_id, sha256)
