"""The repost-task sweep on the schedule: ``run_sweep`` (every ``REPOST_SWEEP_MINUTES``,
tasks/jobs.py) queues :func:`sweep_task`, which runs ``reposts.completion.sweep`` and commits.
``flask reposts sweep`` does the same now, in its own process."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from extensions import db
from reposts import completion
from tasks.scheduler import get_app


@shared_task(name="tasks.reposts.sweep")
def sweep_task() -> dict[str, Any]:
    result = completion.sweep()
    db.session.commit()
    return result.as_dict()


def run_sweep() -> None:

    get_app()
    sweep_task.delay()
