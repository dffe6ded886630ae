from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit import service as audit
from audit.models import AuditEntry


def _entries(n: int) -> list[AuditEntry]:
    return [audit.record("test:thing:do", object_type="things", object_id=i, after={"i": i}) for i in range(n)]


def _tamper(db_session, sql: str, **params) -> None:
    """Change a row behind the app's back, as a DBA could (PostgreSQL: bypass the trigger)."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    db_session.execute(sa.text(sql), params)
    db_session.expire_all()


def test_chain_intact(app, db_session):
    _entries(5)
    count, problem, head = audit.verify()
    assert problem is None and count >= 5 and len(head) == 64
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "审计链完整" in result.output


def test_altered_row_is_named(app, db_session):
    entries = _entries(4)
    victim = entries[1]
    _tamper(db_session, "UPDATE audit_entries SET action = 'test:thing:forged' WHERE id = :id", id=victim.id)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"id={victim.id}" in result.output


def test_deleted_row_breaks_the_next(app, db_session):
    entries = _entries(4)
    _tamper(db_session, "DELETE FROM audit_entries WHERE id = :id", id=entries[1].id)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"id={entries[2].id}" in result.output


def test_postgres_refuses_update_and_delete(db_session):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("database-level protection exists on PostgreSQL only")
    entry = _entries(1)[0]
    nested = db_session.begin_nested()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db_session.execute(sa.text("UPDATE audit_entries SET action='x' WHERE id=:id"), {"id": entry.id})
    nested.rollback()
