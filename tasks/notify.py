"""Reminders on the schedule: ``run_reminders`` (every ``NOTIFY_INTERVAL_MINUTES``, tasks/jobs.py)
queues :func:`reminders_task`, which runs ``notify.reminders.run`` (collect → record → send).
``flask notify run`` does the same now, in its own process."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from notify import reminders
from tasks.scheduler import get_app


@shared_task(name="tasks.notify.reminders")
def reminders_task() -> dict[str, Any]:
    return reminders.run()


def run_reminders() -> None:
    get_app()
    reminders_task.delay()
