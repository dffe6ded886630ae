"""A task's transactions on one pooled connection (publishers.shared.one_connection): one
checkout per delivery task, no transaction open between the commits, and a connection the
server ended during the platform call replaced before the next transaction."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from extensions import db
from publishers.shared import one_connection
from tests.conftest import BACKEND

pytestmark = pytest.mark.db

ONE = sa.text("SELECT 1")
PID = sa.text("SELECT pg_backend_pid()")


def _driver() -> Any:
    return db.session.connection().connection.dbapi_connection


def test_two_transactions_take_one_checkout_and_leave_nothing_open(app: Any) -> None:
    with app.app_context():
        db.session.remove()
        checkouts: list[int] = []

        def count(*_: Any) -> None:
            checkouts.append(1)

        sa.event.listen(db.engine, "checkout", count)
        try:
            with one_connection() as kept:
                db.session.execute(ONE)
                first = _driver()
                db.session.commit()
                assert not db.session().in_transaction()  # idle between: the platform call
                kept.check()
                db.session.execute(ONE)
                assert _driver() is first
                db.session.commit()
            assert db.session().bind is None
            assert len(checkouts) == 1
            with pytest.raises(ZeroDivisionError):
                _fail_inside()
            assert db.session().bind is None and not db.session().in_transaction()
        finally:
            sa.event.remove(db.engine, "checkout", count)
            db.session.remove()


def _fail_inside() -> None:
    with one_connection():
        db.session.execute(ONE)
        raise ZeroDivisionError


def test_a_session_bound_already_is_left_as_it_is(db_session: Any) -> None:
    bound = db_session().bind
    with one_connection() as kept:
        assert kept.conn is None and db_session().bind is bound
        kept.check()
    assert db_session().bind is bound


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL ends connections")
def test_a_connection_ended_during_the_platform_call_is_replaced(app: Any, database_url: str) -> None:
    admin = sa.create_engine(database_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with app.app_context():
        db.session.remove()
        try:
            with one_connection() as kept:
                pid = db.session.execute(PID).scalar()
                db.session.commit()
                with admin.connect() as other:  # a restart while the platform answers
                    other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                    gone = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                    for _ in range(100):
                        if other.execute(gone, {"pid": pid}).scalar() == 0:
                            break
                        time.sleep(0.05)
                kept.check()
                assert db.session.execute(PID).scalar() != pid
                db.session.commit()
        finally:
            db.session.remove()
            admin.dispose()
