"""Rows straight to the driver: many new rows of one table without per-row statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (values already as the driver takes them, in the order of ``columns``):
    ``COPY … FROM STDIN`` on PostgreSQL (psycopg), one ``executemany`` elsewhere — no per-row
    statement compilation or bind processing. ``table`` and ``columns`` are the caller's fixed names."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in columns)
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608  fixed names; values are bound
    conn.exec_driver_sql(sql, list(rows))  # type: ignore[arg-type]
