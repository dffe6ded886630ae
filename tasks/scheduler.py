"""The scheduler process: one APScheduler with a persistent job store that only queues work.

Run with ``python -m tasks.scheduler``. Jobs are referenced by import path so the job store
can persist them; each job opens the app context, does its database work, commits, and
enqueues Celery tasks only after the commit (outbox).
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from common import sqlite
from common.timefmt import CN_TZ
from extensions import db
from tasks import jobs
from tasks.system import beat, worker_heartbeat

log = logging.getLogger("govmedia.scheduler")
_app: Flask | None = None

JOB_TABLE = "apscheduler_jobs"


def get_app() -> Flask:
    global _app  # noqa: PLW0603 - one app per scheduler process
    if _app is None:
        from app import create_app  # noqa: PLC0415  entry point builds the app (app imports tasks)

        _app = create_app()
    return _app


def heartbeat() -> None:
    with get_app().app_context():
        beat("scheduler")
        db.session.commit()
    worker_heartbeat.delay()


def run_registered_jobs() -> None:
    """Every tick: the jobs later pieces register (claim due content, sweeper...)."""

    with get_app().app_context():
        jobs.tick()


class SteadyScheduler(BlockingScheduler):
    """A BlockingScheduler that a job store error never stops.

    APScheduler catches an error reading the due jobs, but not one writing a job's next run
    time back: that one leaves its main loop and ends the process ("database is locked" under
    load on SQLite). Here any such error is logged and the round is tried again after
    ``jobstore_retry_interval`` seconds; a job whose next run time was not saved runs again
    then, which the scheduler's jobs allow (each only queues work that is due).
    """

    def _process_jobs(self) -> float | None:
        try:
            return super()._process_jobs()
        except sa.exc.SQLAlchemyError as exc:
            log.warning(
                "job store error, retrying in %ss: %s: %s",
                self.jobstore_retry_interval,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
            return self.jobstore_retry_interval


def job_store(app: Flask) -> SQLAlchemyJobStore:
    """The persistent job store, on the app's database; on SQLite with the app's lock handling."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_pre_ping=True)
    sqlite.configure(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    return SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)


def make_scheduler(app: Flask) -> SteadyScheduler:
    """The scheduler with its job store and executors, and no jobs yet."""
    return SteadyScheduler(
        jobstores={"default": job_store(app)},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone=CN_TZ.key,
        jobstore_retry_interval=max(1, min(10, app.config["SCHEDULER_INTERVAL_SECONDS"])),
    )


def build_scheduler(app: Flask) -> SteadyScheduler:
    interval = app.config["SCHEDULER_INTERVAL_SECONDS"]
    scheduler = make_scheduler(app)
    scheduler.add_job(
        "tasks.scheduler:heartbeat", "interval", seconds=max(5, interval), id="heartbeat", replace_existing=True
    )
    scheduler.add_job(
        "tasks.scheduler:run_registered_jobs", "interval", seconds=interval, id="tick", replace_existing=True
    )

    for job_id, func, trigger in jobs.periodic_jobs(app):
        scheduler.add_job(func, id=job_id, replace_existing=True, **trigger)
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(message)s")
    # APScheduler logs every run of every job at INFO; the tick runs every few seconds.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    app = get_app()
    scheduler = build_scheduler(app)

    def _stop(_signum: int, _frame: Any) -> None:
        log.info("stopping scheduler")
        scheduler.shutdown(wait=False)
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    heartbeat()
    log.info("scheduler started, tick every %ss", app.config["SCHEDULER_INTERVAL_SECONDS"])
    scheduler.start()


if __name__ == "__main__":
    main()
