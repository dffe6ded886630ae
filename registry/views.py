"""Registry API (/api/v1) and pages (/registry).

Both call the same services (registry.service, registry.importexport), which check role and
unit scope; views commit. Pages catch ApiError on writes and flash its message.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from apiflask import APIBlueprint
from apiflask.schemas import FileSchema
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, send_file, url_for
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from auth.models import Role, User
from auth.scoping import current_user, get_scoped, require_roles, scope_filter
from common import workdays
from common.errors import ApiError, Forbidden
from common.fields import iso_utc
from common.pagination import PageQuery, paginate
from extensions import db
from jobs import runner
from jobs.views import accepted
from platforms.types import PLATFORM_LABELS
from registry import deadlines, hooks, importexport, service, unit_changes, units
from registry import jobs as registry_jobs
from registry import ledger as reads
from registry.models import STATUS_LABELS, Account, AccountEvent, AccountStatus, Platform, Unit
from registry.schemas import (
    AccountDetailOut,
    AccountIn,
    AccountOut,
    AccountPage,
    AccountQuery,
    ActionIn,
    ActionOut,
    ChangeIn,
    EventPage,
    ExportJobIn,
    ExportQuery,
    ImportIn,
    ImportReportOut,
    UnitIn,
    UnitOut,
    UnitPage,
    UnitPatchIn,
    UnitUpdateOut,
)

ACCOUNT_OUT_FIELDS = tuple(AccountOut().fields)

api = APIBlueprint("registry_api", __name__, url_prefix="/api/v1", tag="台账")
pages = Blueprint("registry", __name__, url_prefix="/registry")

# ----------------------------------------------------------------------------- units API


@api.get("/units")
@api.input(PageQuery, location="query", arg_name="q")
@api.output(UnitPage)
@api.doc(summary="单位列表（按权限范围）", security="BearerAuth")
def list_units(q: dict[str, Any]) -> Any:
    user = current_user()
    stmt = sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.id)
    return paginate(stmt, q["page"], q["per_page"], units.unit_dict)


@api.get("/units/<int:unit_id>")
@api.output(UnitOut)
@api.doc(summary="单位详情", security="BearerAuth")
def get_unit(unit_id: int) -> Any:
    return units.unit_dict(get_scoped(Unit, unit_id, unit_attr="id"))


@api.post("/units")
@api.input(UnitIn, arg_name="data")
@api.output(UnitOut, status_code=201)
@api.doc(summary="新建单位（管理员）", security="BearerAuth")
@require_roles(Role.admin)
def create_unit(data: dict[str, Any]) -> Any:
    unit = units.create_unit(data, actor=current_user())
    db.session.commit()
    return units.unit_dict(unit), 201


@api.patch("/units/<int:unit_id>")
@api.input(UnitPatchIn, arg_name="data")
@api.output(UnitUpdateOut)
@api.doc(
    summary="修改单位（管理员）",
    description="只修改提交的字段。单位更名后，其在用账号各生成一条“主办单位更名”事件和“认证主体与主办单位不符”线索，"
    "响应中的 rename_proposals 列出建议的账号名称与认证主体，由运营人员通过 request_change 提交变更。",
    security="BearerAuth",
)
@require_roles(Role.admin)
def update_unit(unit_id: int, data: dict[str, Any]) -> Any:
    unit = get_scoped(Unit, unit_id, unit_attr="id")
    proposals = unit_changes.update_unit(unit, data, current_user())
    db.session.commit()
    return {**units.unit_dict(unit), "rename_proposals": proposals}


# ----------------------------------------------------------------------------- accounts API


def _page_of_accounts(user: User, flt: reads.LedgerFilter, page: int, per_page: int) -> dict[str, Any]:
    result = reads.ledger_page(user, flt, page, per_page)
    result["items"] = reads.account_dicts(result["items"], user)  # one query for the four-eyes applicants
    return result


def _plain(value: Any) -> Any:
    """What AccountOut would dump: ISO dates, datetimes in UTC with Z (common.fields), the rest as is."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@api.get("/accounts")
@api.input(AccountQuery, location="query", arg_name="q")
@api.output(AccountPage)
@api.doc(summary="台账：账号列表（筛选、搜索、分页，按权限范围）", security="BearerAuth")
def list_accounts(q: dict[str, Any]) -> Any:
    result = _page_of_accounts(current_user(), reads.LedgerFilter.from_mapping(q), q["page"], q["per_page"])
    # Serialised here rather than through AccountPage: dumping 50 items × 40 fields with
    # marshmallow costs ~10 ms per request (bench/registry.py); the shape is the same
    # (tests/registry/test_accounts_api.py compares the two).
    result["items"] = [{k: _plain(item[k]) for k in ACCOUNT_OUT_FIELDS} for item in result["items"]]
    return current_app.response_class(json.dumps(result, ensure_ascii=False), mimetype="application/json")


@api.post("/accounts")
@api.input(AccountIn, arg_name="data")
@api.output(AccountOut, status_code=201)
@api.doc(
    summary="申请开设账号（状态为“申请中”）",
    description="运营人员只能为本单位及下级单位申请。本单位在该平台已有在用账号时须填写 duplicate_reason，"
    "并生成“重复开设”线索；否则 409。",
    security="BearerAuth",
)
def open_account(data: dict[str, Any]) -> Any:
    user = current_user()
    account = service.create_account(data, user)
    db.session.commit()
    return reads.account_dict(account, user), 201


@api.get("/accounts/<int:account_id>")
@api.output(AccountDetailOut)
@api.doc(summary="账号详情（含未处理线索）", security="BearerAuth")
def get_account(account_id: int) -> Any:
    user = current_user()
    account = reads.get_account(user, account_id)
    return {**reads.account_dict(account, user), "findings": _open_findings(account)}


def _open_findings(account: Account) -> list[dict[str, Any]]:
    """The account's open findings, from whoever raises them (oversight, through registry.hooks)."""
    return hooks.collect(hooks.account_findings, account=account)


@api.get("/accounts/<int:account_id>/events")
@api.input(PageQuery, location="query", arg_name="q")
@api.output(EventPage)
@api.doc(summary="账号历史：每次开设、变更、关停、暂停的字段变化（原值→新值）", security="BearerAuth")
def list_events(account_id: int, q: dict[str, Any]) -> Any:
    account = reads.get_account(current_user(), account_id)
    stmt = sa.select(AccountEvent).where(AccountEvent.account_id == account.id).order_by(AccountEvent.id)
    result = paginate(stmt, q["page"], q["per_page"])
    result["items"] = reads.event_dicts(result["items"])
    return result


@api.post("/accounts/<int:account_id>/actions/<action>")
@api.input(ActionIn, arg_name="data")
@api.output(ActionOut)
@api.doc(
    summary="生命周期操作",
    description="action ∈ approve, request_change, approve_change, request_close, confirm_closed, suspend, "
    "reactivate, reject。越权单位 404，角色不符 403，状态不允许 409，数据不全 422；拒绝时状态不变、不写事件。"
    "详见 docs/registry.md。",
    security="BearerAuth",
)
def account_action(account_id: int, action: str, data: dict[str, Any]) -> Any:
    user = current_user()
    account = reads.get_account(user, account_id)
    event = service.advance(account, action, user, **data)
    db.session.commit()
    return {"account": reads.account_dict(account, user), "event": reads.event_dicts([event])[0]}


# ----------------------------------------------------------------------------- import / export API


@api.post("/registry/imports")
@api.input(ImportIn, location="files", arg_name="data")
@api.output(ImportReportOut)
@api.doc(
    summary="导入台账（CSV / XLSX，全部通过才写入）",
    description="任何一行有错误则不写入任何数据，返回 422，error.details.errors 列出 {row, column, reason}。"
    "按 平台+平台账号ID 匹配：已有的更新变化字段（写变更事件），没有的新建；重复导入同一文件不产生重复。"
    "运营人员只能导入本单位账号，新账号为“申请中”，对在用账号的修改生成变更申请。",
    responses={422: "文件有错误（逐行列出），未写入"},
    security="BearerAuth",
)
def import_accounts(data: dict[str, Any]) -> Any:
    upload = data["file"]
    if data["run_async"]:
        user = current_user()
        _require_applicant(user)
        params = {"filename": upload.filename or "", "dry_run": data["dry_run"]}
        return accepted(runner.start(registry_jobs.LEDGER_IMPORT, user, params, upload=upload.read()))
    report = importexport.import_ledger(
        upload.read(), current_user(), source=upload.filename or "", dry_run=data["dry_run"]
    )
    if not report.dry_run:
        db.session.commit()
    return report.as_dict()


@api.get("/registry/template.xlsx")
@api.output(FileSchema(type="string", format="binary"), content_type=importexport.XLSX_MIME)
@api.doc(summary="下载台账导入模板（XLSX，含下拉选项和填写说明）", security="BearerAuth")
def import_template() -> Any:
    return send_file(
        io.BytesIO(importexport.template_workbook()),
        mimetype=importexport.XLSX_MIME,
        as_attachment=True,
        download_name="政务新媒体台账导入模板.xlsx",
    )


def _export(q: dict[str, Any], fmt: str) -> Response:
    out = io.BytesIO()  # ~8 MB (XLSX) / ~25 MB (CSV) per 100,000 accounts
    importexport.export_ledger(current_user(), reads.LedgerFilter.from_mapping(q), out, fmt)
    out.seek(0)
    mime = importexport.XLSX_MIME if fmt == "xlsx" else importexport.CSV_MIME
    return send_file(
        out, mimetype=mime, as_attachment=True, download_name=f"政务新媒体台账-{service.today():%Y%m%d}.{fmt}"
    )


@api.post("/reports/accounts/exports")
@api.input(ExportJobIn, arg_name="data")
@api.doc(
    summary="后台导出台账（XLSX 或 CSV），立即返回 202 和任务",
    description="筛选条件同账号列表。GET /api/v1/jobs/{id} 查看进度；完成后 GET /api/v1/jobs/{id}/file 下载文件。",
    responses={202: "已排队：返回任务（id、status、progress …），Location 头指向任务"},
    security="BearerAuth",
)
def export_job(data: dict[str, Any]) -> Any:
    return accepted(_start_export(current_user(), data))


def _start_export(user: User, data: dict[str, Any]) -> Any:
    filters = {k: v for k, v in data.items() if k != "format" and v is not None}
    return runner.start(registry_jobs.LEDGER_EXPORT, user, {"format": data["format"], "filters": filters})


@api.get("/reports/accounts.xlsx")
@api.input(ExportQuery, location="query", arg_name="q")
@api.output(FileSchema(type="string", format="binary"), content_type=importexport.XLSX_MIME)
@api.doc(summary="导出台账（XLSX，筛选条件同账号列表，可直接再导入）", security="BearerAuth")
def export_xlsx(q: dict[str, Any]) -> Any:
    return _export(q, "xlsx")


@api.get("/reports/accounts.csv")
@api.input(ExportQuery, location="query", arg_name="q")
@api.output(FileSchema(type="string", format="binary"), content_type="text/csv")
@api.doc(summary="导出台账（CSV，UTF-8 带 BOM）", security="BearerAuth")
def export_csv(q: dict[str, Any]) -> Any:
    return _export(q, "csv")


# ----------------------------------------------------------------------------- pages: helpers

STATUS_TONE = {
    AccountStatus.active: "ok",
    AccountStatus.applying: "warn",
    AccountStatus.changing: "warn",
    AccountStatus.closing: "warn",
    AccountStatus.suspended: "muted",
    AccountStatus.closed_on_platform: "muted",
    AccountStatus.closed: "muted",
    AccountStatus.rejected: "muted",
}


# The title (tooltip) of a date marked 按周一至周五估算 (registry/_macros.html estimated).
ESTIMATE_HELP = (
    "chinesecalendar 包和本单位的节假日文件都还没有该年份的节假日安排，此日期按周一至周五计算，"
    "未扣除法定节假日、未计调休上班日，可能与实际不符。请管理员将该年国务院节假日安排（放假日和调休上班日）"
    "录入节假日文件（EXTRA_HOLIDAYS_FILE）后重启服务。"
)


@pages.context_processor
def _labels() -> dict[str, Any]:
    return {
        "PLATFORM_LABELS": PLATFORM_LABELS,
        "STATUS_LABELS": {s.value: label for s, label in STATUS_LABELS.items()},
        "STATUS_TONE": {s.value: tone for s, tone in STATUS_TONE.items()},
        "FIELD_LABELS": {**service.FIELD_LABELS, "pending_change": "待审批变更", "unit_name": "主办单位"},
        "ACTION_LABELS": {str(k): v for k, v in service.ACTION_LABELS.items()},
        "ESTIMATE_NOTE": workdays.ESTIMATE_NOTE,
        "ESTIMATE_HELP": ESTIMATE_HELP,
    }


def _load_form(schema: Schema, form: MultiDict[str, str], names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(typed data, {field: [message]}) from a posted form; blank fields are left out."""
    raw = {name: form.get(name, "").strip() for name in names}
    try:
        data = schema.load({k: v for k, v in raw.items() if v != ""})
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        return {}, {k: messages[k] for k in sorted(messages, key=lambda k: names.index(k) if k in names else 99)}
    return data, {}


def _safe_next(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return default


def _visible_units(user: User) -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)))


def _require_applicant(user: User) -> None:
    if not user.has_role(*service.APPLICANTS):
        raise Forbidden("只有运营人员、网信办或管理员可以办理账号申请")


def _query_args(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "") and k not in ("page", "per_page")}


# ----------------------------------------------------------------------------- pages


@pages.get("")
def ledger() -> Any:
    user = current_user()
    try:
        q = AccountQuery().load({k: v for k, v in request.args.items() if v != ""})
    except ValidationError as exc:
        problems = exc.messages.items() if isinstance(exc.messages, dict) else []
        flash("筛选条件有误：" + "；".join(f"{service.FIELD_LABELS.get(k, k)}：{v[0]}" for k, v in problems), "error")
        q = AccountQuery().load({})
    flt = reads.LedgerFilter.from_mapping(q)
    result = _page_of_accounts(user, flt, q["page"], q["per_page"])
    mismatches = hooks.collect(hooks.subject_mismatches, user=user, limit=20)
    args = _query_args(q)
    return render_template(
        "registry/ledger.html",
        result=result,
        q=q,
        args=args,
        units=_visible_units(user),
        platforms=list(Platform),
        statuses=list(AccountStatus),
        mismatches=mismatches,
        can_apply=user.has_role(*service.APPLICANTS),
        last_page=max(1, -(-result["total"] // q["per_page"])),
    )


@pages.get("/accounts/<int:account_id>")
def account_page(account_id: int) -> Any:
    user = current_user()
    account = reads.get_account(user, account_id)
    events = db.session.scalars(
        sa.select(AccountEvent).where(AccountEvent.account_id == account.id).order_by(AccountEvent.id)
    ).all()
    unit_ids = {v for e in events for v in (e.changes or {}).get("unit_id", []) if v is not None}
    return render_template(
        "registry/account.html",
        account=account,
        data=reads.account_dict(account, user),
        events=reads.event_dicts(events),
        unit_names=reads.unit_names_for_ids(unit_ids | {account.unit_id}),
        findings=_open_findings(account),
        today=service.today(),
    )


ACCOUNT_FORM_FIELDS = [
    "platform",
    "platform_uid",
    "name",
    "unit_id",
    "supervisor_unit",
    "operator_org",
    "operator_contract_end",
    "person_in_charge",
    "admin_name",
    "contact_phone",
    "contact_email",
    "verified_subject",
    "verified",
    "profile_url",
    "purpose",
    "opened_on",
    "duplicate_reason",
    "reason",
]


@pages.route("/apply", methods=["GET", "POST"])
def apply_page() -> Any:
    user = current_user()
    _require_applicant(user)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = dict(request.form) if request.method == "POST" else {"unit_id": str(user.unit_id)}
    if request.method == "POST":
        data, errors = _load_form(AccountIn(), request.form, ACCOUNT_FORM_FIELDS)
        if not errors:
            try:
                account = service.create_account(data, user)
                db.session.commit()
            except ApiError as exc:
                db.session.rollback()
                errors = exc.detail if isinstance(exc.detail, dict) else {}
                flash(exc.message, "error")
            else:
                flash("已提交开设申请，等待网信办审批", "success")
                return redirect(url_for("registry.account_page", account_id=account.id))
    return render_template(
        "registry/apply.html",
        values=values,
        errors=errors,
        unit_options=[(u.id, u.name) for u in _visible_units(user)],
        platform_options=list(PLATFORM_LABELS.items()),
    ), (422 if request.method == "POST" else 200)


@pages.route("/accounts/<int:account_id>/change", methods=["GET", "POST"])
def change_page(account_id: int) -> Any:
    user = current_user()
    account = reads.get_account(user, account_id)
    service.ensure_can(account, service.AccountAction.request_change, user)
    names = list(service.CHANGEABLE_FIELDS)
    if request.method == "GET":
        values = {n: _form_value(getattr(account, n)) for n in names}
        values.update({k: v for k, v in request.args.items() if k in names})  # a rename proposal pre-fills
        return render_template("registry/change.html", account=account, values=values, errors={})
    posted = [n for n in names if n in request.form]  # fields left out of the form stay as they are
    data, errors = _load_form(ChangeIn(), request.form, posted)
    if not errors and "name" in posted and not request.form["name"].strip():
        errors = {"name": ["此项为必填"]}
    if not errors:
        changes = {n: data.get(n) for n in posted}
        try:
            service.advance(
                account, service.AccountAction.request_change, user, changes=changes, reason=request.form.get("reason")
            )
            db.session.commit()
        except ApiError as exc:
            db.session.rollback()
            errors = exc.detail if isinstance(exc.detail, dict) else {}
            flash(exc.message, "error")
        else:
            flash("已提交变更申请，等待网信办审批", "success")
            return redirect(url_for("registry.account_page", account_id=account.id))
    return render_template("registry/change.html", account=account, values=dict(request.form), errors=errors), 422


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


CLOSE_FIELDS = ["reason", "closure_notice_on", "closure_notice_url", "closure_requested_on"]


@pages.route("/accounts/<int:account_id>/close", methods=["GET", "POST"])
def close_page(account_id: int) -> Any:
    user = current_user()
    account = reads.get_account(user, account_id)
    service.ensure_can(account, service.AccountAction.request_close, user)
    notice_days = deadlines.notice_workdays()
    if request.method == "GET":
        values = {"closure_notice_on": service.today().isoformat()}
        return render_template(
            "registry/close.html", account=account, values=values, errors={}, notice_days=notice_days
        )
    data, errors = _load_form(ActionIn(), request.form, CLOSE_FIELDS)
    for name, message in (("reason", "申请关停须填写关停原因"), ("closure_notice_url", "须填写停更公告链接")):
        if not request.form.get(name, "").strip():
            errors.setdefault(name, [message])
    if not errors:
        try:
            service.advance(account, service.AccountAction.request_close, user, **data)
            db.session.commit()
        except ApiError as exc:
            db.session.rollback()
            errors = exc.detail if isinstance(exc.detail, dict) else {}
            flash(exc.message, "error")
        else:
            notice_on, closable = account.closure_notice_on, service.closable_on(account)
            exact = notice_on is None or closable is None or workdays.span_is_exact(notice_on, closable)
            note = "" if exact else f"（{workdays.ESTIMATE_NOTE}）"
            flash(f"已进入停更公告期，{closable}{note} 起可确认关停", "success")
            return redirect(url_for("registry.account_page", account_id=account.id))
    return render_template(
        "registry/close.html", account=account, values=dict(request.form), errors=errors, notice_days=notice_days
    ), 422


ACTION_FORM_FIELDS = ["reason", "filing_number", "filing_date", "opened_on", "closed_on", "closure_requested_on"]


@pages.post("/accounts/<int:account_id>/actions/<action>")
def action_page(account_id: int, action: str) -> Any:
    user = current_user()
    account = reads.get_account(user, account_id)
    back = _safe_next(url_for("registry.account_page", account_id=account.id))
    data, errors = _load_form(ActionIn(), request.form, ACTION_FORM_FIELDS)
    if errors:
        flash("填写有误：" + "；".join(f"{service.FIELD_LABELS.get(k, k)}：{v[0]}" for k, v in errors.items()), "error")
        return redirect(back)
    try:
        service.advance(account, action, user, **data)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        label = service.ACTION_LABELS.get(service.parse_action(action), action)
        flash(f"{account.name}：已{label}，当前状态为“{STATUS_LABELS[account.status]}”", "success")
    return redirect(back)


INBOX_SECTIONS = (
    (AccountStatus.applying, "开设申请", "approve"),
    (AccountStatus.changing, "变更申请", "approve_change"),
    (AccountStatus.closing, "关停申请（停更公告期）", "confirm_closed"),
    (AccountStatus.closed_on_platform, "待关停备案", "confirm_closed"),
)


@pages.get("/inbox")
def inbox() -> Any:
    user = current_user()
    if not user.has_role(*service.APPROVERS):
        raise Forbidden("只有网信办或管理员可以审批")
    sections = []
    for status, title, approve_action in INBOX_SECTIONS:
        stmt = sa.select(Account).where(Account.status == status, scope_filter(user, Account.unit_id))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
        accounts = db.session.scalars(stmt.order_by(Account.filing_due_on, Account.id).limit(100)).all()
        names = reads.unit_names_for(accounts)
        sections.append(
            {
                "status": status.value,
                "title": title,
                "approve_action": approve_action,
                "total": total,
                "items": reads.account_dicts(accounts, user, names),
            }
        )
    return render_template("registry/inbox.html", sections=sections, today=service.today())


MATRIX_PER_PAGE = 100
MATRIX_TONES = ("bad", "warn", "ok", "muted")


@pages.get("/matrix")
def matrix() -> Any:
    user = current_user()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    name = (request.args.get("q") or "").strip()
    unit_stmt = sa.select(Unit).where(scope_filter(user, Unit.id))
    if name:
        unit_stmt = unit_stmt.where(Unit.name.contains(name, autoescape=True))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(unit_stmt.subquery())) or 0
    unit_rows = db.session.scalars(
        unit_stmt.order_by(Unit.name).limit(MATRIX_PER_PAGE).offset((page - 1) * MATRIX_PER_PAGE)
    ).all()
    cells = _matrix_cells([u.id for u in unit_rows])
    used = {p for (_u, p) in cells}
    platforms = [
        p for p in Platform if p in used or p in (Platform.weibo, Platform.wechat, Platform.douyin, Platform.toutiao)
    ]
    return render_template(
        "registry/matrix.html",
        units=unit_rows,
        platforms=platforms,
        cells=cells,
        page=page,
        last_page=max(1, -(-total // MATRIX_PER_PAGE)),
        total=total,
        q=name,
    )


def _matrix_cells(unit_ids: list[int]) -> dict[tuple[int, Platform], dict[str, Any]]:
    """Per (unit, platform): counts by status, and a tone — red duplicate, amber pending, green, grey."""
    cells: dict[tuple[int, Platform], dict[str, Any]] = {}
    if not unit_ids:
        return cells
    rows = db.session.execute(
        sa.select(Account.unit_id, Account.platform, Account.status, sa.func.count())
        .where(Account.unit_id.in_(unit_ids), Account.status != AccountStatus.rejected)
        .group_by(Account.unit_id, Account.platform, Account.status)
    )
    for unit_id, platform, status, n in rows:
        cell = cells.setdefault((unit_id, Platform(platform)), {"counts": {}, "live": 0, "total": 0})
        cell["counts"][AccountStatus(status).value] = n
        cell["total"] += n
        if status in service.LIVE_STATUSES:
            cell["live"] += n
    for cell in cells.values():
        counts = cell["counts"]
        if cell["live"] > 1:
            cell["tone"], cell["label"] = "bad", "重复开设"
        elif any(counts.get(s) for s in ("applying", "changing", "closing")):
            cell["tone"], cell["label"] = "warn", "审批/变更/关停中"
        elif counts.get("active"):
            cell["tone"], cell["label"] = "ok", "运行中"
        else:
            cell["tone"], cell["label"] = "muted", "暂停/已关停"
    return cells


@pages.route("/import", methods=["GET", "POST"])
def import_page() -> Any:
    user = current_user()
    _require_applicant(user)
    if request.method == "GET":
        return render_template("registry/import.html")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 CSV 或 XLSX 文件", "error")
        return render_template("registry/import.html"), 422
    params = {"filename": upload.filename, "dry_run": request.form.get("dry_run") == "1"}
    job = runner.start(registry_jobs.LEDGER_IMPORT, user, params, upload=upload.read())
    return redirect(url_for("jobs.detail", job_id=job.id))


@pages.post("/export")
def export_page() -> Any:
    user = current_user()
    try:
        data = ExportJobIn().load({k: v for k, v in request.form.items() if k != "csrf_token" and v != ""})
    except ValidationError as exc:
        flash("导出条件无效：" + "；".join(f"{k}：{'、'.join(v)}" for k, v in exc.messages.items()), "error")
        return redirect(url_for("registry.ledger"))
    job = _start_export(user, data)
    return redirect(url_for("jobs.detail", job_id=job.id))
