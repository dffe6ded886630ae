"""Discovery as background jobs (jobs/): platform search runs and imports of
third-party monitoring lists, reconciled against the 台账.

Each runner is called by the worker with the job, the user who started it and a progress
callback; it flushes, and the job runner commits.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

import jobs
from jobs import JobFailed, JobRun, ProgressFn
from oversight import discovery

DISCOVERY_RUN = "discovery_run"
DISCOVERY_IMPORT = "discovery_import"


def _discovery_run(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    params = job.params or {}
    summary = discovery.run_search(
        params.get("platforms"), params.get("keywords") or [], actor=actor, progress=progress
    )
    summary["message"] = discovery.summary_text(summary)
    return summary


def _discovery_import(job: JobRun, actor: Any, progress: ProgressFn) -> dict[str, Any]:
    params = job.params or {}
    progress(0, None, "正在读取名单并与台账比对…", force=True)
    try:
        summary = discovery.import_list(
            jobs.upload_of(job), params.get("filename", ""), actor=actor, source_ref=params.get("source") or None
        )
    except discovery.ImportRowsInvalid as exc:
        raise JobFailed(exc.message, exc.detail) from exc
    summary["message"] = discovery.summary_text(summary)
    return summary


def register_discovery_kinds(app: Flask) -> None:
    """The discovery kinds (``oversight.init_app``)."""
    jobs.register_kind(app, DISCOVERY_RUN, "平台检索比对", _discovery_run)
    jobs.register_kind(app, DISCOVERY_IMPORT, "导入第三方监测名单", _discovery_import)
