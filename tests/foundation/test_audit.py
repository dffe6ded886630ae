from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import sqlalchemy as sa

from audit import service as audit
from audit.models import AuditEntry
from devkit import processes
from devkit.apps import make_test_app
from extensions import db
from registry.models import Unit


def _entries(n: int) -> list[AuditEntry]:
    entries = [audit.record("test:thing:do", object_type="things", object_id=i, after={"i": i}) for i in range(n)]
    db.session.commit()  # entries are chained (and get their ids) when the transaction commits
    return entries


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


def _actions_since(db_session, since: int) -> list[str]:
    return list(db_session.scalars(sa.select(AuditEntry.action).where(AuditEntry.id > since).order_by(AuditEntry.id)))


def _record_in_failing_savepoint(db_session) -> None:
    with db_session.begin_nested():
        audit.record("test:thing:in_failed_savepoint", object_type="things", object_id=2)
        raise ValueError("the savepoint's work is undone")


def test_entries_are_chained_at_commit_and_dropped_with_what_rolls_back(db_session):
    db_session.commit()
    since = db_session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0
    kept = audit.record("test:thing:kept", object_type="things", object_id=1)
    assert kept.hash is None and audit.pending() == [kept]  # not chained before the commit
    with pytest.raises(ValueError, match="undone"):
        _record_in_failing_savepoint(db_session)
    with db_session.begin_nested():
        audit.record("test:thing:in_savepoint", object_type="things", object_id=3)
    db_session.commit()
    assert _actions_since(db_session, since) == ["test:thing:kept", "test:thing:in_savepoint"]
    assert kept.id is not None and len(kept.hash) == 64 and audit.pending() == []

    audit.record("test:thing:rolled_back", object_type="things", object_id=4)
    db_session.rollback()
    db_session.commit()
    assert _actions_since(db_session, since) == ["test:thing:kept", "test:thing:in_savepoint"]
    assert audit.verify()[1] is None


@pytest.mark.integration
def test_concurrent_transactions_hold_the_chain_only_at_commit_and_never_fork(migrated_postgres: str) -> None:
    """Transaction A records first but commits last; B records and commits in between. B is not
    blocked by A's open transaction, and the chain follows commit order without a fork."""

    with processes.fresh_postgres_database(template=migrated_postgres) as url:
        app = make_test_app(url)
        a_recorded, b_committed = threading.Event(), threading.Event()

        def run(name: str, wait_for: threading.Event, then: threading.Event) -> None:
            with app.app_context():
                db.session.execute(sa.text("SELECT 1"))  # an open transaction, as a task has
                audit.record(f"test:{name}:do", object_type="things", object_id=name)
                if name == "a":
                    then.set()
                assert wait_for.wait(20), f"{name} waited in vain"
                db.session.commit()
                then.set()

        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(run, "a", b_committed, a_recorded)
            b = pool.submit(run, "b", a_recorded, b_committed)
            b.result(30), a.result(30)
        with app.app_context():
            rows = db.session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
            count, problem, _head = audit.verify()
        with app.app_context():
            db.engine.dispose()  # before the database is dropped
        assert rows == ["test:b:do", "test:a:do"] and problem is None and count == 2


def test_hash_is_the_canonical_json_of_the_whole_row():
    """prefix + prev_hash is exactly the sorted-key JSON of the row (chains written before the
    prefix form, and by PostgreSQL's audit_append, verify alike)."""

    entry = AuditEntry(
        at=datetime(2026, 12, 2, 9, 30, 1, 5),
        actor_id=None,
        actor_label="system",
        action="test:thing:do",
        object_type="things",
        object_id="7",
        before=None,
        after={"名称": '青禾"县"\\政府', "list": [1, {"b": None}]},
    )
    whole = {
        "at": "2026-12-02T09:30:01.000005",
        "actor_id": None,
        "actor_label": "system",
        "action": "test:thing:do",
        "object_type": "things",
        "object_id": "7",
        "before": None,
        "after": entry.after,
        "prev_hash": "ab" * 32,
    }
    raw = json.dumps(whole, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert audit.compute_hash(entry, "ab" * 32) == hashlib.sha256(raw.encode("utf-8")).hexdigest()


def test_entries_with_chinese_quotes_and_nesting_verify(db_session):
    """On PostgreSQL the hash is computed in the database (audit_append); it must be the one
    verification computes here."""
    entries = [
        audit.record(
            "test:thing:rename",
            object_type="things",
            object_id="青禾-1",
            before={"name": '旧名"称"\\', "tags": ["政务", None]},
            after={"name": "新名称 ✓", "nested": {"z": 1, "a": [True, 2.5]}},
            actor_label="运营人员",
        ),
        audit.record("test:thing:close", object_type="things", object_id=None),
    ]
    db_session.commit()
    db_session.expire_all()
    for entry in entries:
        stored = db_session.get(AuditEntry, entry.id)
        assert stored.hash == entry.hash == audit.compute_hash(stored, stored.prev_hash)
    assert db_session.get(AuditEntry, entries[1].id).prev_hash == entries[0].hash
    assert audit.verify()[1] is None


def test_a_failed_write_in_a_savepoint_drops_its_entry(db_session, make_unit):
    """A flush that fails inside a savepoint (here a duplicate key) undoes the savepoint; its
    audit entry goes with it even when the caller carries on and commits."""

    existing = make_unit("审计测试重复单位")
    db_session.commit()
    since = db_session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0
    with pytest.raises(sa.exc.IntegrityError):
        _add_duplicate_unit(db_session, Unit, existing)
    audit.record("test:thing:after", object_type="things", object_id=1)
    db_session.commit()
    assert _actions_since(db_session, since) == ["test:thing:after"]


def _add_duplicate_unit(db_session, unit_cls, existing) -> None:
    with db_session.begin_nested():
        audit.record("test:unit:duplicate", object_type="units", object_id=existing.id)
        db_session.add(unit_cls(name=existing.name, kind=existing.kind, region=existing.region))
        db_session.flush()


def test_closing_the_session_forgets_uncommitted_entries(db_session):
    db_session.commit()
    since = db_session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0
    audit.record("test:thing:closed_away", object_type="things", object_id=1)
    db_session.close()
    assert audit.pending() == []
    db_session.commit()
    assert _actions_since(db_session, since) == []
