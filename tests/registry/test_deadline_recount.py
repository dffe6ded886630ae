"""`flask registry recount-deadlines --year Y`: once the office enters a year's holidays, stored
备案时限 that were counted Monday–Friday through that year follow the real calendar.

2031 is in neither chinesecalendar 1.11 nor the shipped file. The office's notice (the fixture)
makes 2031-01-01..03 holidays and Saturday 01-04 a workday.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.errors import Invalid
from registry import recount
from registry.models import AccountEvent, AccountStatus
from tests.conftest import PASSWORD
from tests.registry.test_workday_estimates import NOTICE_2031


@pytest.fixture
def office_notice(app, tmp_path, monkeypatch):
    path = tmp_path / "holidays.csv"
    monkeypatch.setitem(app.config, "FILING_DEADLINE_WORKDAYS", 5)

    def enter() -> None:
        path.write_text(NOTICE_2031, encoding="utf-8")
        monkeypatch.setitem(app.config, "EXTRA_HOLIDAYS_FILE", str(path))

    return enter


@pytest.fixture
def ledger(db_session, make_unit, make_account, office_notice):
    unit = make_unit("青禾县人民政府")

    def make(name, **kw):  # type: ignore[no-untyped-def]
        return make_account(unit, "weibo", name=name, credentials=False, **kw)

    accounts = {
        # counted Mon–Fri from Monday 2030-12-30: 12-31, 01-01, 01-02, 01-03, 01-06
        "opening": make(
            "开设中", status=AccountStatus.applying, opened_on=date(2030, 12, 30), filing_due_on=date(2031, 1, 6)
        ),
        # counted Mon–Fri from the closing day, Tuesday 2030-12-31: 01-01 … 01-07
        "closed": make(
            "已在平台关停",
            status=AccountStatus.closed_on_platform,
            closed_on=date(2030, 12, 31),
            filing_due_on=date(2031, 1, 7),
        ),
        # entered by hand, not what any count gives: left alone
        "by_hand": make(
            "手工录入", status=AccountStatus.active, opened_on=date(2030, 12, 30), filing_due_on=date(2031, 1, 20)
        ),
        # counted with real 2026 data: not touched by a 2031 recount
        "exact": make(
            "已有数据", status=AccountStatus.active, opened_on=date(2026, 6, 1), filing_due_on=date(2026, 6, 8)
        ),
    }
    # a change requested on Monday 2030-12-30 (Beijing; 23:30 UTC the day before): counted from
    # the day of the event that set the deadline
    accounts["changing"] = make("变更中", status=AccountStatus.changing, filing_due_on=date(2031, 1, 6))
    db_session.add(
        AccountEvent(
            account_id=accounts["changing"].id,
            action="request_change",
            changes={"filing_due_on": [None, "2031-01-06"], "name": ["旧名", "变更中"]},
            at=datetime(2030, 12, 29, 23, 30),
        )
    )
    db_session.commit()  # the CLI rolls back a dry run; what the office had stays
    return accounts


def _due(db_session, account) -> date:
    db_session.expire_all()
    return db_session.get(type(account), account.id).filing_due_on


def test_dry_run_lists_changes_and_writes_nothing(app, db_session, ledger, office_notice):
    office_notice()
    changed = recount.recount_filing_deadlines(2031, dry_run=True)
    assert {(c.account_id, c.old, c.new) for c in changed} == {
        (ledger["opening"].id, date(2031, 1, 6), date(2031, 1, 8)),
        (ledger["closed"].id, date(2031, 1, 7), date(2031, 1, 9)),
        (ledger["changing"].id, date(2031, 1, 6), date(2031, 1, 8)),
    }
    db_session.rollback()
    assert _due(db_session, ledger["opening"]) == date(2031, 1, 6)
    assert not db_session.scalars(sa.select(AccountEvent).where(AccountEvent.action == "recount_deadline")).all()


def test_estimates_follow_the_notice_with_history_and_audit(app, db_session, ledger, office_notice):
    office_notice()
    changed = recount.recount_filing_deadlines(2031)
    db_session.commit()
    assert len(changed) == 3
    assert _due(db_session, ledger["changing"]) == date(2031, 1, 8)
    assert _due(db_session, ledger["opening"]) == date(2031, 1, 8)  # 12-31, 01-04 (Sat, 班), 01-06, 01-07, 01-08
    assert _due(db_session, ledger["closed"]) == date(2031, 1, 9)
    assert _due(db_session, ledger["by_hand"]) == date(2031, 1, 20)
    assert _due(db_session, ledger["exact"]) == date(2026, 6, 8)
    [event] = db_session.scalars(
        sa.select(AccountEvent).where(
            AccountEvent.account_id == ledger["opening"].id, AccountEvent.action == "recount_deadline"
        )
    ).all()
    assert event.changes == {"filing_due_on": ["2031-01-06", "2031-01-08"]} and "2031" in event.reason
    audits = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "account:deadline:recount")).all()
    assert {a.object_id for a in audits} == {str(ledger[k].id) for k in ("opening", "closed", "changing")}
    # a second run finds nothing left to move
    assert recount.recount_filing_deadlines(2031) == []


def test_a_year_without_holiday_data_is_refused(app, db_session, ledger):
    with pytest.raises(Invalid, match="2031 年的节假日安排尚未录入"):
        recount.recount_filing_deadlines(2031)
    assert _due(db_session, ledger["opening"]) == date(2031, 1, 6)


def test_cli_dry_run_then_write(app, db_session, ledger, office_notice):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["registry", "recount-deadlines", "--year", "2031"])
    assert refused.exit_code == 1 and "尚未录入" in refused.output
    office_notice()
    dry = runner.invoke(args=["registry", "recount-deadlines", "--year", "2031", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2031-01-06 → 2031-01-08" in dry.output and "试算：3 个备案时限将改变（未写入）" in dry.output
    assert _due(db_session, ledger["opening"]) == date(2031, 1, 6)
    done = runner.invoke(args=["registry", "recount-deadlines", "--year", "2031"])
    assert done.exit_code == 0 and "已重新计算：3 个备案时限改变" in done.output
    assert _due(db_session, ledger["opening"]) == date(2031, 1, 8)


def test_history_names_the_recount_and_a_later_recount_counts_from_the_original_day(
    app, client, db_session, ledger, office_notice, make_user
):
    office_notice()
    recount.recount_filing_deadlines(2031)
    db_session.commit()
    auditor = make_user(Role.auditor)
    db_session.commit()
    assert client.post("/login", data={"username": auditor.username, "password": PASSWORD}).status_code == 302
    html = client.get(f"/registry/accounts/{ledger['changing'].id}").get_data(as_text=True)
    assert "重算备案时限" in html and "recount_deadline" not in html
    # the recount moved the date; the count still began on the day the change was requested
    history = recount._deadline_events([ledger["changing"].id])[ledger["changing"].id]
    assert history[0][0] == "recount_deadline"
    assert recount._day_deadline_set(history, date(2031, 1, 8)) == date(2030, 12, 30)
