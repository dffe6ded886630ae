"""A pooled PostgreSQL connection the server ended while idle is replaced at checkout, without
a ping per checkout (common/pgpool.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from common import pgpool
from extensions import db
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's pool only")

PID = sa.text("SELECT pg_backend_pid()")


def test_the_app_checks_sockets_instead_of_pinging(app: Any) -> None:
    with app.app_context():
        assert db.engine.pool._pre_ping is False
        assert sa.event.contains(db.engine, "checkout", pgpool._check_alive)


def test_a_connection_ended_by_the_server_is_replaced_at_checkout(database_url: str) -> None:
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    pgpool.configure(engine)
    admin = sa.create_engine(database_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = conn.execute(PID).scalar()
        with engine.connect() as conn:  # alive: the same connection comes back
            assert pgpool.ended(conn.connection.dbapi_connection) is False
            assert conn.execute(PID).scalar() == pid
        with admin.connect() as other:
            assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            gone = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            for _ in range(100):  # until the server process has gone (it said goodbye first)
                if other.execute(gone, {"pid": pid}).scalar() == 0:
                    break
                time.sleep(0.05)
        # ended while in the pool: the checkout hands out a new one, no error reaches the caller
        with engine.connect() as conn:
            assert conn.execute(PID).scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()
