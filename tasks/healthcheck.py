"""Container healthcheck for a background process: ``python -m tasks.healthcheck scheduler|worker``.

Exits 0 when the process's heartbeat is fresh — the same check ``GET /healthz`` makes (health.py
imports :func:`check_heartbeat` from here) — and 1 otherwise, printing the check as JSON.
docker-compose.yml uses it for the scheduler, which serves no HTTP to probe.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from flask import current_app

from common.db import utcnow
from extensions import db
from tasks.models import Heartbeat

HEARTBEATS = ("scheduler", "worker")


def check_heartbeat(name: str) -> dict[str, Any]:
    """Is the ``name`` process (scheduler, worker) alive: its heartbeat row within the stale limit."""
    stale = timedelta(seconds=current_app.config["SCHEDULER_HEARTBEAT_STALE_SECONDS"])
    row = db.session.get(Heartbeat, name)
    if row is None:
        return {"ok": False, "last_seen": None}
    age = (utcnow() - row.at).total_seconds()
    return {"ok": age <= stale.total_seconds(), "last_seen": row.at.isoformat() + "Z", "age_seconds": round(age, 1)}


def check(name: str) -> dict[str, Any]:
    """The /healthz heartbeat check for ``name``, in the current app context."""
    try:
        return check_heartbeat(name)
    finally:
        db.session.rollback()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.healthcheck", description="后台进程心跳检查")
    parser.add_argument("name", choices=HEARTBEATS, help="心跳名称 / heartbeat name")
    args = parser.parse_args(argv)
    from app import create_app  # the entry point builds the app (import-linter: ignored, see pyproject)  # noqa: PLC0415  entry point builds the app (app imports tasks)

    app = create_app()
    with app.app_context():
        try:
            result = check(args.name)
        except Exception as exc:  # noqa: BLE001 - database down or not migrated: unhealthy, say why
            result = {"ok": False, "error": type(exc).__name__}
        finally:
            db.session.remove()
    sys.stdout.write(json.dumps({args.name: result}, ensure_ascii=False) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
