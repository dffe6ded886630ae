"""SQLite under concurrent load: WAL, a busy timeout, reads that never take the write lock.

SQLite has one writer at a time. The design (docs/operations.md, "SQLite under load"):

* **WAL** — readers never block the writer and the writer never blocks readers.
* **Deferred BEGIN** — every transaction starts as a read transaction: a request that only
  reads never touches the write lock.
* **The write lock is taken late, once, and fresh.** Just before a transaction's first write
  (INSERT/UPDATE/DELETE/DDL), its first ``SELECT … FOR UPDATE`` or its first SAVEPOINT, the read
  transaction (which wrote nothing) is committed and ``BEGIN IMMEDIATE`` opens a write
  transaction on the same connection. Upgrading the read snapshot in place instead would fail
  at once with ``SQLITE_BUSY_SNAPSHOT`` whenever anyone else committed since it began, and no
  busy timeout helps against that; a fresh ``BEGIN IMMEDIATE`` simply waits its turn. Reads
  before the first write therefore behave like PostgreSQL's default READ COMMITTED (each may
  see other transactions' commits), reads after it are serialised with every other writer —
  and code that needs a read to hold until its write locks it with ``FOR UPDATE`` on both
  databases, which here takes the write lock before that read.
* **A busy timeout** (``SQLITE_BUSY_TIMEOUT_MS``, 30 s) on every connection, and ``BEGIN IMMEDIATE`` retried
  with backoff if SQLite still reports busy after it.

:func:`configure` installs this on an engine (the app's, and the scheduler's job store).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
# After SQLite's own busy wait, how many more times BEGIN IMMEDIATE (or a retried call) is tried.
BUSY_RETRIES = 5
BUSY_BACKOFF_SECONDS = 0.1

_WRITING = "govmedia.sqlite_writing"
WRITE_KEYWORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})

T = TypeVar("T")


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, SQLITE_LOCKED)."""
    orig = getattr(exc, "orig", exc)
    text = str(orig).lower()
    return type(orig).__name__ == "OperationalError" and ("database is locked" in text or "table is locked" in text)


def retry_on_busy(
    call: Callable[[], T], *, retries: int = BUSY_RETRIES, base: float = BUSY_BACKOFF_SECONDS, what: str = ""
) -> T:
    """``call()``, again after a jittered exponential backoff each time SQLite reports busy."""
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == retries or not is_busy(exc):
                raise
            delay = base * (2**attempt) * (0.5 + random.random())  # jitter
            log.warning("SQLite busy (%s); retrying in %.2f s (%d/%d)", what or "call", delay, attempt + 1, retries)
            time.sleep(delay)
    raise AssertionError("unreachable")


def holds_write_lock(connection: Connection) -> bool:
    """Whether this connection's current transaction has taken SQLite's write lock."""
    return bool(connection.info.get(_WRITING))


def _is_write(statement: str, context: Any) -> bool:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete or context.isddl):
        return True
    compiled = getattr(context, "compiled", None)
    if compiled is not None and getattr(compiled.statement, "_for_update_arg", None) is not None:
        return True  # SELECT … FOR UPDATE: SQLite drops the clause; the write lock stands in for it
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in WRITE_KEYWORDS


def _take_write_lock(connection: Connection) -> None:
    """Commit the (write-free) read transaction and open a write transaction in its place."""
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        if raw.in_transaction:  # type: ignore[union-attr]
            cursor.execute("COMMIT")
        retry_on_busy(lambda: cursor.execute("BEGIN IMMEDIATE"), what="BEGIN IMMEDIATE")
    except sqlite3.Error as exc:  # raised outside SQLAlchemy's statement handling: wrap it as it would
        raise sa.exc.DBAPIError.instance("BEGIN IMMEDIATE", (), exc, sqlite3.Error) from exc
    finally:
        cursor.close()
    connection.info[_WRITING] = True


def configure(engine: Engine, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    """WAL, foreign keys, busy timeout, deferred BEGIN and the late write lock (module docstring)."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.info[_WRITING] = False
        conn.exec_driver_sql("BEGIN")

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if conn.in_transaction() and not conn.info.get(_WRITING) and _is_write(statement, context):
            _take_write_lock(conn)

    @sa.event.listens_for(engine, "savepoint")
    def _on_savepoint(conn: Connection, _name: str) -> None:
        # COMMIT would end an open savepoint, so the write lock is taken before the first one.
        if not conn.info.get(_WRITING):
            _take_write_lock(conn)
