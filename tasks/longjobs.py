"""The worker side of background jobs (jobs/): run one, and the scheduler's sweep."""

from __future__ import annotations

from celery import shared_task

import jobs
from extensions import db
from jobs import runner


@shared_task(name=jobs.TASK_NAME, ignore_result=True)
def run(job_id: int) -> str:
    """Run a queued job once; a second delivery of the same message finds it started and stops."""
    return runner.run(job_id)


def sweep_jobs() -> None:
    """Scheduler tick: send lost queue messages again; fail jobs whose worker died."""
    requeue, _dead = jobs.sweep()
    db.session.commit()
    for job_id in requeue:
        job = db.session.get(jobs.JobRun, job_id)
        if job is not None and not runner.enqueue(job, resend=True):
            break  # the broker is down: the next tick tries again
