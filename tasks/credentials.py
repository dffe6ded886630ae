"""The daily credential check (publishers/credential_health.py): expiry warnings per account.

Scheduled from tasks/jobs.py (``credential-check``); the warnings it writes show on the admins'
credentials overview (/publishing/credentials) and in each account's 发布就绪状态.
"""

from __future__ import annotations

from celery import shared_task

from extensions import db
from publishers import credential_health
from tasks.scheduler import get_app


@shared_task(name="tasks.credentials.scan")
def scan_task() -> dict:
    counts = credential_health.scan_expiry()
    db.session.commit()
    return counts


def run_scan() -> None:
    """Scheduled daily: queue the scan on the worker."""

    get_app()
    scan_task.delay()
