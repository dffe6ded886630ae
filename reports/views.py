"""Report pages and API: compliance, the quarterly bulletin, the annual report, and the XLSX
exports of reports and findings (synchronous for API clients, background jobs for the pages).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Date, Dict, List, String
from apiflask.schemas import FileSchema
from apiflask.validators import OneOf, Range
from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for

from auth.models import User
from auth.scoping import current_user, visible_unit_ids
from common.errors import ApiError, Forbidden, Invalid
from common.fields import Integer
from common.timefmt import today_cn
from jobs.views import accepted
from oversight import findings, findings_views
from oversight.models import FindingKind, FindingStatus
from registry.models import Platform
from reports import jobs as report_jobs
from reports import service as reports
from reports.bulletin_doc import DOCX_MIME, SECRECY_LEVELS, URGENCY_LEVELS
from reports.reminder_counts import scope_text

api = APIBlueprint("reports_api", __name__, url_prefix="/api/v1", tag="问题线索与报表")
pages = Blueprint("reports", __name__)


# ----------------------------------------------------------------------------- schemas


class PeriodQuery(Schema):
    date_from = Date(load_default=None, data_key="from", metadata={"description": "开始日期（含），缺省为30天前"})
    date_to = Date(load_default=None, data_key="to", metadata={"description": "结束日期（含），缺省为今天"})


class QuarterQuery(Schema):
    quarter = String(required=True, metadata={"description": "例如 2026Q4"})


class BulletinDocQuery(QuarterQuery):
    doc_no = String(
        load_default=None,
        metadata={"description": "发文字号：完整文号（如 X网信通〔2026〕3号）或只填序号（用 BULLETIN_DOC_PREFIX）"},
    )
    to = String(load_default=None, metadata={"description": "主送机关，缺省为 BULLETIN_ADDRESSEES"})
    cc = String(load_default=None, metadata={"description": "抄送机关，缺省为 BULLETIN_CC（空则无抄送）"})
    date = String(load_default=None, metadata={"description": "成文日期 YYYY-MM-DD，缺省为今天（北京时间）"})
    copy_no = String(load_default=None, metadata={"description": "份号：1–6 位数字，印为 6 位；不填则不印"})
    secrecy = String(
        load_default=None,
        metadata={"description": "密级：绝密、机密、秘密；缺省为 BULLETIN_SECRECY（空则不印）；须同时填份号"},
    )
    secrecy_term = String(
        load_default=None,
        metadata={"description": "保密期限：如 1年、6个月、长期；缺省为 BULLETIN_SECRECY_TERM，仅在标注密级时使用"},
    )
    urgency = String(load_default=None, metadata={"description": "紧急程度：特急、加急；不填（或“无”）则不印"})


HEADER_FIELDS = ("doc_no", "to", "cc", "date", "copy_no", "secrecy", "secrecy_term", "urgency")


class YearQuery(Schema):
    year = Integer(required=True, validate=Range(min=2000, max=2100))


class ReportExportIn(Schema):
    report = String(
        required=True,
        validate=OneOf(list(report_jobs.REPORT_KINDS)),
        metadata={"description": "compliance 合规情况 / bulletin 季度通报 / annual 年度报表 / findings 问题线索"},
    )
    date_from = Date(load_default=None, data_key="from", metadata={"description": "compliance：开始日期"})
    date_to = Date(load_default=None, data_key="to", metadata={"description": "compliance：结束日期"})
    quarter = String(load_default=None, metadata={"description": "bulletin：例如 2026Q4"})
    year = Integer(load_default=None, validate=Range(min=2000, max=2100), metadata={"description": "annual：年份"})
    kind = String(load_default=None, validate=OneOf([k.value for k in FindingKind]))
    status = String(load_default=None, validate=OneOf([s.value for s in FindingStatus]))
    unit_id = Integer(load_default=None)
    account_id = Integer(load_default=None)
    platform = String(load_default=None, validate=OneOf([p.value for p in Platform]))


class ComplianceOut(Schema):
    period = Dict()
    generated_at = String()
    thresholds = Dict()
    rows = List(Dict())
    units = List(Dict())
    totals = Dict()


XLSX_FILE = FileSchema(type="string", format="binary")


def _xlsx_response(data: bytes, filename: str) -> Any:
    return send_file(io.BytesIO(data), mimetype=reports.XLSX_MIME, as_attachment=True, download_name=filename)


DOCX_FILE = FileSchema(type="string", format="binary")


def _docx_response(data: bytes, filename: str) -> Any:
    return send_file(io.BytesIO(data), mimetype=DOCX_MIME, as_attachment=True, download_name=filename)


# ----------------------------------------------------------------------------- API


@api.get("/findings.xlsx")
@api.input(findings_views.FindingQuery, location="query", arg_name="q")
@api.output(XLSX_FILE, content_type=reports.XLSX_MIME, description="XLSX 文件")
@api.doc(summary="导出问题线索（XLSX）", security="BearerAuth")
def export_findings(q: dict[str, Any]) -> Any:
    user = findings_views.viewer()
    return _xlsx_response(*report_jobs.findings_export(user, q)[:2])


def _reporter() -> User:
    user = current_user()
    if not user.has_role(*findings.VIEW_ROLES):
        raise Forbidden("您的角色无权查看报表", details={"required_roles": [r.value for r in findings.VIEW_ROLES]})
    return user


@api.get("/reports/compliance")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.output(ComplianceOut)
@api.doc(summary="合规情况：按单位和平台统计账号、更新、问题线索和三审合规率", security="BearerAuth")
def compliance_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    return reports.compliance(reports.period(q["date_from"], q["date_to"]), visible_unit_ids(user))


@api.get("/reports/compliance.xlsx")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.output(XLSX_FILE, content_type=reports.XLSX_MIME, description="XLSX 文件")
@api.doc(summary="合规情况（XLSX）", security="BearerAuth")
def compliance_report_xlsx(q: dict[str, Any]) -> Any:
    user = _reporter()
    p = reports.period(q["date_from"], q["date_to"])
    return _xlsx_response(*report_jobs.compliance_file(p, visible_unit_ids(user), report_jobs.issuer_of(user)))


@api.get("/reports/bulletin.xlsx")
@api.input(QuarterQuery, location="query", arg_name="q")
@api.output(XLSX_FILE, content_type=reports.XLSX_MIME, description="XLSX 文件")
@api.doc(summary="季度检查情况通报（XLSX）", security="BearerAuth")
def bulletin_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    return _xlsx_response(*report_jobs.bulletin_file(q["quarter"], visible_unit_ids(user), report_jobs.issuer_of(user)))


@api.get("/reports/bulletin.docx")
@api.input(BulletinDocQuery, location="query", arg_name="q")
@api.output(DOCX_FILE, content_type=DOCX_MIME, description="Word 文件")
@api.doc(
    summary="季度检查情况通报（Word，公文格式）",
    description=(
        "版头含份号、密级和保密期限、紧急程度（填写时）、发文机关、发文字号；主送、落款（发文机关署名、印章位置、成文日期）、"
        "抄送、印发；正文含整改工单和提醒次数。"
    ),
    security="BearerAuth",
)
def bulletin_docx_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    header = {k: q.get(k) for k in HEADER_FIELDS}
    return _docx_response(
        *report_jobs.bulletin_doc_file(q["quarter"], visible_unit_ids(user), report_jobs.issuer_of(user), header)
    )


@api.get("/reports/annual.xlsx")
@api.input(YearQuery, location="query", arg_name="q")
@api.output(XLSX_FILE, content_type=reports.XLSX_MIME, description="XLSX 文件")
@api.doc(summary="年度报表·政务新媒体部分（XLSX，次年1月31日前公开）", security="BearerAuth")
def annual_report(q: dict[str, Any]) -> Any:
    user = _reporter()
    return _xlsx_response(*report_jobs.annual_file(q["year"], visible_unit_ids(user), report_jobs.issuer_of(user)))


@api.post("/reports/exports")
@api.input(ReportExportIn, arg_name="data")
@api.doc(
    summary="后台生成报表或问题线索导出（XLSX），立即返回 202 和任务",
    description="report：compliance（from、to）、bulletin（quarter）、annual（year）、findings（筛选条件同问题线索列表）。"
    "GET /api/v1/jobs/{id} 查看进度；完成后 GET /api/v1/jobs/{id}/file 下载文件。",
    responses={202: "已排队：返回任务（id、status、progress …），Location 头指向任务"},
    security="BearerAuth",
)
def report_export_job(data: dict[str, Any]) -> Any:
    user = _reporter()
    return accepted(report_jobs.start(data["report"], user, data))


# ----------------------------------------------------------------------------- pages


@pages.post("/findings/export")
def findings_export_page() -> Any:
    """The workbench's 导出 XLSX button: a background job, then its progress page."""
    user = findings_views.viewer()
    job = report_jobs.start("findings", user, findings_views.page_query(request.form))
    return redirect(url_for("jobs.detail", job_id=job.id))


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@pages.get("/reports/")
def index() -> Any:
    user = _reporter()
    error = None
    try:
        p = reports.period(_date_arg("from"), _date_arg("to"))
    except ApiError as exc:
        error = exc.message
        p = reports.period(None, None)
    data = reports.compliance(p, visible_unit_ids(user))
    today = today_cn()
    q = (today.month - 1) // 3 + 1
    last_quarter = f"{today.year}Q{q - 1}" if q > 1 else f"{today.year - 1}Q4"
    return render_template(
        "reports/index.html",
        data=data,
        period=p,
        error=error,
        columns=reports.COMPLIANCE_COLUMNS,
        quarters=[f"{today.year}Q{q}", last_quarter],
        quarter_labels={code: reports.quarter(code).label for code in (f"{today.year}Q{q}", last_quarter)},
        years=[today.year - 1, today.year] if today.month <= 3 else [today.year, today.year - 1],
        bulletin_prefix=current_app.config.get("BULLETIN_DOC_PREFIX", ""),
        bulletin_to=current_app.config.get("BULLETIN_ADDRESSEES", ""),
        bulletin_cc=current_app.config.get("BULLETIN_CC", ""),
        bulletin_secrecy=current_app.config.get("BULLETIN_SECRECY", ""),
        bulletin_secrecy_term=current_app.config.get("BULLETIN_SECRECY_TERM", ""),
        secrecy_levels=SECRECY_LEVELS,
        urgency_levels=URGENCY_LEVELS,
        reminder_scope=scope_text(visible_unit_ids(user)),
        reminder_scope_all=visible_unit_ids(user) is None,
    )


@pages.get("/reports/bulletin.docx")
def bulletin_docx_page() -> Any:
    """The report page's 通报 Word button: a small document, made while the clerk waits."""
    user = _reporter()
    try:
        quarter = str(request.args.get("quarter") or "").strip()
        header = {k: request.args.get(k) for k in HEADER_FIELDS}
        data, filename = report_jobs.bulletin_doc_file(
            quarter, visible_unit_ids(user), report_jobs.issuer_of(user), header
        )
    except ApiError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        fields = "；".join(m for key in HEADER_FIELDS for m in detail.get(key) or [])
        flash(f"{exc.message}{'：' + fields if fields else ''}", "error")
        return redirect(url_for("reports.index"))
    return _docx_response(data, filename)


def _form_date(name: str) -> date | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"日期格式不正确：{value}", details={name: ["日期格式应为 YYYY-MM-DD"]}) from None


@pages.post("/reports/exports")
def report_export_page() -> Any:
    """The report page's download buttons: a background job, then its progress page."""
    user = _reporter()
    report = request.form.get("report", "")
    try:
        if report not in ("compliance", "bulletin", "annual"):
            raise Invalid(f"未知的报表：{report}")
        data = {
            "date_from": _form_date("from"),
            "date_to": _form_date("to"),
            "quarter": request.form.get("quarter"),
            "year": request.form.get("year"),
        }
        job = report_jobs.start(report, user, data)
    except ApiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.index"))
    return redirect(url_for("jobs.detail", job_id=job.id))
