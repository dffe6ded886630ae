"""Per-test rollback isolation really isolates, even when code under test commits."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.models import Role
from registry.models import Unit
from registry.units import create_unit
from tests.conftest import rolled_back_session

MARKER = "隔离性测试单位"


def test_a_commit_inside_a_test(db_session, make_unit):
    make_unit(MARKER)
    db_session.commit()  # releases the savepoint only
    assert db_session.scalar(sa.select(sa.func.count()).where(Unit.name == MARKER)) == 1


def test_b_previous_commit_is_gone(db_session):
    assert db_session.scalar(sa.select(sa.func.count()).where(Unit.name == MARKER)) == 0


def test_c_view_commit_is_rolled_back_too(client, db_session, make_user, api_as):
    admin = make_user(Role.admin)
    response = api_as(admin).post("/api/v1/units", json={"name": MARKER + "2"})
    assert response.status_code == 201


def test_d_view_commit_is_gone(db_session):
    assert db_session.scalar(sa.select(sa.func.count()).where(Unit.name == MARKER + "2")) == 0


def test_rollback_isolation_within_one_test(app, database_url):
    """Self-contained: commits inside the test transaction stay invisible and vanish at its end.

    Uses the very context manager behind ``db_session``, so it does not depend on test order.
    """

    name = f"{MARKER}-{uuid.uuid4().hex[:8]}"
    query = sa.text("SELECT count(*) FROM units WHERE name = :name")
    other = sa.create_engine(database_url)  # a separate engine: its own pool and connections
    try:
        with rolled_back_session(app) as session:
            unit = create_unit({"name": name})
            session.flush()
            session.commit()  # code under test commits: only the savepoint is released
            assert session.get(Unit, unit.id) is not None
            session.add(Unit(name=name + "-2"))
            session.commit()
            assert session.scalar(sa.select(sa.func.count()).where(Unit.name.startswith(name))) == 2
            with other.connect() as conn:  # what anyone else sees meanwhile: nothing
                assert conn.execute(query, {"name": name}).scalar_one() == 0
                assert conn.execute(query, {"name": name + "-2"}).scalar_one() == 0
        with other.connect() as conn:  # after the fixture's rollback: nothing persisted
            assert conn.execute(query, {"name": name}).scalar_one() == 0
            assert conn.execute(query, {"name": name + "-2"}).scalar_one() == 0
        with rolled_back_session(app) as session:
            assert session.scalar(sa.select(sa.func.count()).where(Unit.name.startswith(name))) == 0
    finally:
        other.dispose()
