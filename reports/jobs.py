"""Report and findings exports as background jobs (jobs/), like the 台账 export.

The pages' download buttons start a job and show its progress page (``/jobs/<id>``) with a
download button when the file is ready; the API has ``POST /api/v1/reports/exports`` (202 and
the job). The ``GET …xlsx`` endpoints of API.md still answer synchronously for API clients.

Each job keeps its parameters as validated when it was started; the worker builds the same
file the synchronous endpoint would, scoped to the units the user who started the job may see
at the time it runs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask

import jobs
from auth.models import User
from auth.scoping import visible_unit_ids
from extensions import db
from jobs import JobFailed, JobRun, ProgressFn, runner
from oversight import findings
from reports import service as reports
from reports.bulletin_doc import bulletin_docx, make_header

REPORT_COMPLIANCE = "report_compliance"
REPORT_BULLETIN = "report_bulletin"
REPORT_ANNUAL = "report_annual"
FINDINGS_EXPORT = "findings_export"

#: ``report`` values of ``POST /api/v1/reports/exports`` and the page form → job kind.
REPORT_KINDS = {
    "compliance": REPORT_COMPLIANCE,
    "bulletin": REPORT_BULLETIN,
    "annual": REPORT_ANNUAL,
    "findings": FINDINGS_EXPORT,
}
FINDING_FILTERS = ("kind", "status", "unit_id", "account_id", "platform")


# ----------------------------------------------------------------------------- parameters


def params_for(report: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validated job parameters (422 like the synchronous endpoints: bad period, quarter, year)."""
    if report == "compliance":
        p = reports.period(data.get("date_from"), data.get("date_to"))
        return {"from": p.start.isoformat(), "to": p.end.isoformat()}
    if report == "bulletin":
        quarter = str(data.get("quarter") or "").strip().upper()
        reports.quarter(quarter)
        return {"quarter": quarter}
    if report == "annual":
        try:
            value = int(data.get("year") or 0)
        except (TypeError, ValueError):
            value = 0
        reports.year(value)
        return {"year": value}
    return {"filters": {k: data[k] for k in FINDING_FILTERS if data.get(k) not in (None, "")}}


def start(report: str, user: User, data: dict[str, Any]) -> JobRun:
    """Validate, then create, commit and enqueue the job (what the views call)."""
    return runner.start(REPORT_KINDS[report], user, params_for(report, data))


# ----------------------------------------------------------------------------- files


def issuer_of(user: User | None) -> str:
    """The 制表单位 a workbook names: the unit of the user who made it."""
    return user.unit.name if user is not None and user.unit is not None else ""


def findings_export(user: User, q: dict[str, Any]) -> tuple[bytes, str, int]:
    """(XLSX, file name, rows) of the findings ``user`` may see with the filters ``q``
    (at most ``MAX_EXPORT_ROWS``)."""
    rows = db.session.scalars(findings.listing(user, q).limit(findings.MAX_EXPORT_ROWS)).all()
    data = reports.findings_xlsx([(f, findings.finding_platform(f)) for f in rows], issuer_of(user))
    return data, f"问题线索_{findings.today_cn().isoformat()}.xlsx", len(rows)


def compliance_file(p: reports.Period, unit_ids: set[int] | None, issuer: str = "") -> tuple[bytes, str]:
    data = reports.compliance_xlsx(reports.compliance(p, unit_ids), issuer)
    return data, f"合规情况_{p.start.isoformat()}_{p.end.isoformat()}.xlsx"


def bulletin_file(quarter: str, unit_ids: set[int] | None, issuer: str = "") -> tuple[bytes, str]:
    data = reports.bulletin_xlsx(reports.quarter(quarter), unit_ids, issuer)
    return data, f"季度通报_{quarter.upper()}.xlsx"


def bulletin_doc_file(
    quarter: str, unit_ids: set[int] | None, issuer: str = "", header: dict[str, Any] | None = None
) -> tuple[bytes, str]:
    """The Word 通报; ``header``: doc_no, to, cc, date, copy_no, secrecy, secrecy_term, urgency
    (reports.bulletin_doc.make_header)."""
    h = header or {}
    period = reports.quarter(quarter)
    head = make_header(
        issuer,
        doc_no=h.get("doc_no"),
        addressees=h.get("to"),
        cc=h.get("cc"),
        signed_on=h.get("date"),
        copy_no=h.get("copy_no"),
        secrecy=h.get("secrecy"),
        secrecy_term=h.get("secrecy_term"),
        urgency=h.get("urgency"),
    )
    data = bulletin_docx(period, unit_ids, issuer, head)
    return data, f"季度通报_{quarter.upper()}.docx"


def annual_file(value: int, unit_ids: set[int] | None, issuer: str = "") -> tuple[bytes, str]:
    return reports.annual_xlsx(reports.year(value), unit_ids, issuer), f"年度报表_政务新媒体_{value}.xlsx"


# ----------------------------------------------------------------------------- runners


def _reader(actor: Any) -> User:
    if actor is None or not actor.has_role(*findings.VIEW_ROLES):
        raise JobFailed("您的角色无权查看报表")
    return actor


def _done(data: bytes, filename: str, message: str, **extra: Any) -> dict[str, Any]:
    file = jobs.save_file(data, filename, reports.XLSX_MIME)
    return {"file": file, "message": message, **extra}


def _compliance(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    user = _reader(actor)
    params = job.params or {}
    progress(0, 1, "正在统计合规情况…", force=True)
    p = reports.period(date.fromisoformat(params["from"]), date.fromisoformat(params["to"]))
    data, filename = compliance_file(p, visible_unit_ids(user), issuer_of(user))
    progress(1, 1, "已生成", force=True)
    return _done(data, filename, f"已生成合规情况（{p.label}）", period=p.as_dict())


def _bulletin(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    user = _reader(actor)
    quarter = str((job.params or {}).get("quarter") or "")
    progress(0, 1, "正在生成季度通报…", force=True)
    data, filename = bulletin_file(quarter, visible_unit_ids(user), issuer_of(user))
    progress(1, 1, "已生成", force=True)
    return _done(data, filename, f"已生成 {reports.quarter(quarter).label}检查情况通报")


def _annual(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    user = _reader(actor)
    value = int((job.params or {}).get("year") or 0)
    progress(0, 1, "正在生成年度报表…", force=True)
    data, filename = annual_file(value, visible_unit_ids(user), issuer_of(user))
    progress(1, 1, "已生成", force=True)
    return _done(data, filename, f"已生成 {value} 年度报表·政务新媒体部分")


def _findings(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    if actor is None or not actor.has_role(*findings.VIEW_ROLES):
        raise JobFailed("您的角色无权查看问题线索")
    filters = dict((job.params or {}).get("filters") or {})
    progress(0, 1, "正在导出问题线索…", force=True)
    data, filename, rows = findings_export(actor, filters)
    progress(1, 1, "已生成", force=True)
    return _done(data, filename, f"已导出 {rows} 条问题线索", rows=rows)


def register_kinds(app: Flask) -> None:
    """The report and findings export kinds (the findings part's ``init_app``)."""
    jobs.register_kind(app, REPORT_COMPLIANCE, "导出合规情况", _compliance)
    jobs.register_kind(app, REPORT_BULLETIN, "导出季度检查情况通报", _bulletin)
    jobs.register_kind(app, REPORT_ANNUAL, "导出年度报表（政务新媒体）", _annual)
    jobs.register_kind(app, FINDINGS_EXPORT, "导出问题线索", _findings)
