"""Scheduled 考评: the quarter that ended is scored at its check point once, the running quarter
once a day, the month's 抽查 drawn once; each step that did something is audited; the scheduler
registers the job and the worker knows its task; ``flask scoring run`` does the same for a period."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from apscheduler.util import ref_to_obj

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.timefmt import today_cn
from oversight.models import FindingKind
from oversight.scoring import schedule, service, spotcheck
from oversight.scoring.models import AccountScore, ScoringRules, SpotCheckDraw
from tasks import jobs
from tasks.celery_app import celery_init_app
from tests.oversight.test_scoring import _new_version, finding, fresh_account


@pytest.fixture
def site(make_unit, make_user):
    county = make_unit("定时考评测试县人民政府")
    bureau = make_unit("定时考评测试县教育局", parent=county)
    other = make_unit("定时考评测试县卫健局", parent=county)
    return {"bureau": bureau, "other": other, "users": {"admin": make_user(Role.admin, unit=county)}}


def _count(db_session, model, *where):
    return db_session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _audits(db_session, action):
    return list(db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_scheduled_round_scores_check_point_and_running_quarter_once(db_session, site, make_account):
    ok = fresh_account(make_account, site["bureau"])
    bad = fresh_account(make_account, site["other"])
    finding(db_session, bad, FindingKind.no_interaction_channel)  # 单项否决: interaction
    today = today_cn()
    last_q, this_q = schedule.previous_quarter(today), schedule.quarter_of(today)
    last = service.parse_period(last_q)
    audits_before = len(_audits(db_session, "scoring:scheduled"))

    steps = schedule.run()
    db_session.commit()
    checkpoint = next(s for s in steps if s["step"] == "checkpoint")
    running = next(s for s in steps if s["step"] == "provisional")
    assert checkpoint["period"] == last_q and checkpoint["scored"] >= 2
    assert running["period"] == this_q and running["scored"] >= 2
    ours = {ok.id, bad.id}
    closed = list(
        db_session.scalars(
            sa.select(AccountScore).where(AccountScore.period == last_q, AccountScore.account_id.in_(ours))
        )
    )
    # scored at the quarter's check point (its end), by the system, with the rules version recorded
    assert len(closed) == 2 and {s.checkpoint_at for s in closed} == {last.end_utc}
    assert {s.computed_by_label for s in closed} == {schedule.SYSTEM_LABEL}
    assert all(s.rules_version == "2026.12-default" for s in closed)
    now_scores = {
        s.account_id: s
        for s in db_session.scalars(
            sa.select(AccountScore).where(AccountScore.period == this_q, AccountScore.account_id.in_(ours))
        )
    }
    assert now_scores[ok.id].passed and not now_scores[ok.id].vetoed
    assert now_scores[bad.id].vetoed and now_scores[bad.id].veto_items[0]["key"] == "interaction"
    entries = _audits(db_session, "scoring:scheduled")[audits_before:]
    assert [e.object_id for e in entries] == [last_q, this_q]
    assert all(e.actor_label == schedule.SYSTEM_LABEL for e in entries)

    # a second round the same day: nothing new, no duplicate rows, no audit entry
    rows = _count(db_session, AccountScore, AccountScore.account_id.in_(ours))
    again = schedule.run()
    db_session.commit()
    assert [s.get("scored", 0) for s in again if s["step"] != "spot"] == [0, 0]
    assert _count(db_session, AccountScore, AccountScore.account_id.in_(ours)) == rows == 4
    assert len(_audits(db_session, "scoring:scheduled")) == audits_before + 2


def test_new_rules_version_does_not_rescore_a_closed_quarter(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    today = today_cn()
    last_q = schedule.previous_quarter(today)
    schedule.run()
    service.load_rules(_new_version("2027.sched", 12), site["users"]["admin"])
    db_session.commit()
    steps = schedule.run()
    db_session.commit()
    by_step = {s["step"]: s for s in steps}
    assert by_step["checkpoint"]["scored"] == 0
    # the running quarter gets a row of the new version; the old version's row stays
    assert by_step["provisional"]["scored"] >= 1 and by_step["provisional"]["rules_versions"] == ["2027.sched"]
    versions = set(
        db_session.scalars(
            sa.select(AccountScore.rules_version).where(
                AccountScore.account_id == account.id, AccountScore.period == schedule.quarter_of(today)
            )
        )
    )
    assert versions == {"2026.12-default", "2027.sched"}
    closed = set(
        db_session.scalars(
            sa.select(AccountScore.rules_version).where(
                AccountScore.account_id == account.id, AccountScore.period == last_q
            )
        )
    )
    assert closed == {"2026.12-default"}


def test_scheduled_draw_once_a_month_from_the_setting(db_session, site, make_account, app, monkeypatch):
    accounts = [fresh_account(make_account, site["bureau"]) for _ in range(4)]
    month = today_cn().strftime("%Y-%m")
    monkeypatch.setitem(app.config, "SPOT_CHECK_DRAW_DAY", 1)
    first = [s for s in schedule.run() if s["step"] == "spot"]
    db_session.commit()
    assert first[0]["drawn"] and first[0]["month"] == month
    draw = db_session.scalar(sa.select(SpotCheckDraw).where(SpotCheckDraw.month == month))
    ours = [i for i in draw.items if i.account_id in {a.id for a in accounts}]
    assert len(ours) == 2  # 50 % of the bureau's 4 accounts
    assert draw.drawn_by_id is None and spotcheck.verify_draw(draw)
    [entry] = [e for e in _audits(db_session, "scoring:spot:draw") if e.object_id == str(draw.id)]
    assert entry.actor_label == schedule.SYSTEM_LABEL
    second = [s for s in schedule.run() if s["step"] == "spot"]
    assert second[0]["drawn"] is False and second[0]["skipped"] == "本月已抽取"
    assert _count(db_session, SpotCheckDraw, SpotCheckDraw.month == month) == 1


def test_no_draw_before_the_draw_day(db_session, site, make_account, app, monkeypatch):
    fresh_account(make_account, site["bureau"])
    monkeypatch.setitem(app.config, "SPOT_CHECK_DRAW_DAY", today_cn().day + 1)
    assert not [s for s in schedule.run() if s["step"] == "spot"]


def test_cli_runs_a_given_period(app, db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    last_q = schedule.previous_quarter(today_cn())
    runner = app.test_cli_runner()
    out = runner.invoke(args=["scoring", "run", "--period", last_q])
    assert out.exit_code == 0, out.output
    assert "检查点计分：新计算" in out.output
    score = db_session.scalar(
        sa.select(AccountScore).where(AccountScore.account_id == account.id, AccountScore.period == last_q)
    )
    assert score is not None and score.checkpoint_at == service.parse_period(last_q).end_utc
    out = runner.invoke(args=["scoring", "run", "--period", last_q])
    assert out.exit_code == 0 and "新计算 0 个账号" in out.output
    out = runner.invoke(args=["scoring", "run", "--period", "2031Q1"])
    assert out.exit_code != 0 and "尚未开始" in out.output
    assert db_session.scalar(sa.select(sa.func.count(ScoringRules.id))) >= 1


def test_scheduler_registers_the_job_and_the_worker_knows_the_tasks(app):

    got = {job_id: (path, trigger) for job_id, path, trigger in jobs.periodic_jobs(app)}
    path, trigger = got["scoring-scheduled"]
    assert trigger == {"trigger": "cron", "hour": 1, "minute": 40}
    assert callable(ref_to_obj(path))
    celery = app.extensions.get("celery") or celery_init_app(app)
    celery.loader.import_default_modules()
    assert {"tasks.scoring.scheduled", "tasks.workorders.sweep", "tasks.notify.reminders"} <= set(celery.tasks)


def test_check_point_of_a_closed_quarter_is_its_end():
    p = service.parse_period("2026Q3")
    assert p.checkpoint(utcnow()) == p.end_utc
    assert p.checkpoint(p.end_utc - timedelta(days=1)) < p.end_utc
