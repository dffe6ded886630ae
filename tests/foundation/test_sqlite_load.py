"""SQLite under concurrency (common/sqlite.py): reads never take the write lock, writes take it late.

Each test builds the app on its own SQLite file (WAL needs a file) and drives two connections of
the app's real engine from two threads, as two gunicorn workers or a worker and a request would.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from common import sqlite
from extensions import db
from tests.conftest import make_test_app

TABLE = sa.table("t", sa.column("id", sa.Integer), sa.column("n", sa.Integer))


@pytest.fixture
def engine(tmp_path: Any) -> Iterator[sa.Engine]:
    app = make_test_app(f"sqlite:///{tmp_path / 'load.sqlite'}")
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
            conn.exec_driver_sql("INSERT INTO t (id, n) VALUES (1, 0)")
        yield engine
        engine.dispose()


def in_thread(work: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = work()
        except Exception as exc:  # noqa: BLE001 - handed to the test's assertions
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def write(engine: sa.Engine) -> Any:
    with engine.begin() as conn:
        conn.execute(sa.update(TABLE).values(n=TABLE.c.n + 1))
        return "written"


def test_wal_mode_and_busy_timeout(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_an_open_read_transaction_does_not_block_a_writer(engine):
    with engine.connect() as reader:
        reader.begin()
        assert reader.execute(sa.select(TABLE.c.n)).scalar() == 0  # a request still reading
        thread, outcome = in_thread(lambda: write(engine))
        thread.join(timeout=5)
        assert outcome.get("value") == "written", outcome  # not waiting for the reader to finish
        assert outcome["seconds"] < 2
        # The reader keeps its snapshot (WAL) and ends without error.
        assert reader.execute(sa.select(TABLE.c.n)).scalar() == 0
        reader.rollback()


def test_read_then_write_after_another_commit_succeeds(engine):
    """A deferred transaction upgraded in place would fail here with SQLITE_BUSY_SNAPSHOT at once."""
    with engine.connect() as conn:
        conn.begin()
        assert conn.execute(sa.select(TABLE.c.n)).scalar() == 0
        write(engine)  # someone else commits after our read began
        conn.execute(sa.update(TABLE).values(n=TABLE.c.n + 10))
        conn.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.select(TABLE.c.n)).scalar() == 11  # both writes kept, none lost


def test_a_writer_waits_for_the_lock_holder_instead_of_failing(engine):
    with engine.connect() as holder:
        holder.begin()
        holder.execute(sa.update(TABLE).values(n=100))  # takes the write lock
        thread, outcome = in_thread(lambda: write(engine))
        time.sleep(0.5)
        assert thread.is_alive(), outcome  # waiting (busy timeout), not failed
        holder.commit()
        thread.join(timeout=10)
    assert outcome.get("value") == "written", outcome
    with engine.connect() as conn:
        assert conn.execute(sa.select(TABLE.c.n)).scalar() == 101


def test_select_for_update_serialises_like_a_row_lock(engine):
    """Read-check-write code locks with FOR UPDATE; on SQLite that read takes the write lock first."""
    with engine.connect() as first:
        first.begin()
        assert first.execute(sa.select(TABLE.c.n).with_for_update()).scalar() == 0
        thread, outcome = in_thread(lambda: write(engine))
        time.sleep(0.5)
        assert thread.is_alive(), outcome  # the other writer waits behind the locked read
        first.execute(sa.update(TABLE).values(n=TABLE.c.n + 5))
        first.commit()
        thread.join(timeout=10)
    assert outcome.get("value") == "written", outcome
    with engine.connect() as conn:
        assert conn.execute(sa.select(TABLE.c.n)).scalar() == 6


def test_retry_on_busy_backs_off_then_succeeds():
    calls: list[float] = []

    def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise sa.exc.OperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked"))
        return "ok"

    assert sqlite.retry_on_busy(flaky, base=0.01) == "ok"
    assert len(calls) == 3

    def other() -> None:
        raise sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: t"))

    with pytest.raises(sa.exc.OperationalError):
        sqlite.retry_on_busy(other, base=0.01)  # not busy: raised at once
