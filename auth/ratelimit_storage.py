"""Login rate-limit counters in a SQL database, shared by every web worker process.

flask-limiter keeps its counters in ``RATELIMIT_STORAGE_URI``. ``memory://`` counts per process,
so gunicorn's 2 workers admitted twice the configured attempts (issue #19). With Redis
(``REDIS_URL``) the counters live there; without it, the default is this storage on its own
SQLite file (``db+sqlite:///instance/ratelimit.sqlite``), which every worker on the machine shares.
It implements the fixed-window counter flask-limiter uses: one atomic upsert per hit.

Importing this module registers the ``db+sqlite`` / ``db+postgresql`` schemes with ``limits``.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from limits.storage import Storage

TABLE = "ratelimit_counters"
_PRUNE_EVERY = 500  # hits per process between deletions of long-expired counters

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    key VARCHAR(512) PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
)
"""
_INCR = sa.text(
    f"""
INSERT INTO {TABLE} (key, count, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN {TABLE}.expires_at <= :now THEN :amount ELSE {TABLE}.count + :amount END,
    expires_at = CASE WHEN {TABLE}.expires_at <= :now THEN :now + :expiry ELSE {TABLE}.expires_at END
RETURNING count
"""  # noqa: S608 - constant table name
)


class SqlStorage(Storage):
    """``db+<SQLAlchemy URL>``: fixed-window counters in table ``ratelimit_counters``."""

    STORAGE_SCHEME = ["db+sqlite", "db+postgresql", "db+postgresql+psycopg"]  # noqa: RUF012 - limits' API

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        assert uri is not None  # noqa: S101 - limits always passes the URI it matched
        url = sa.engine.make_url(uri.removeprefix("db+"))
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, connect_args={"timeout": 30})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        self._ready = False
        self._lock = threading.Lock()
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def _ensure_table(self) -> None:
        if self._ready:
            return
        with self._lock, self.engine.begin() as conn:
            conn.exec_driver_sql(_CREATE)
            self._ready = True

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self._ensure_table()
        now = time.time()
        with self.engine.begin() as conn:
            count = conn.execute(_INCR, {"key": key, "amount": amount, "now": now, "expiry": expiry}).scalar_one()
            if next(self._hits) % _PRUNE_EVERY == 0:
                conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE expires_at < :old"), {"old": now - 3600})  # noqa: S608
        return int(count)

    def _row(self, key: str) -> tuple[int, float] | None:
        self._ensure_table()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(f"SELECT count, expires_at FROM {TABLE} WHERE key = :key AND expires_at > :now"),  # noqa: S608
                {"key": key, "now": time.time()},
            ).first()
        return (int(row[0]), float(row[1])) if row else None

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        self._ensure_table()
        with self.engine.begin() as conn:
            return conn.exec_driver_sql(f"DELETE FROM {TABLE}").rowcount  # noqa: S608

    def clear(self, key: str) -> None:
        self._ensure_table()
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {TABLE} WHERE key = :key"), {"key": key})  # noqa: S608


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
