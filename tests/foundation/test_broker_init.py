"""`flask broker-init`: the embedded broker's queues made once before the processes start (a
worker and a scheduler starting together on an empty SQLite broker both inserted the same queue
row and one of them died: ``UNIQUE constraint failed: kombu_queue.name``)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from devkit import processes
from tasks.celery_app import QUEUES


def _env(tmp_path: Path, broker: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}", "BROKER_URL": broker}
    for name in ("CELERY_BROKER_URL", "GOVMEDIA_TEST_DB"):
        env.pop(name, None)
    return env


def test_broker_init_creates_every_queue_once_and_may_run_again(tmp_path: Path) -> None:
    broker = tmp_path / "broker.sqlite"
    env = _env(tmp_path, f"sqla+sqlite:///{broker}")
    for _ in range(2):  # a second run (a restart, a second install step) changes nothing
        done = processes.flask_cli(env, "broker-init")
        assert done.returncode == 0, done.stderr
        assert "已建立任务队列" in done.stdout
    with sqlite3.connect(broker) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM kombu_queue ORDER BY name")]
    assert names == sorted(QUEUES)


def test_broker_init_on_redis_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    done = processes.flask_cli(_env(tmp_path, "redis://127.0.0.1:6379/15"), "broker-init")
    assert done.returncode == 0, done.stderr
    assert "无需预先建立队列" in done.stdout
