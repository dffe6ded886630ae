"""Scheduled 考评 (oversight/scoring/schedule.py): ``run_scheduled`` (scheduler, daily at
``SCORING_SCHEDULE_HOUR`` Beijing time, tasks/jobs.py) queues :func:`scheduled_task`, which scores
the quarter that ended at its check point, refreshes the running quarter once a day and draws the
month's 抽查 sample, each only if not done yet. ``flask scoring run [--period]`` does it now."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from extensions import db
from oversight.scoring import schedule
from tasks.scheduler import get_app


@shared_task(name="tasks.scoring.scheduled")
def scheduled_task() -> list[dict[str, Any]]:
    steps = schedule.run()
    db.session.commit()
    return steps


def run_scheduled() -> None:

    get_app()
    scheduled_task.delay()
