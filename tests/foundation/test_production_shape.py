"""The production shape as real processes: PostgreSQL + Redis + gunicorn + Celery worker + scheduler."""

from __future__ import annotations

import os
import time

import pytest
import requests

from devkit import processes, services

pytestmark = pytest.mark.integration


def test_migrations_on_empty_postgres_do_not_drift():
    with processes.fresh_postgres_database() as url:
        env = {**os.environ, "DATABASE_URL": url}
        upgrade = processes.flask_cli(env, "db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr
        check = processes.flask_cli(env, "db", "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_gunicorn_worker_scheduler_report_healthy(tmp_path, migrated_postgres):
    redis_url = "redis://127.0.0.1:6379/14"
    with (
        services.redis_namespace(redis_url) as prefix,
        processes.fresh_postgres_database(template=migrated_postgres) as url,
    ):
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROKER_URL": redis_url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,  # queues, tokens and login counters of this test alone
            "SCHEDULER_INTERVAL_SECONDS": "1",
        }
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
            assert_background_export_runs(env, port, group)
        finally:
            group.stop_all()


def assert_background_export_runs(env: dict[str, str], port: int, group: processes.ProcessGroup) -> None:
    """A 台账 export queued through the API is run by the real worker on the ``jobs`` queue."""
    assert processes.flask_cli(env, "seed-demo").returncode == 0
    token = processes.flask_cli(env, "users", "token", "auditor").stdout.strip()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = f"http://127.0.0.1:{port}/api/v1"
    queued = api.post(f"{base}/reports/accounts/exports", json={"format": "csv"}, timeout=10)
    assert queued.status_code == 202, queued.text
    deadline = time.monotonic() + 60
    job = queued.json()
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = api.get(f"{base}/jobs/{job['id']}", timeout=10).json()
    assert job["status"] == "done", f"{job}\n{group.logs()[-4000:]}"
    assert job["progress"] == job["total"] == job["result"]["rows"] > 0
    file = api.get(f"{base}/jobs/{job['id']}/file", timeout=10)
    assert file.status_code == 200, file.text
    lines = file.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == job["result"]["rows"] + 1 and lines[0].startswith("平台,")
