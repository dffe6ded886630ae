"""Per-test rollback isolation really isolates, even when code under test commits."""

from __future__ import annotations

import sqlalchemy as sa

from registry.models import Unit

MARKER = "隔离性测试单位"


def test_a_commit_inside_a_test(db_session, make_unit):
    make_unit(MARKER)
    db_session.commit()  # releases the savepoint only
    assert db_session.scalar(sa.select(sa.func.count()).where(Unit.name == MARKER)) == 1


def test_b_previous_commit_is_gone(db_session):
    assert db_session.scalar(sa.select(sa.func.count()).where(Unit.name == MARKER)) == 0


def test_c_view_commit_is_rolled_back_too(client, db_session, make_user, api_as):
    from auth.models import Role

    admin = make_user(Role.admin)
    response = api_as(admin).post("/api/v1/units", json={"name": MARKER + "2"})
    assert response.status_code == 201


def test_d_view_commit_is_gone(db_session):
    assert db_session.scalar(sa.select(sa.func.count()).where(Unit.name == MARKER + "2")) == 0
