"""Long operations (台账 imports and exports, discovery runs, list imports) as background jobs.

A page or API call creates a :class:`JobRun` with its parameters (an uploaded file goes into
the media store), commits, and enqueues the worker task ``tasks.longjobs.run`` by name, so no
domain package imports ``tasks/``. The worker runs the kind's runner, which reports progress
through :class:`Progress`; the browser polls ``GET /api/v1/jobs/<id>`` and the page
``/jobs/<id>`` shows a ``<progress>`` bar, then the result (counts, row errors, a download).

Progress is written through its own connection so the user sees it while the job's own
transaction is still open. SQLite allows one writer at a time and our SQLite transactions
begin IMMEDIATE, so there a progress report made inside an open transaction is kept in memory
and written at the next report made outside one (the bar shows "进行中" meanwhile).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app, jsonify, url_for
from sqlalchemy.orm import Mapped, mapped_column

from common import media
from common.db import utcnow
from common.errors import ApiError
from common.fields import iso_utc
from extensions import db

log = logging.getLogger(__name__)

TASK_NAME = "tasks.longjobs.run"
STATUS_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
OPEN_STATUSES = ("queued", "running")


class JobRun(db.Model):
    """A long operation with progress for the user who started it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(50))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(sa.Text)
    params: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def label(self) -> str:
        kind = KINDS.get(self.kind)
        return kind.label if kind else self.kind

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return max(0, min(100, round(100 * self.progress / self.total)))


class JobFailed(Exception):
    """A runner's way to end its job as failed with a message (and details) the user can act on."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ProgressFn(Protocol):
    """What long domain operations call to report progress; :class:`Progress` is one."""

    def __call__(
        self, done: int, total: int | None = None, message: str | None = None, *, force: bool = False
    ) -> None: ...


def no_progress(done: int, total: int | None = None, message: str | None = None, *, force: bool = False) -> None:
    """For synchronous callers (CLI, API), who show no progress."""


class Progress:
    """``progress(done, total=None, message=None)``; reports at most every ``interval`` seconds."""

    def __init__(self, job_id: int, interval: float = 0.5) -> None:
        self.job_id = job_id
        self.interval = interval
        self._last = 0.0
        self._values: dict[str, Any] = {}

    @property
    def total(self) -> int | None:
        return self._values.get("total")

    def __call__(self, done: int, total: int | None = None, message: str | None = None, *, force: bool = False) -> None:
        self._values["progress"] = int(done)
        if total is not None:
            self._values["total"] = int(total)
        if message is not None:
            self._values["message"] = message
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        stmt = (
            sa.update(JobRun.__table__)
            .where(JobRun.__table__.c.id == self.job_id)
            .values(**self._values, heartbeat_at=utcnow())
        )
        if db.engine.dialect.name == "sqlite":
            if db.session().in_transaction():
                return  # the job's own transaction holds SQLite's one write lock: report next time
            self._last = now
            db.session.execute(stmt)
            db.session.commit()
            return
        self._last = now
        with db.engine.begin() as conn:  # seen by the user now, whatever the job's transaction does
            conn.execute(stmt)


Runner = Callable[[JobRun, Any, Progress], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    runner: Runner


KINDS: dict[str, JobKind] = {}


def register(name: str, label: str, runner: Runner) -> None:
    KINDS[name] = JobKind(name, label, runner)


def create(kind: str, user: Any, params: dict[str, Any], *, upload: bytes | None = None) -> JobRun:
    """A queued job (flushed). An upload is stored and named in ``params['sha256']``."""
    from audit import service as audit

    if kind not in KINDS:
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


def enqueue(job: JobRun, *, resend: bool = False) -> bool:
    """Hand a committed job to the worker.

    A broker that is down fails a new job at once (503, so the user knows); a job the sweeper
    sends again stays queued for its next tick (returns False).
    """
    celery = current_app.extensions["celery"]
    try:
        celery.send_task(TASK_NAME, args=[job.id], queue="jobs", retry=False)
    except Exception as exc:
        log.warning("job %s could not be queued: %s", job.id, type(exc).__name__)
        if resend:
            return False
        _finish(job, "failed", message="任务队列暂不可用，请稍后重新提交")
        db.session.commit()
        raise ApiError(status=503, code="unavailable", message="任务队列暂不可用，请稍后重试") from exc
    job.enqueued_at = utcnow()
    db.session.commit()
    return True


def start(kind: str, user: Any, params: dict[str, Any], *, upload: bytes | None = None) -> JobRun:
    """create + commit + enqueue: what a view calls."""
    job = create(kind, user, params, upload=upload)
    db.session.commit()
    enqueue(job)
    return job


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


def _finish(job: JobRun, status: str, *, message: str | None = None, result: dict[str, Any] | None = None) -> None:
    from audit import service as audit

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


def run(job_id: int) -> str:
    """The worker's body: run the job once. Commits its own state changes."""
    from auth.models import User

    job = db.session.get(JobRun, job_id, with_for_update=db.engine.dialect.name != "sqlite")
    if job is None:
        return "missing"
    if job.status != "queued":
        db.session.rollback()
        return f"already {job.status}"
    kind = KINDS.get(job.kind)
    job.status = "running"
    job.started_at = job.heartbeat_at = utcnow()
    job.message = "正在处理…"
    db.session.commit()
    if kind is None:
        _finish(job, "failed", message=f"未知的任务类型：{job.kind}")
        db.session.commit()
        return "failed"
    actor = db.session.get(User, job.user_id) if job.user_id else None
    progress = Progress(job.id)
    try:
        result = kind.runner(job, actor, progress)
        db.session.commit()  # the runner's own writes
    except JobFailed as exc:
        db.session.rollback()
        _finish(job, "failed", message=exc.message, result=exc.details or None)
        db.session.commit()
        return "failed"
    except ApiError as exc:
        db.session.rollback()
        _finish(job, "failed", message=exc.message, result=exc.detail or None)
        db.session.commit()
        return "failed"
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) crashed", job.id, job.kind)
        _finish(job, "failed", message="任务执行出错，已记录错误日志；请联系管理员或稍后重试")
        db.session.commit()
        return "failed"
    job.total = progress.total or job.total
    message = result.pop("message", None)
    _finish(job, "done", message=message or "已完成", result=result)
    db.session.commit()
    return "done"


def sweep(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """(jobs to enqueue again, jobs marked failed): lost queue messages and dead workers.

    A queued job not picked up within ``JOB_REQUEUE_SECONDS`` is sent again (the task refuses
    to run a job twice). A running job silent for ``JOB_STALE_SECONDS`` lost its worker and is
    failed with a message asking to resubmit. Flushes.
    """
    now = now or utcnow()
    requeue_after = timedelta(seconds=int(current_app.config.get("JOB_REQUEUE_SECONDS", 60)))
    stale_after = timedelta(seconds=int(current_app.config.get("JOB_STALE_SECONDS", 900)))
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
        _finish(job, "failed", message="后台进程在执行中断开，任务未完成；请重新提交")
    return requeue, [job.id for job in dead]


def accepted(job: JobRun) -> Any:
    """202 Accepted with the job and where to follow it (for API calls with ``async``)."""
    response = jsonify(job_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for("jobs_api.get_job", job_id=job.id)
    return response


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
