"""What the scheduler does each tick and on its longer intervals.

Each later piece (publishing claim, sweeper, monitoring) adds its function here. Functions
run inside the app context, commit their own transaction, and enqueue after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from tasks.longjobs import sweep_jobs
from tasks.publishing import claim_and_enqueue, sweep_and_enqueue

log = logging.getLogger("govmedia.scheduler")


def _claim() -> Any:
    return claim_and_enqueue()


def _sweep() -> Any:
    return sweep_and_enqueue()


def _sweep_jobs() -> Any:
    return sweep_jobs()


TICK_JOBS: list[Callable[[], Any]] = [_claim, _sweep, _sweep_jobs]


def tick() -> None:
    for job in TICK_JOBS:
        try:
            job()
        except Exception:
            # One failing job must not stop the others; the error is logged with its traceback
            # and the job runs again next tick.
            log.exception("scheduler job %s failed", getattr(job, "__name__", job))


def periodic_jobs(app: Flask) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(job id, import path, trigger kwargs) for jobs on longer intervals."""
    # Monitoring (oversight/monitoring.py, oversight/discovery.py): each job only queues a Celery
    # task on the monitoring queue. Times are Asia/Shanghai (the scheduler's timezone).

    hours = int(app.config["MONITOR_INTERVAL_HOURS"])
    # First sweep FIRST_SWEEP_MINUTES (1) after the scheduler starts (a fresh install has figures
    # the same day; bench/fanout.py puts it after its runs).
    first = datetime.now().astimezone() + timedelta(minutes=int(app.config.get("FIRST_SWEEP_MINUTES", 1)))
    yield (
        "monitoring-activity",
        "tasks.monitoring:run_activity",
        {"trigger": "interval", "hours": max(1, hours), "next_run_time": first},
    )
    yield (
        "interaction-poll",
        "tasks.interaction:run_poll",
        {"trigger": "interval", "hours": max(1, int(app.config["INTERACTION_POLL_HOURS"])), "next_run_time": first},
    )
    yield "monitoring-closure", "tasks.monitoring:run_closure", {"trigger": "cron", "hour": 3, "minute": 30}
    yield (
        "discovery-weekly",
        "tasks.monitoring:run_discovery",
        {"trigger": "cron", "day_of_week": "mon", "hour": 2, "minute": 0},
    )
    # Inspection (oversight/inspection/): the daily sweep spreads its checks over the day.
    yield "inspection-daily", "tasks.inspection:run_inspection", {"trigger": "cron", "hour": 0, "minute": 20}
    yield "inspection-rescan", "tasks.inspection:run_rescan", {"trigger": "interval", "hours": 1}
    # Media retention (tasks/media.py): unreferenced uploads older than MEDIA_RETENTION_DAYS.
    prune_hour = int(app.config.get("MEDIA_PRUNE_HOUR", 4)) % 24
    yield "media-prune", "tasks.media:run_prune", {"trigger": "cron", "hour": prune_hour, "minute": 15}
    # Credential expiry warnings (publishers/credential_health.py), before the working day.
    yield "credential-check", "tasks.credentials:run_scan", {"trigger": "cron", "hour": 7, "minute": 30}
    # 整改 work orders (tasks/workorders.py) and reminders (notify/reminders.py).
    minutes = max(1, int(app.config.get("WORKORDER_SWEEP_MINUTES", 15)))
    yield "workorders-sweep", "tasks.workorders:run_sweep", {"trigger": "interval", "minutes": minutes}
    minutes = max(1, int(app.config.get("NOTIFY_INTERVAL_MINUTES", 10)))
    yield "notify-reminders", "tasks.notify:run_reminders", {"trigger": "interval", "minutes": minutes}
    # 考评 (oversight/scoring/schedule.py): quarter check points and the month's 抽查 draw, daily.
    hour = int(app.config.get("SCORING_SCHEDULE_HOUR", 1)) % 24
    yield "scoring-scheduled", "tasks.scoring:run_scheduled", {"trigger": "cron", "hour": hour, "minute": 40}
    # 转载任务 (tasks/reposts.py): completion by deliveries and inspected live posts, lateness.
    minutes = max(1, int(app.config.get("REPOST_SWEEP_MINUTES", 5)))
    yield "reposts-sweep", "tasks.reposts:run_sweep", {"trigger": "interval", "minutes": minutes}
    # Government website feeds (intake/feeds.py): conditional GETs, new items become drafts.
    minutes = max(1, int(app.config.get("FEED_POLL_MINUTES", 30)))
    yield "intake-feeds", "tasks.intake:run_poll", {"trigger": "interval", "minutes": minutes, "next_run_time": first}
