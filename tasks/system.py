"""System tasks: the worker's heartbeat, so /healthz shows that a worker consumes the queue."""

from __future__ import annotations

import os
import socket

from celery import shared_task

from common.db import utcnow
from extensions import db
from tasks.models import Heartbeat


def beat(name: str, **info: object) -> None:
    row = db.session.get(Heartbeat, name)
    if row is None:
        row = Heartbeat(name=name)
        db.session.add(row)
    row.at = utcnow()
    row.info = {"host": socket.gethostname(), "pid": os.getpid(), **info}


@shared_task(name="tasks.system.worker_heartbeat")
def worker_heartbeat() -> None:
    beat("worker")
