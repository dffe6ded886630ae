"""Container healthcheck for a background process: ``python -m tasks.healthcheck scheduler|worker``.

Exits 0 when the process's heartbeat is fresh — the same check ``GET /healthz`` makes (health.py) —
and 1 otherwise, printing the check as JSON. docker-compose.yml uses it for the scheduler,
which serves no HTTP to probe.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HEARTBEATS = ("scheduler", "worker")


def check(name: str) -> dict[str, Any]:
    """The /healthz heartbeat check for ``name``, in the current app context."""
    from extensions import db
    from health import check_heartbeat  # one definition of "fresh" for /healthz and containers

    try:
        return check_heartbeat(name)
    finally:
        db.session.rollback()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.healthcheck", description="后台进程心跳检查")
    parser.add_argument("name", choices=HEARTBEATS, help="心跳名称 / heartbeat name")
    args = parser.parse_args(argv)
    from app import create_app
    from extensions import db

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
