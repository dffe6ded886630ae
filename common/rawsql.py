"""A hot path's statement on the driver's own cursor (PostgreSQL, psycopg), in the session's
transaction.

SQLAlchemy's execution of a text statement — its execution context, parameter processing and
result metadata — costs a publishing worker more CPU than psycopg's own work for it; the
delivery hot path runs two or three such statements per delivery (``publishers.lifecycle``,
``moderation.lifecycle.transition_row_now``). ``first`` runs the statement on the same
connection and transaction that ``conn`` (the session's) holds, written with ``:name``
parameters as for ``sa.text``. SQLAlchemy's cursor events do not see it (``bench/
delivery_cost.py`` counts statements at the driver).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from psycopg.pq import ExecStatus
from sqlalchemy.engine import Connection

TUPLES_OK = ExecStatus.TUPLES_OK

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


@functools.lru_cache(maxsize=256)
def pyformat(sql: str) -> str:
    """``:name`` parameters as psycopg's ``%(name)s`` (``::type`` casts are left alone)."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def first(conn: Connection, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row of ``sql`` run on ``conn``'s driver connection, or None."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # noqa: S101  a connection in use has its driver connection
    with dbapi.cursor() as cursor:
        cursor.execute(pyformat(sql), params)
        # rows or none: the result's status (``cursor.description`` builds a column object each)
        result = cursor.pgresult
        return cursor.fetchone() if result is not None and result.status == TUPLES_OK else None
