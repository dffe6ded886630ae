"""Findings workbench, discovery and reports: /api/v1 and the pages.

Blueprints: ``findings_api`` (JSON, /api/v1), ``findings`` (pages, /findings — the workbench)
and ``reports`` (pages, /reports). Auditors (网信办) and admins see and work every finding;
operators see their own unit's findings read-only; other roles get 403. Objects outside the
caller's scope answer 404.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, DateTime, Dict, File, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for

from auth.models import Role, User
from auth.scoping import current_user, get_scoped, scope_filter, visible_unit_ids
from common import jobs
from common.errors import ApiError, Forbidden
from common.pagination import MAX_PER_PAGE, PageOut, paginate
from extensions import db
from registry import discovery, reports
from registry import findings as service
from registry import jobs as registry_jobs
from registry.models import (
    FINDING_LABELS,
    PLATFORM_LABELS,
    Account,
    DiscoveredAccount,
    Finding,
    FindingKind,
    FindingStatus,
    Platform,
    Unit,
)

api = APIBlueprint("findings_api", __name__, url_prefix="/api/v1", tag="问题线索与报表")
pages = Blueprint("findings", __name__, url_prefix="/findings")
reports_pages = Blueprint("reports", __name__, url_prefix="/reports")

VIEW_ROLES = (Role.operator, Role.auditor, Role.admin)
WORK_ROLES = (Role.auditor, Role.admin)
MAX_EXPORT_ROWS = 50_000


def _require(roles: tuple[Role, ...], message: str) -> User:
    user = current_user()
    if not user.has_role(*roles):
        raise Forbidden(message, details={"required_roles": [r.value for r in roles]})
    return user


def _viewer() -> User:
    return _require(VIEW_ROLES, "您的角色无权查看问题线索")


def _worker() -> User:
    return _require(WORK_ROLES, "只有网信办（审计）或管理员可以处理问题线索")


# ----------------------------------------------------------------------------- schemas


class FindingQuery(Schema):
    kind = String(load_default=None, validate=OneOf([k.value for k in FindingKind]))
    status = String(load_default=None, validate=OneOf([s.value for s in FindingStatus]))
    unit_id = Integer(load_default=None)
    account_id = Integer(load_default=None)
    platform = String(load_default=None, validate=OneOf([p.value for p in Platform]))
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class FindingOut(Schema):
    id = Integer()
    kind = String()
    kind_label = String()
    status = String()
    status_label = String()
    confidence = Float()
    message = String(allow_none=True)
    unit_id = Integer(allow_none=True)
    unit_name = String(allow_none=True)
    account_id = Integer(allow_none=True)
    account_name = String(allow_none=True)
    discovered_id = Integer(allow_none=True)
    platform = String(allow_none=True)
    platform_label = String(allow_none=True)
    uid = String(allow_none=True)
    due_on = Date(allow_none=True)
    overdue = Boolean()
    reason = String(allow_none=True)
    decided_by = String(allow_none=True)
    first_seen_at = DateTime()
    last_seen_at = DateTime()


class FindingPage(PageOut):
    items = List(Nested(FindingOut))


class FindingDetail(FindingOut):
    evidence = Dict()
    decision = Dict(allow_none=True)
    history = List(Dict())
    comparison = Dict(metadata={"description": "台账与平台信息并列对照：registry、platform、rows"})
    actions = List(String(), metadata={"description": "当前用户在当前状态下可执行的操作"})


class ActionIn(Schema):
    reason = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=2000),
        metadata={"description": "原因；排除（dismiss）和解决（resolve）时必填"},
    )


ASYNC_HELP = "true：交给后台任务执行，立即返回 202 和任务（GET /api/v1/jobs/{id} 查看进度和结果）"


class RunIn(Schema):
    platforms = List(
        String(validate=OneOf([p.value for p in Platform])),
        load_default=None,
        metadata={"description": "只检索这些平台；缺省为全部已配置平台"},
    )
    keywords = List(String(validate=Length(min=2, max=100)), load_default=list, validate=Length(max=200))
    run_async = Boolean(
        load_default=False,
        data_key="async",
        metadata={"description": ASYNC_HELP},
    )


class ImportIn(Schema):
    file = File(required=True, metadata={"description": "CSV 或 XLSX（表头：平台、账号ID、账号名称、认证主体…）"})
    source = String(load_default=None, validate=Length(max=200), metadata={"description": "名单来源（第三方机构名称）"})
    run_async = Boolean(
        load_default=False,
        data_key="async",
        metadata={"description": ASYNC_HELP},
    )


class RunOut(Schema):
    source = String()
    source_ref = String(allow_none=True)
    started_at = String()
    finished_at = String()
    accounts_seen = Integer()
    snapshots_new = Integer()
    had_history = Boolean()
    findings = Dict()
    findings_by_kind = Dict()
    created_ids = List(Integer())
    reopened_ids = List(Integer())
    resolved_ids = List(Integer())
    platforms = Dict()
    errors = List(Dict())
    rows = Integer()
    queued = Boolean()


class PeriodQuery(Schema):
    date_from = Date(load_default=None, data_key="from", metadata={"description": "开始日期（含），缺省为30天前"})
    date_to = Date(load_default=None, data_key="to", metadata={"description": "结束日期（含），缺省为今天"})


class QuarterQuery(Schema):
    quarter = String(required=True, metadata={"description": "例如 2026Q4"})


class YearQuery(Schema):
    year = Integer(required=True, validate=Range(min=2000, max=2100))


class ComplianceOut(Schema):
    period = Dict()
    generated_at = String()
    thresholds = Dict()
    rows = List(Dict())
    units = List(Dict())
    totals = Dict()


# ----------------------------------------------------------------------------- queries


def _findings_stmt(user: User, q: dict[str, Any]) -> sa.Select[Any]:
    stmt = sa.select(Finding).where(scope_filter(user, Finding.unit_id))
    if q.get("kind"):
        stmt = stmt.where(Finding.kind == FindingKind(q["kind"]))
    if q.get("status"):
        stmt = stmt.where(Finding.status == FindingStatus(q["status"]))
    if q.get("unit_id") is not None:
        stmt = stmt.where(Finding.unit_id == q["unit_id"])
    if q.get("account_id") is not None:
        stmt = stmt.where(Finding.account_id == q["account_id"])
    if q.get("platform"):
        platform = Platform(q["platform"])
        stmt = stmt.where(
            sa.or_(
                Finding.account_id.in_(sa.select(Account.id).where(Account.platform == platform)),
                Finding.discovered_id.in_(
                    sa.select(DiscoveredAccount.id).where(DiscoveredAccount.platform == platform)
                ),
            )
        )
    status_order = sa.case(
        {FindingStatus.open: 0, FindingStatus.confirmed: 1, FindingStatus.resolved: 2, FindingStatus.dismissed: 3},
        value=Finding.status,
        else_=4,
    )
    return stmt.order_by(status_order, Finding.last_seen_at.desc(), Finding.id.desc())


def _actions_for(user: User, f: Finding) -> list[str]:
    if not user.has_role(*WORK_ROLES):
        return []
    allowed = {
        FindingStatus.open: ["confirm", "dismiss", "resolve"],
        FindingStatus.confirmed: ["dismiss", "resolve"],
    }
    return allowed.get(f.status, [])


def _detail(user: User, f: Finding) -> dict[str, Any]:
    out = service.finding_dict(f, with_evidence=True)
    out["comparison"] = service.side_by_side(f)
    out["actions"] = _actions_for(user, f)
    return out


def _xlsx_response(data: bytes, filename: str) -> Any:
    return send_file(io.BytesIO(data), mimetype=reports.XLSX_MIME, as_attachment=True, download_name=filename)


def _export(user: User, q: dict[str, Any]) -> bytes:
    rows = db.session.scalars(_findings_stmt(user, q).limit(MAX_EXPORT_ROWS)).all()
    return reports.findings_xlsx([(f, service.finding_platform(f)) for f in rows])


# ----------------------------------------------------------------------------- API: findings


@api.get("/findings")
@api.input(FindingQuery, location="query", arg_name="q")
@api.output(FindingPage)
@api.doc(summary="问题线索列表（按类型、状态、单位、平台筛选）", security="BearerAuth")
def list_findings(q: dict[str, Any]) -> Any:
    user = _viewer()
    return paginate(_findings_stmt(user, q), q["page"], q["per_page"], service.finding_dict)


@api.get("/findings.xlsx")
@api.input(FindingQuery, location="query", arg_name="q")
@api.doc(summary="导出问题线索（XLSX）", security="BearerAuth", responses={200: "XLSX 文件"})
def export_findings(q: dict[str, Any]) -> Any:
    user = _viewer()
    return _xlsx_response(_export(user, q), f"问题线索_{service.today_cn().isoformat()}.xlsx")


@api.get("/findings/<int:finding_id>")
@api.output(FindingDetail)
@api.doc(summary="问题线索详情：证据、台账与平台信息对照、处理记录", security="BearerAuth")
def get_finding(finding_id: int) -> Any:
    user = _viewer()
    return _detail(user, get_scoped(Finding, finding_id))


@api.post("/findings/<int:finding_id>/actions/<string:action>")
@api.input(ActionIn, arg_name="data")
@api.output(FindingDetail)
@api.doc(
    summary="处理问题线索：confirm（确认并下发整改期限）、dismiss（排除，须填原因）、resolve（已解决，须填原因）",
    security="BearerAuth",
)
def finding_action(finding_id: int, action: str, data: dict[str, Any]) -> Any:
    _viewer()
    finding = get_scoped(Finding, finding_id)
    user = _worker()
    if action not in service.ACTIONS:
        raise ApiError(status=404, code="not_found", message=f"未知操作：{action}")
    service.act(finding, action, user, data.get("reason"))
    db.session.commit()
    return _detail(user, finding)


# ----------------------------------------------------------------------------- API: discovery


@api.post("/discovery/runs")
@api.input(RunIn, arg_name="data")
@api.output(RunOut, status_code=201)
@api.doc(summary="按单位名称和认证主体在各平台检索账号，并与台账比对", security="BearerAuth")
def discovery_run(data: dict[str, Any]) -> Any:
    user = _worker()
    if data.get("run_async"):
        job = jobs.start(
            registry_jobs.DISCOVERY_RUN,
            user,
            {"platforms": data.get("platforms"), "keywords": data.get("keywords") or []},
        )
        return jobs.accepted(job)
    summary = discovery.run_search(data.get("platforms"), data.get("keywords") or [], actor=user)
    db.session.commit()
    return summary, 201


@api.post("/discovery/imports")
@api.input(ImportIn, location="form_and_files", arg_name="data")
@api.output(RunOut, status_code=201)
@api.doc(
    summary="导入第三方监测名单（CSV/XLSX），全部校验通过才写入；有错误时返回 422 和逐行错误",
    security="BearerAuth",
)
def discovery_import(data: dict[str, Any]) -> Any:
    user = _worker()
    upload = data["file"]
    content = upload.read()
    if data.get("run_async"):
        params = {"filename": upload.filename or "", "source": data.get("source")}
        return jobs.accepted(jobs.start(registry_jobs.DISCOVERY_IMPORT, user, params, upload=content))
    summary = discovery.import_list(content, upload.filename or "", actor=user, source_ref=data.get("source"))
    db.session.commit()
    return summary, 201


# ----------------------------------------------------------------------------- API: reports


def _reporter() -> User:
    return _require(VIEW_ROLES, "您的角色无权查看报表")


@api.get("/reports/compliance")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.output(ComplianceOut)
@api.doc(summary="合规情况：按单位和平台统计账号、更新、问题线索和三审合规率", security="BearerAuth")
def compliance_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    return reports.compliance(reports.period(q["date_from"], q["date_to"]), visible_unit_ids(user))


@api.get("/reports/compliance.xlsx")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.doc(summary="合规情况（XLSX）", security="BearerAuth", responses={200: "XLSX 文件"})
def compliance_report_xlsx(q: dict[str, Any]) -> Any:
    user = _reporter()
    p = reports.period(q["date_from"], q["date_to"])
    data = reports.compliance_xlsx(reports.compliance(p, visible_unit_ids(user)))
    return _xlsx_response(data, f"合规情况_{p.start.isoformat()}_{p.end.isoformat()}.xlsx")


@api.get("/reports/bulletin.xlsx")
@api.input(QuarterQuery, location="query", arg_name="q")
@api.doc(summary="季度检查情况通报（XLSX）", security="BearerAuth", responses={200: "XLSX 文件"})
def bulletin_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    p = reports.quarter(q["quarter"])
    return _xlsx_response(reports.bulletin_xlsx(p, visible_unit_ids(user)), f"季度通报_{q['quarter'].upper()}.xlsx")


@api.get("/reports/annual.xlsx")
@api.input(YearQuery, location="query", arg_name="q")
@api.doc(
    summary="年度报表·政务新媒体部分（XLSX，次年1月31日前公开）", security="BearerAuth", responses={200: "XLSX 文件"}
)
def annual_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    p = reports.year(q["year"])
    return _xlsx_response(reports.annual_xlsx(p, visible_unit_ids(user)), f"年度报表_政务新媒体_{q['year']}.xlsx")


# ----------------------------------------------------------------------------- pages: workbench


def _page_query() -> dict[str, Any]:
    args = request.args
    q: dict[str, Any] = {}
    if args.get("kind") in {k.value for k in FindingKind}:
        q["kind"] = args["kind"]
    if args.get("status") in {s.value for s in FindingStatus}:
        q["status"] = args["status"]
    if args.get("platform") in {p.value for p in Platform}:
        q["platform"] = args["platform"]
    for key in ("unit_id", "account_id"):
        if (args.get(key) or "").isdigit():
            q[key] = int(args[key])
    return q


@pages.get("/")
def workbench() -> Any:
    user = _viewer()
    q = _page_query()
    page = max(int(request.args.get("page", "1")), 1) if request.args.get("page", "1").isdigit() else 1
    result = paginate(_findings_stmt(user, q), page, 50, service.finding_dict)
    counts = dict(
        db.session.execute(
            sa.select(Finding.status, sa.func.count(Finding.id))
            .where(scope_filter(user, Finding.unit_id))
            .group_by(Finding.status)
        ).all()
    )
    units = db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)).all()
    return render_template(
        "findings/workbench.html",
        result=result,
        q=q,
        pages=(result["total"] + 49) // 50,
        counts={s.value: counts.get(s, 0) for s in FindingStatus},
        kinds=FINDING_LABELS,
        statuses=service.STATUS_LABELS,
        platforms=PLATFORM_LABELS,
        units=units,
        can_work=user.has_role(*WORK_ROLES),
        export_args={k: v for k, v in q.items() if v is not None},
    )


@pages.get("/<int:finding_id>")
def detail(finding_id: int) -> Any:
    user = _viewer()
    finding = get_scoped(Finding, finding_id)
    return render_template(
        "findings/detail.html",
        f=_detail(user, finding),
        action_labels=service.ACTION_LABELS,
        evidence_labels=service.EVIDENCE_LABELS,
        status_labels={k.value: v for k, v in service.STATUS_LABELS.items()},
        reopen_labels=service.REOPEN_LABELS,
    )


@pages.post("/<int:finding_id>/act")
def act(finding_id: int) -> Any:
    _viewer()
    finding = get_scoped(Finding, finding_id)
    action = request.form.get("action", "")
    try:
        user = _worker()
        if action not in service.ACTIONS:
            raise ApiError(f"未知操作：{action}")
        service.act(finding, action, user, request.form.get("reason"))
        db.session.commit()
        flash(f"已{service.ACTION_LABELS[action]}", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("findings.detail", finding_id=finding_id))


@pages.post("/discovery/import")
def import_page() -> Any:
    user = _worker()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 CSV 或 XLSX 文件", "error")
        return redirect(url_for("findings.workbench"))
    params = {"filename": upload.filename, "source": request.form.get("source") or None}
    job = jobs.start(registry_jobs.DISCOVERY_IMPORT, user, params, upload=upload.read())
    return redirect(url_for("jobs.detail", job_id=job.id))


@pages.post("/discovery/run")
def run_page() -> Any:
    user = _worker()
    job = jobs.start(registry_jobs.DISCOVERY_RUN, user, {"platforms": None, "keywords": []})
    return redirect(url_for("jobs.detail", job_id=job.id))


# ----------------------------------------------------------------------------- pages: reports


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@reports_pages.get("/")
def index() -> Any:
    user = _reporter()
    error = None
    try:
        p = reports.period(_date_arg("from"), _date_arg("to"))
    except ApiError as exc:
        error = exc.message
        p = reports.period(None, None)
    data = reports.compliance(p, visible_unit_ids(user))
    today = service.today_cn()
    q = (today.month - 1) // 3 + 1
    last_quarter = f"{today.year}Q{q - 1}" if q > 1 else f"{today.year - 1}Q4"
    return render_template(
        "reports/index.html",
        data=data,
        period=p,
        error=error,
        columns=reports.COMPLIANCE_COLUMNS,
        quarters=[f"{today.year}Q{q}", last_quarter],
        years=[today.year - 1, today.year] if today.month <= 3 else [today.year, today.year - 1],
    )
