"""GET /healthz (no auth): database, broker, scheduler and worker heartbeats.

An app-level module (registered by ``create_app``): it imports ``tasks`` downwards; the heartbeat
check itself lives in ``tasks/healthcheck.py``, which the container healthcheck also runs.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint
from flask import current_app
from kombu import Connection

from extensions import db
from tasks.healthcheck import check_heartbeat

bp = APIBlueprint("health", __name__, tag="系统")


def _check_database() -> dict[str, Any]:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "dialect": db.engine.dialect.name}


def _check_broker() -> dict[str, Any]:
    url = current_app.config["BROKER_URL"]
    scheme = url.split(":", 1)[0]
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means "broker down"; we report its type
        return {"ok": False, "transport": scheme, "error": type(exc).__name__}
    return {"ok": True, "transport": scheme}


@bp.get("/healthz")
@bp.doc(summary="健康检查", description="数据库、消息队列、调度器与任务进程心跳。全部正常返回 200，否则 503。")
def healthz() -> Any:
    checks = {
        "database": _check_database(),
        "broker": _check_broker(),
        "scheduler": check_heartbeat("scheduler"),
        "worker": check_heartbeat("worker"),
    }
    db.session.rollback()
    ok = all(c["ok"] for c in checks.values())
    return {"status": "ok" if ok else "degraded", "checks": checks}, 200 if ok else 503
