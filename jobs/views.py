"""Pages and API of background jobs: progress, result, download (service: jobs/).

A job is visible to the user who started it and to administrators; anyone else gets 404.
"""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, List, Nested, String
from apiflask.schemas import FileSchema
from flask import Blueprint, Flask, jsonify, render_template, send_file, url_for

import jobs
from auth.models import Role, User
from auth.scoping import current_user
from common.errors import NotFound
from common.fields import DateTime, Integer
from common.pagination import PageOut, PageQuery, paginate
from extensions import csrf, db
from jobs import JobRun

api = APIBlueprint("jobs_api", __name__, url_prefix="/api/v1", tag="后台任务")
pages = Blueprint("jobs", __name__, url_prefix="/jobs")


class JobOut(Schema):
    id = Integer()
    kind = String(
        metadata={
            "description": "ledger_import 导入台账 / ledger_export 导出台账 / discovery_run 平台检索比对 / "
            "discovery_import 导入第三方监测名单 / report_compliance 导出合规情况 / "
            "report_bulletin 导出季度检查情况通报 / report_annual 导出年度报表 / findings_export 导出问题线索 / "
            "bulk_schedule 批量排期导入"
        }
    )
    label = String()
    status = String(metadata={"description": "queued 排队中 / running 进行中 / done 已完成 / failed 失败"})
    status_label = String()
    progress = Integer()
    total = Integer(allow_none=True)
    percent = Integer(allow_none=True)
    message = String(allow_none=True)
    result = Dict(allow_none=True, metadata={"description": "完成：统计、文件；失败：逐行错误（errors）"})
    created_at = DateTime(allow_none=True)
    started_at = DateTime(allow_none=True)
    finished_at = DateTime(allow_none=True)


class JobPage(PageOut):
    items = List(Nested(JobOut))


def accepted(job: JobRun) -> Any:
    """202 Accepted with the job and where to follow it (for API calls with ``async``)."""
    response = jsonify(jobs.job_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for("jobs_api.get_job", job_id=job.id)
    return response


def _visible_stmt(user: User) -> sa.Select[Any]:
    stmt = sa.select(JobRun).order_by(JobRun.id.desc())
    return stmt if user.has_role(Role.admin) else stmt.where(JobRun.user_id == user.id)


def _get(job_id: int) -> JobRun:
    user = current_user()
    job = db.session.get(JobRun, job_id)
    if job is None or not (job.user_id == user.id or user.has_role(Role.admin)):
        raise NotFound("任务不存在")
    return job


def _download(job: JobRun) -> Any:
    found = jobs.file_of(job)
    if found is None:
        raise NotFound("该任务没有可下载的文件")
    data, meta = found
    return send_file(io.BytesIO(data), mimetype=meta["mime"], as_attachment=True, download_name=meta["filename"])


@api.get("/jobs")
@api.input(PageQuery, location="query", arg_name="q")
@api.output(JobPage)
@api.doc(summary="我的后台任务（管理员：全部），最新的在前", security="BearerAuth")
def list_jobs(q: dict[str, Any]) -> Any:
    return paginate(_visible_stmt(current_user()), q["page"], q["per_page"], jobs.job_dict)


@api.get("/jobs/<int:job_id>")
@api.output(JobOut)
@api.doc(summary="后台任务的进度和结果", security="BearerAuth")
def get_job(job_id: int) -> Any:
    return jobs.job_dict(_get(job_id))


@api.get("/jobs/<int:job_id>/file")
@api.output(FileSchema(type="string", format="binary"), content_type="application/octet-stream")
@api.doc(summary="下载任务生成的文件（导出任务完成后）", security="BearerAuth")
def job_file(job_id: int) -> Any:
    return _download(_get(job_id))


@pages.get("/")
def index() -> Any:
    items = db.session.scalars(_visible_stmt(current_user()).limit(50)).all()
    return render_template("jobs/index.html", items=items)


@pages.get("/<int:job_id>")
def detail(job_id: int) -> Any:
    return render_template("jobs/detail.html", job=_get(job_id))


@pages.get("/<int:job_id>/file")
def download(job_id: int) -> Any:
    return _download(_get(job_id))


def init_app(app: Flask) -> None:
    """The jobs pages and API (the broker-down 503 is an app error handler, app.py)."""
    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(pages)
