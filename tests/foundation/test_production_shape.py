"""The production shape as real processes: PostgreSQL + Redis + gunicorn + Celery worker + scheduler."""

from __future__ import annotations

import os

import pytest

from tests import processes, services

pytestmark = pytest.mark.integration


def test_migrations_on_empty_postgres_do_not_drift():
    with processes.fresh_postgres_database() as url:
        env = {**os.environ, "DATABASE_URL": url}
        upgrade = processes.flask_cli(env, "db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr
        check = processes.flask_cli(env, "db", "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_gunicorn_worker_scheduler_report_healthy(tmp_path):
    services.require_redis()
    with processes.fresh_postgres_database() as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROKER_URL": "redis://127.0.0.1:6379/14",
            "REDIS_URL": "redis://127.0.0.1:6379/14",
            "SCHEDULER_INTERVAL_SECONDS": "1",
        }
        assert processes.flask_cli(env, "db", "upgrade").returncode == 0
        group = processes.ProcessGroup(env, tmp_path)
        port = services.free_port()
        try:
            group.start_web(port)
            group.start_worker()
            group.start_scheduler()
            response = processes.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=90, expect=200)
            assert response is not None, group.logs()
            assert response.status_code == 200, response.text + group.logs()
            checks = response.json()["checks"]
            assert checks["database"]["dialect"] == "postgresql"
            assert checks["broker"]["transport"] == "redis"
            assert checks["scheduler"]["ok"] and checks["worker"]["ok"]
        finally:
            group.stop_all()
