"""Rows straight to the driver: many new rows of one table without per-row statements."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection


def json_text(value: Any) -> str:
    """JSON text of ``value`` for a bulk row (COPY, executemany): compact, Chinese as it is
    (``\\u`` escapes would double its bytes for the server to parse and store), by orjson — a
    sixth of the standard library encoder's time for the check hits and evidence of a post.
    Compare stored JSON by value, not by text: rows written through SQLAlchemy use the standard
    library's format."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def insert_rows(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (values already as the driver takes them, in the order of ``columns``):
    binary ``COPY … FROM STDIN`` on PostgreSQL (psycopg), one ``executemany`` elsewhere — no
    per-row statement compilation or bind processing. ``columns`` are the caller's fixed names.

    Binary, not text: the server then reads each value by its length instead of scanning every
    character for COPY's escapes: a sixth to a fifth of its work for a post or a finding.
    Each value goes as what its column takes (:func:`_copy_type`): a wrong Python type fails the
    COPY, as a wrong value fails the text one."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            copy.set_types([_copy_type(table.c[name].type) for name in columns])
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608  fixed names; values are bound
    conn.exec_driver_sql(sql, list(rows))  # type: ignore[arg-type]


def _copy_type(column_type: sa.types.TypeEngine[Any]) -> str:
    """The PostgreSQL type a binary COPY sends a column's values as. JSON goes as its text (the
    binary form of ``json`` is the text), strings and enum values as ``text`` (the server checks
    ``varchar(n)`` lengths as for any input)."""
    if isinstance(column_type, sa.Boolean):
        return "bool"
    if isinstance(column_type, sa.BigInteger):
        return "int8"
    if isinstance(column_type, sa.Integer):
        return "int4"
    if isinstance(column_type, sa.Float):
        return "float8"
    if isinstance(column_type, sa.DateTime):
        return "timestamptz" if column_type.timezone else "timestamp"
    if isinstance(column_type, sa.Date):
        return "date"
    return "text"


def next_ids(conn: Connection, table: sa.Table, count: int) -> list[int] | None:
    """PostgreSQL: ``count`` ids of ``table``'s own sequence, ascending, for rows written with
    their ids (no read-back of what the database assigned); None elsewhere (SQLite has no
    sequence: the caller reads the ids back)."""
    if conn.dialect.name != "postgresql" or count <= 0:
        return None
    sql = (
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) AS id "  # noqa: S608  fixed name
        "FROM generate_series(1, %(n)s) ORDER BY 1"
    )
    return [i for (i,) in conn.exec_driver_sql(sql, {"n": count})]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one batch's work, back on (as it was) after it.

    A batch allocates some ten containers per row (views, tuples, hit and evidence dicts) and
    keeps most of them until it ends, so the collector runs over and over during it — its full
    collections walking every object of the process — and finds next to nothing to free: what a
    batch drops goes by reference counting. Any cycles it leaves are collected once it is over;
    memory stays bounded by the batch."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
