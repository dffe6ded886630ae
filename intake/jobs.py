"""Bulk scheduling as a background job (jobs/): the sheet is the job's upload, the zip of media
is stored beside it (``params['zip_sha256']``). The runner flushes; the job runner commits."""

from __future__ import annotations

from typing import Any

from flask import Flask

import jobs
from common import media
from intake import bulk
from jobs import JobFailed, JobRun, ProgressFn

BULK_SCHEDULE = "bulk_schedule"
MAX_SHOWN_ERRORS = 1000


def _bulk_schedule(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    params = job.params or {}
    zip_data = None
    if params.get("zip_sha256"):
        zip_data = media.load(params["zip_sha256"])
        if zip_data is None:
            raise JobFailed("上传的素材压缩包已不存在，请重新上传")
    if actor is None:
        raise JobFailed("提交导入的用户已不存在")
    try:
        report = bulk.BulkSchedule(actor, submit=bool(params.get("submit")), source=params.get("filename", "")).run(
            jobs.upload_of(job), zip_data, dry_run=bool(params.get("dry_run")), progress=progress
        )
    except bulk.BulkImportError as exc:
        raise JobFailed(
            exc.message,
            {"rows": exc.rows, "errors": exc.errors[:MAX_SHOWN_ERRORS], "total_errors": len(exc.errors)},
        ) from exc
    result = report.as_dict()
    if report.dry_run:
        result["message"] = f"校验通过（未写入）：共 {report.rows} 行"
    elif report.submitted:
        result["message"] = f"导入完成：生成 {report.created} 篇稿件，已提交初审"
    else:
        result["message"] = f"导入完成：生成 {report.created} 篇草稿"
    return result


def start_params(
    filename: str, *, submit: bool, dry_run: bool, zip_data: bytes | None, zip_name: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"filename": filename, "submit": submit, "dry_run": dry_run}
    if zip_data:
        params["zip_sha256"] = media.save(zip_data)
        params["zip_filename"] = zip_name
        params["zip_size"] = len(zip_data)
    return params


def register_kinds(app: Flask) -> None:
    jobs.register_kind(app, BULK_SCHEDULE, "批量排期导入", _bulk_schedule)
