"""Background jobs, the part that commits: the hand-off to the queue and the worker's body.

``start`` is what a view calls (create, commit, enqueue); ``run`` is the body of the worker
task ``tasks.longjobs.run``; ``enqueue`` is also how the scheduler's sweep sends a lost job
again. Progress is written through its own connection so the user sees it while the job's own
transaction is still open. SQLite allows one writer at a time and our SQLite transactions begin
IMMEDIATE, so there a progress report made inside an open transaction is kept in memory and
written at the next report made outside one (the bar shows "进行中" meanwhile).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from flask import current_app

from auth.models import User
from common.db import utcnow
from common.errors import ApiError
from extensions import db
from jobs.models import JobRun
from jobs.service import TASK_NAME, JobFailed, QueueUnavailable, create, finish, kinds

log = logging.getLogger(__name__)


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


def enqueue(job: JobRun, *, resend: bool = False) -> bool:
    """Hand a committed job to the worker.

    A broker that is down fails a new job at once (``QueueUnavailable``, which the view layer
    answers with 503, so the user knows); a job the sweeper sends again stays queued for its
    next tick (returns False).
    """
    celery = current_app.extensions["celery"]
    try:
        celery.send_task(TASK_NAME, args=[job.id], queue="jobs", retry=False)
    except Exception as exc:
        log.warning("job %s could not be queued: %s", job.id, type(exc).__name__)
        if resend:
            return False
        finish(job, "failed", message="任务队列暂不可用，请稍后重新提交")
        db.session.commit()
        raise QueueUnavailable(job) from exc
    job.enqueued_at = utcnow()
    db.session.commit()
    return True


def start(kind: str, user: Any, params: dict[str, Any], *, upload: bytes | None = None) -> JobRun:
    """create + commit + enqueue: what a view calls."""
    job = create(kind, user, params, upload=upload)
    db.session.commit()
    enqueue(job)
    return job


def run(job_id: int) -> str:
    """The worker's body: run the job once. Commits its own state changes."""
    job = db.session.get(JobRun, job_id, with_for_update=True)  # SQLite: the write lock (common/sqlite.py)
    if job is None:
        return "missing"
    if job.status != "queued":
        db.session.rollback()
        return f"already {job.status}"
    kind = kinds().get(job.kind)
    job.status = "running"
    job.started_at = job.heartbeat_at = utcnow()
    job.message = "正在处理…"
    db.session.commit()
    if kind is None:
        finish(job, "failed", message=f"未知的任务类型：{job.kind}")
        db.session.commit()
        return "failed"
    actor = db.session.get(User, job.user_id) if job.user_id else None
    progress = Progress(job.id)
    try:
        result = kind.runner(job, actor, progress)
        db.session.commit()  # the runner's own writes
    except JobFailed as exc:
        db.session.rollback()
        finish(job, "failed", message=exc.message, result=exc.details or None)
        db.session.commit()
        return "failed"
    except ApiError as exc:
        db.session.rollback()
        finish(job, "failed", message=exc.message, result=exc.detail or None)
        db.session.commit()
        return "failed"
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) crashed", job.id, job.kind)
        finish(job, "failed", message="任务执行出错，已记录错误日志；请联系管理员或稍后重试")
        db.session.commit()
        return "failed"
    job.total = progress.total or job.total
    message = result.pop("message", None)
    finish(job, "done", message=message or "已完成", result=result)
    db.session.commit()
    return "done"
