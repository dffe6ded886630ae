# ruff: noqa: F811 - the fixtures (unit) are imported and then requested
"""Issue 21 acceptance audit: a real dictionary change (a term added to the checks' data file)
makes the hourly background task re-check the stored posts within ``INSPECTION_RESCAN_DAYS`` and
report the new hit, against the sandbox over HTTP; its twin — a post without the term — raises
nothing, and a second run finds nothing old left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moderation.checks.pipeline import configure_default_pipeline, reset_default_pipeline
from oversight.inspection import service
from oversight.inspection.judge import lexicon_version
from oversight.models import FindingKind
from tasks import inspection as inspection_tasks
from tests.oversight.test_inspection import app_post, findings, fresh_rate_limiter, plant, posts, unit  # noqa: F401

TERM = "乙丙测试词"


@pytest.fixture
def terms(tmp_path: Path):
    path = tmp_path / "sensitive_terms.txt"
    path.write_text("甲丁测试词\tblock\t测试\n", encoding="utf-8")
    configure_default_pipeline(tmp_path, reload_interval=0)
    yield path
    reset_default_pipeline()


def test_a_term_added_to_the_dictionary_is_reported_by_the_background_rescan(
    app, db_session, sandbox, unit, make_account, terms, monkeypatch
):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    with_term = app_post(sandbox, "weibo", account.platform_uid, f"本周活动中出现了{TERM}，请注意")
    without = app_post(sandbox, "weibo", account.platform_uid, "本周天气晴好，注意防晒")
    service.inspect_account(account.id)
    before = lexicon_version()
    assert findings(db_session, account, FindingKind.post_check_hit) == []  # the term is not known yet

    terms.write_text(f"甲丁测试词\tblock\t测试\n{TERM}\tblock\t测试\n", encoding="utf-8")
    st = terms.stat()
    os.utime(terms, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert lexicon_version() != before

    queued = []
    monkeypatch.setattr(inspection_tasks.rescan, "apply_async", lambda args, **kw: queued.append(args))
    assert inspection_tasks.rescan.run() == {"shards": 2}  # INSPECTION_RESCAN_WORKERS = 2 by default
    assert sorted(shard for *_, shard in queued) == [[0, 2], [1, 2]]
    done = [inspection_tasks.rescan.run(*args) for args in queued]
    assert sum(d["scanned"] for d in done) == 2 and sum(d["created"] for d in done) == 1

    (f,) = findings(db_session, account, FindingKind.post_check_hit)
    assert f.evidence["post_id"] == with_term["post_id"] and f"【{TERM}】" in f.evidence["excerpt"]
    stored = posts(db_session, account)
    assert stored[without["post_id"]].check_hits == []  # its twin: nothing
    assert {lp.checked_version for lp in stored.values()} == {lexicon_version()}
    assert inspection_tasks.rescan.run(20, 0, [0, 1])["scanned"] == 0  # nothing old is left
