"""Background jobs, the part that flushes: creating a job, finishing it, the sweep (kinds: :mod:`jobs.kinds`).

Nothing here commits or knows HTTP. Committing and the queue hand-off are in
:mod:`jobs.runner`; pages and API in ``jobs/views.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from common import media
from common.db import utcnow
from common.fields import iso_utc
from extensions import db
from jobs.kinds import kinds
from jobs.models import JobRun

TASK_NAME = "tasks.longjobs.run"


class JobFailed(Exception):
    """A runner's way to end its job as failed with a message (and details) the user can act on."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class QueueUnavailable(Exception):
    """The broker refused a new job; the job is already marked failed (the view layer answers 503)."""

    def __init__(self, job: JobRun, message: str = "任务队列暂不可用，请稍后重试") -> None:
        super().__init__(message)
        self.job = job
        self.message = message


# ----------------------------------------------------------------------------- jobs


def create(kind: str, user: Any, params: dict[str, Any], *, upload: bytes | None = None) -> JobRun:
    """A queued job (flushed). An upload is stored and named in ``params['sha256']``."""
    if kind not in kinds():
        raise ValueError(f"unknown job kind {kind!r}")
    params = dict(params)
    if upload is not None:
        params["sha256"] = media.save(upload)
        params["size"] = len(upload)
    job = JobRun(kind=kind, user_id=user.id if user is not None else None, status="queued", params=params)
    db.session.add(job)
    db.session.flush()
    audit.record("job:queued", job, after={"kind": kind, "params": _audited(params)}, actor=user)
    return job


def _audited(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in {"sha256"}}


def finish(job: JobRun, status: str, *, message: str | None = None, result: dict[str, Any] | None = None) -> None:
    """End a job as ``done`` or ``failed``, audited."""
    before = job.status
    job.status = status
    job.message = message
    job.result = result
    job.finished_at = utcnow()
    if status == "done" and job.total:
        job.progress = job.total
    audit.record(
        f"job:{status}",
        job,
        before={"status": before},
        after={"status": status, "message": message},
        actor_label="system:worker",
    )


def upload_of(job: JobRun) -> bytes:
    data = media.load((job.params or {}).get("sha256", ""))
    if data is None:
        raise JobFailed("上传的文件已不存在，请重新上传")
    return data


def save_file(data: bytes, filename: str, mime: str) -> dict[str, Any]:
    """Keep a runner's output file; returns the ``result['file']`` entry."""
    return {"sha256": media.save(data), "filename": filename, "mime": mime, "size": len(data)}


def file_of(job: JobRun) -> tuple[bytes, dict[str, Any]] | None:
    meta = (job.result or {}).get("file")
    if job.status != "done" or not meta:
        return None
    data = media.load(meta.get("sha256", ""))
    return (data, meta) if data is not None else None


def sweep(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """(jobs to enqueue again, jobs marked failed): lost queue messages and dead workers.

    A queued job not picked up within ``JOB_REQUEUE_SECONDS`` is sent again (the task refuses
    to run a job twice). A running job silent for ``JOB_STALE_SECONDS`` lost its worker and is
    failed with a message asking to resubmit. Flushes.
    """
    now = now or utcnow()
    requeue_after = timedelta(seconds=int(current_app.config["JOB_REQUEUE_SECONDS"]))
    stale_after = timedelta(seconds=int(current_app.config["JOB_STALE_SECONDS"]))
    requeue = list(
        db.session.scalars(
            sa.select(JobRun.id).where(
                JobRun.status == "queued",
                sa.or_(JobRun.enqueued_at.is_(None), JobRun.enqueued_at < now - requeue_after),
                JobRun.created_at < now - requeue_after,
            )
        )
    )
    dead = db.session.scalars(
        sa.select(JobRun).where(JobRun.status == "running", JobRun.heartbeat_at < now - stale_after)
    ).all()
    for job in dead:
        finish(job, "failed", message="后台进程在执行中断开，任务未完成；请重新提交")
    db.session.flush()
    return requeue, [job.id for job in dead]


def job_dict(job: JobRun) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "label": job.label,
        "status": job.status,
        "status_label": job.status_label,
        "progress": job.progress,
        "total": job.total,
        "percent": job.percent,
        "message": job.message,
        "result": job.result,
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at),
        "finished_at": iso_utc(job.finished_at),
    }
