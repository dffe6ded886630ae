"""The daily inspection sweep through a real Celery worker (PostgreSQL + Redis + worker process):
one ``inspect_batch`` task per batch of accounts, every account inspected, and a second sweep
changes nothing (idempotent).

Marked slow: `make test` runs it in the parallel part beside the browser tests. Its broker is Redis
database 11, behind a REDIS_KEY_PREFIX of its own: no other test, and no second test run on this
machine, takes its tasks or empties its queue."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
import sqlalchemy as sa

from devkit import processes, services
from devkit.apps import make_test_app
from extensions import db
from oversight.inspection import postimport
from oversight.inspection.models import AccountInspection, LivePost
from oversight.models import Finding
from registry.models import Account, AccountStatus, Platform, Unit

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ACCOUNTS = 7
BATCH = 3


@pytest.fixture
def stack(tmp_path: Any, migrated_postgres: str):  # type: ignore[no-untyped-def]
    broker = "redis://127.0.0.1:6379/11"
    with (
        services.redis_namespace(broker) as prefix,
        processes.fresh_postgres_database(template=migrated_postgres) as url,
    ):
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROKER_URL": broker,
            "REDIS_KEY_PREFIX": prefix,
            "SECRET_KEY": "test-secret",
            "INSPECTION_BATCH_SIZE": str(BATCH),
            "INSPECTION_RATE_PER_MINUTE": "0",  # no spreading: every batch is due now
        }
        group = processes.ProcessGroup(env, tmp_path)

        app = make_test_app(url, BROKER_URL=broker, REDIS_KEY_PREFIX=prefix, INSPECTION_BATCH_SIZE=BATCH)
        try:
            yield app, group
        finally:
            group.stop_all()

            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _seed(app: Any) -> list[int]:

    with app.app_context():
        unit = Unit(name="批量巡检县人民政府", region="批量巡检县")
        db.session.add(unit)
        db.session.flush()
        ids = []
        rows = ["平台,账号ID,内容ID,发布时间,正文"]
        for i in range(ACCOUNTS):
            uid = f"batchw{i}"
            a = Account(
                platform=Platform.douyin,
                platform_uid=uid,
                name=f"批量巡检县账号{i}",
                unit_id=unit.id,
                status=AccountStatus.active,
            )
            db.session.add(a)
            db.session.flush()
            ids.append(a.id)
            rows.append(f"抖音,{uid},v{i}01,2026-11-30 09:00,监测机构看到的作品{i}")
        postimport.import_posts(("\n".join(rows) + "\n").encode(), "posts.csv")
        db.session.commit()
        db.session.remove()
    return ids


def _state(app: Any) -> tuple[int, int, int]:

    with app.app_context():
        checked = db.session.scalar(sa.select(sa.func.count()).where(AccountInspection.last_success_at.is_not(None)))
        posts = db.session.scalar(sa.select(sa.func.count()).select_from(LivePost))
        findings = db.session.scalar(sa.select(sa.func.count()).select_from(Finding))
        db.session.remove()
    return checked or 0, posts or 0, findings or 0


def _sweep_and_wait(app: Any, group: processes.ProcessGroup, done: int) -> None:
    app.extensions["celery"].send_task("tasks.inspection.inspection_sweep", queue="monitoring")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if len(re.findall(r"Task tasks\.inspection\.inspect_batch\[[^\]]+\] succeeded", group.logs())) >= done:
            return
        time.sleep(0.5)
    pytest.fail("the batches did not finish:\n" + group.logs()[-6000:])


def test_daily_sweep_runs_one_task_per_batch_on_a_worker_and_again_changes_nothing(stack):
    app, group = stack
    _seed(app)
    group.start_worker("worker1", concurrency=2)
    batches = -(-ACCOUNTS // BATCH)  # 7 accounts in batches of 3: 3 tasks
    _sweep_and_wait(app, group, batches)
    time.sleep(1)  # let a stray extra task show up in the log if there were one
    logs = group.logs()
    assert len(re.findall(r"Task tasks\.inspection\.inspect_batch\[[^\]]+\] received", logs)) == batches
    assert "Task tasks.inspection.inspect[" not in logs  # no task per account
    first = _state(app)
    assert first == (ACCOUNTS, ACCOUNTS, ACCOUNTS), first  # every account: its post, one unreviewed_post

    _sweep_and_wait(app, group, 2 * batches)
    assert _state(app) == first  # the same posts and findings: re-running is harmless
