"""The registry's long operations as background jobs (jobs/): 台账 import and export.
(Discovery runs and imports of monitoring lists are oversight.discovery_jobs.)

Each runner is called by the worker with the job, the user who started it and a progress
callback; it flushes, and the job runner commits. A runner raises ``JobFailed`` with a message
and details (the row-by-row errors of a rejected file) the result page shows.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Flask

import jobs
from jobs import JobFailed, JobRun, ProgressFn
from registry import importexport, ledger, service
from registry.errors import LedgerImportError
from registry.schemas import ExportQuery

LEDGER_IMPORT = "ledger_import"
LEDGER_EXPORT = "ledger_export"
MAX_SHOWN_ERRORS = 1000


def _ledger_import(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    params = job.params or {}
    dry_run = bool(params.get("dry_run"))
    try:
        report = importexport.import_ledger(
            jobs.upload_of(job), actor, source=params.get("filename", ""), dry_run=dry_run, progress=progress
        )
    except LedgerImportError as exc:
        raise JobFailed(
            exc.message,
            {"rows": exc.rows, "errors": exc.errors[:MAX_SHOWN_ERRORS], "total_errors": len(exc.errors)},
        ) from exc
    result = report.as_dict()
    result["message"] = "校验通过（未写入）" if dry_run else "导入完成"
    return result


def _ledger_export(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    params = job.params or {}
    fmt = "csv" if params.get("format") == "csv" else "xlsx"
    flt = ledger.LedgerFilter.from_mapping(ExportQuery().load(params.get("filters") or {}))
    out = io.BytesIO()
    rows = importexport.export_ledger(actor, flt, out, fmt, progress=progress)
    mime = importexport.XLSX_MIME if fmt == "xlsx" else importexport.CSV_MIME
    file = jobs.save_file(out.getvalue(), f"政务新媒体台账-{service.today():%Y%m%d}.{fmt}", mime)
    return {"rows": rows, "file": file, "message": f"已导出 {rows} 个账号"}


def register_ledger_kinds(app: Flask) -> None:
    """The 台账 kinds (``registry.init_app``)."""
    jobs.register_kind(app, LEDGER_IMPORT, "导入台账", _ledger_import)
    jobs.register_kind(app, LEDGER_EXPORT, "导出台账", _ledger_export)
