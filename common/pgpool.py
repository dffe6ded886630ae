"""PostgreSQL pool connections: a socket check at checkout instead of a ping round trip.

``pool_pre_ping`` sends a query to the server on every checkout: a round trip, and about a
twentieth of a publishing worker's CPU per delivery (a delivery takes three checkouts). A
connection the server ended while it sat in the pool (a restart, ``pg_terminate_backend``,
an idle timeout) has the server's goodbye — its error message and end of stream — waiting in
its socket, and an idle connection in the pool has nothing else to read. So at checkout a
connection whose socket is readable, or that psycopg knows is closed, is thrown away and the
pool hands out another (SQLAlchemy's ``DisconnectionError`` protocol, up to three tries).
Neither check finds a connection lost without a word (a cable pulled): the ping would wait for
the network timeout there too. Installed on the app's engine for PostgreSQL (``app.py``).
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine


def configure(engine: Engine) -> None:
    """Check each checkout of ``engine``'s pool (PostgreSQL only; anything else is left)."""
    if engine.dialect.name == "postgresql" and not sa.event.contains(engine, "checkout", _check_alive):
        sa.event.listen(engine, "checkout", _check_alive)


def _check_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if ended(dbapi_connection):
        raise sa.exc.DisconnectionError("PostgreSQL ended this pooled connection while it was idle")


def ended(dbapi_connection: Any) -> bool:
    """True if this idle psycopg connection is closed or the server has written to it."""
    if dbapi_connection.closed:
        return True
    try:
        fd = dbapi_connection.fileno()
    except psycopg.Error:  # no usable socket any more
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
