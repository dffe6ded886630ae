"""The scheduler survives SQLite's "database is locked" (tasks/scheduler.py: SteadyScheduler).

A real lock: another connection holds SQLite's write lock longer than the job store waits for it
(and longer than sqlite3's default 5 s), so writing a job's next run time fails; the scheduler
must log, retry and keep running its jobs once the lock is gone.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from tasks.scheduler import make_scheduler
from tests.conftest import make_test_app

TICKS: list[float] = []


def tick() -> None:
    """The test job (referenced by import path, as the job store requires)."""
    TICKS.append(time.monotonic())


def test_scheduler_keeps_running_through_a_held_write_lock(tmp_path, caplog):
    path = tmp_path / "sched.sqlite"
    app = make_test_app(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT_MS=200, SCHEDULER_INTERVAL_SECONDS=1)
    scheduler = make_scheduler(app)
    scheduler.add_job(f"{__name__}:tick", "interval", seconds=1, id="tick", replace_existing=True)
    TICKS.clear()
    caplog.set_level(logging.WARNING, logger="govmedia.scheduler")
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(TICKS) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(TICKS) >= 2, "the scheduler did not start ticking"

        holder = sqlite3.connect(path, isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")  # e.g. a long import holding the one write lock
        time.sleep(12)  # longer than every busy retry together (common.sqlite: ≤ 5.9 s), wherever they start
        assert thread.is_alive(), "the scheduler's main loop died on the held lock"
        holder.execute("COMMIT")
        holder.close()

        released = time.monotonic()
        deadline = released + 10
        while not [t for t in TICKS if t > released + 0.5] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [t for t in TICKS if t > released + 0.5], "no tick after the lock was released"
        assert thread.is_alive()
        assert "job store error" in caplog.text and "locked" in caplog.text
    finally:
        scheduler.shutdown(wait=False)
        thread.join(timeout=10)
