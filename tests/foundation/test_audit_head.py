"""`flask audit verify --expect-head/--expect-count`: removal of the newest rows is detected."""

from __future__ import annotations

from audit import service as audit
from tests.foundation.test_audit import _entries, _tamper


def _verify(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def test_expected_head_and_count_match(app, db_session):
    _entries(3)
    count, problem, head = audit.verify()
    assert problem is None
    result = _verify(app, "--expect-head", head.upper(), "--expect-count", str(count))
    assert result.exit_code == 0, result.output
    assert "审计链完整" in result.output and head in result.output


def test_removed_newest_rows_pass_the_chain_but_not_the_expectations(app, db_session):
    entries = _entries(4)
    count, _, head = audit.verify()
    _tamper(db_session, "DELETE FROM audit_entries WHERE id >= :id", id=entries[2].id)

    plain = _verify(app)  # the chain alone cannot tell: what is left is intact
    assert plain.exit_code == 0, plain.output

    by_head = _verify(app, "--expect-head", head)
    assert by_head.exit_code == 1
    assert "链头哈希不符" in by_head.output and "head hash mismatch" in by_head.output
    assert head in by_head.output and entries[1].hash in by_head.output
    assert "no longer in the chain" in by_head.output

    by_count = _verify(app, "--expect-count", str(count))
    assert by_count.exit_code == 1
    assert f"期望 {count} 条，实际 {count - 2} 条" in by_count.output
    assert f"entry count mismatch: expected {count}, found {count - 2}" in by_count.output


def test_rows_added_since_are_named(app, db_session):
    first = _entries(2)
    count, _, head = audit.verify()
    _entries(2)
    result = _verify(app, "--expect-head", head, "--expect-count", str(count))
    assert result.exit_code == 1
    assert f"id={first[-1].id}" in result.output and "2 entries follow it" in result.output
    assert f"expected {count}, found {count + 2}" in result.output


def test_broken_chain_and_expectations_are_all_reported(app, db_session):
    entries = _entries(3)
    count, _, head = audit.verify()
    _tamper(db_session, "UPDATE audit_entries SET action = 'test:thing:forged' WHERE id = :id", id=entries[0].id)
    result = _verify(app, "--expect-head", head, "--expect-count", str(count + 1))
    assert result.exit_code == 1
    assert f"第一条异常记录 id={entries[0].id}" in result.output
    assert "head hash mismatch" not in result.output  # the head itself is still the expected one
    assert f"expected {count + 1}, found {count}" in result.output


def test_bad_arguments_are_usage_errors(app, db_session):
    bad_hash = _verify(app, "--expect-head", "abc123")
    assert bad_hash.exit_code == 2 and "64" in bad_hash.output
    bad_count = _verify(app, "--expect-count", "-1")
    assert bad_count.exit_code == 2
