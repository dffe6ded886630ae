"""Discovery: list imports (all-or-nothing, row errors), snapshots, reconciliation, idempotency."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from oversight import discovery
from oversight import findings as service
from oversight.discovery import ImportRowsInvalid, parse_import
from oversight.findings import today_cn
from oversight.models import DiscoveredAccount, Finding, FindingKind, FindingStatus
from platforms.ratelimit import InMemoryRateLimiter
from platforms.types import PlatformAccount
from registry.models import AccountStatus

HEADER = "平台,账号ID,账号名称,认证主体,认证,主页链接,粉丝数,最近发文时间\n"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "\n".join(rows) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------- parsing


def test_parse_csv_with_chinese_headers(app):
    data = csv_bytes(
        "微博,1234567890,青禾发布,青禾县人民政府,是,https://weibo.com/u/1234567890,1.2万,2026-05-01 09:30",
        "微信公众号,gh_abc,青禾教育,青禾县教育局,否,,300,2026/05/02",
        "douyin,dy001,青禾文旅,,,,,",
    )
    with app.app_context():
        rows = parse_import(data, "list.csv")
    assert [r.platform for r in rows] == ["weibo", "wechat", "douyin"]
    first = rows[0]
    assert first.uid == "1234567890" and first.name == "青禾发布" and first.subject == "青禾县人民政府"
    assert first.verified is True and first.followers == 12000
    assert first.last_post_at == datetime(2026, 5, 1, 1, 30)  # Beijing 09:30 → UTC
    assert rows[1].verified is False and rows[1].last_post_at == datetime(2026, 5, 1, 16, 0)
    assert rows[2].subject is None and rows[2].verified is None
    assert {r.source for r in rows} == {"import"}


def test_parse_gbk_csv(app):
    data = csv_bytes("微博,1,青禾发布,青禾县人民政府,是,,,").decode("utf-8").encode("gb18030")
    with app.app_context():
        (row,) = parse_import(data, "gbk.csv")
    assert row.name == "青禾发布"


def test_parse_xlsx(app):
    wb = Workbook()
    ws = wb.active
    ws.append(["平台", "账号ID", "账号名称", "认证主体", "粉丝数", "最近发文时间", "状态"])
    ws.append(["抖音", 9988776655, "青禾应急", "青禾县应急管理局", 1500, datetime(2026, 4, 30, 20, 0), "正常"])
    ws.append(["头条", "tt01", "青禾头条", "青禾县人民政府", None, None, "已注销"])
    buf = io.BytesIO()
    wb.save(buf)
    with app.app_context():
        rows = parse_import(buf.getvalue(), "list.xlsx")
    assert rows[0].uid == "9988776655" and rows[0].followers == 1500
    assert rows[0].last_post_at == datetime(2026, 4, 30, 12, 0)
    assert rows[0].status == "active"
    assert rows[1].platform == "toutiao" and rows[1].status == "deregistered"


def test_row_errors_name_row_column_and_reason(app):
    data = csv_bytes(
        "微博,111,好的账号,青禾县人民政府,是,,10,2026-05-01",
        "脸书,222,未知平台,,,,,",
        "微博,,缺ID,,,,,",
        "微博,333,坏粉丝数,,,,很多,",
        "微博,444,坏时间,,,,,昨天下午",
        "微博,111,重复,,,,,",
        "微博,555,坏认证,,也许,ftp://x,,",
    )
    with app.app_context(), pytest.raises(ImportRowsInvalid) as info:
        parse_import(data, "bad.csv")
    errors = info.value.errors
    got = {(e["row"], e["column"]) for e in errors}
    assert got == {
        (3, "平台"),
        (4, "账号ID"),
        (5, "粉丝数"),
        (6, "最近发文时间"),
        (7, "账号ID"),
        (8, "认证"),
        (8, "主页链接"),
    }
    dup = next(e for e in errors if e["row"] == 7)
    assert "第 2 行" in dup["reason"]
    assert info.value.status_code == 422
    assert info.value.detail["errors"] == errors


def test_missing_required_header(app):
    with app.app_context(), pytest.raises(ImportRowsInvalid) as info:
        parse_import("平台,账号名称\n微博,青禾发布\n".encode(), "x.csv")
    assert info.value.errors == [{"row": 1, "column": "账号ID", "reason": "缺少必填列“账号ID”"}]


def test_future_time_and_empty_file(app):
    future = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    with app.app_context():
        with pytest.raises(ImportRowsInvalid) as info:
            parse_import(csv_bytes(f"微博,1,x号,,,,,{future}"), "f.csv")
        assert info.value.errors[0]["column"] == "最近发文时间"
        with pytest.raises(ImportRowsInvalid):
            parse_import(b"", "empty.csv")
        with pytest.raises(ImportRowsInvalid):
            parse_import(csv_bytes(), "header-only.csv")


def test_bad_import_writes_nothing(db_session, make_unit):
    make_unit("青禾县人民政府", region="青禾县")
    before = (
        db_session.scalar(sa.select(sa.func.count(DiscoveredAccount.id))),
        db_session.scalar(sa.select(sa.func.count(Finding.id))),
        db_session.scalar(sa.select(sa.func.count(AuditEntry.id))),
    )
    data = csv_bytes("微博,1,青禾发布,青禾县人民政府,是,,,", "微博,2,坏,,,,-5,")
    with pytest.raises(ImportRowsInvalid):
        discovery.import_list(data, "bad.csv")
    after = (
        db_session.scalar(sa.select(sa.func.count(DiscoveredAccount.id))),
        db_session.scalar(sa.select(sa.func.count(Finding.id))),
        db_session.scalar(sa.select(sa.func.count(AuditEntry.id))),
    )
    assert after == before


# ----------------------------------------------------------------------------- record + reconcile


@pytest.fixture
def county(make_unit):
    return make_unit("青禾县人民政府", region="青禾县")


def seen(uid, name, subject, platform="weibo", **kw):
    return PlatformAccount(platform=platform, uid=uid, name=name, subject=subject, verified=True, **kw)


def kinds(db_session):
    return sorted((f.kind.value, f.status.value) for f in db_session.scalars(sa.select(Finding)))


def test_unregistered_and_idempotent(db_session, county, make_unit):
    edu = make_unit("青禾县教育局", parent=county, region="青禾县")
    accounts = [seen("1001", "青禾教育", "青禾县教育局"), seen("1002", "青禾美食", "青禾某某餐饮有限公司")]
    first = discovery.record(accounts, source="import", source_ref="a.csv")
    assert first["findings"]["created"] == 1
    db_session.commit()  # each run is its own transaction (the task or CLI commits it)
    (f,) = db_session.scalars(sa.select(Finding)).all()
    assert f.kind is FindingKind.unregistered and f.unit_id == edu.id and f.discovered_id is not None
    assert db_session.scalar(sa.select(sa.func.count(DiscoveredAccount.id))) == 2
    second = discovery.record(accounts, source="import", source_ref="a.csv")
    assert second["findings"]["created"] == 0 and second["findings"]["updated"] == 1
    assert db_session.scalar(sa.select(sa.func.count(Finding.id))) == 1
    assert db_session.scalar(sa.select(sa.func.count(DiscoveredAccount.id))) == 2
    db_session.commit()
    runs = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "discovery:run")).all()
    assert len(runs) == 2 and runs[0].after["created_ids"] == [f.id]


def test_mismatches_of_registered_accounts(db_session, county, make_unit, make_account):
    other = make_unit("邻县人民政府", region="邻县")
    account = make_account(county, "weibo", uid="2001", name="青禾发布")
    discovery.record([seen("2001", "青禾县旅游美食推荐", other.name)], source="search")
    got = {f.kind: f for f in db_session.scalars(sa.select(Finding))}
    assert set(got) == {FindingKind.name_mismatch, FindingKind.subject_mismatch}
    assert got[FindingKind.name_mismatch].account_id == account.id
    assert got[FindingKind.subject_mismatch].evidence["subject"] == "邻县人民政府"


def test_dismissed_stays_dismissed_unless_new_evidence(db_session, county, make_unit, make_user):
    make_unit("青禾县教育局", parent=county, region="青禾县")
    auditor = make_user(Role.auditor)
    base = seen("3001", "青禾教育", "青禾县教育局", last_post_at=utcnow() - timedelta(days=3), followers=10)
    discovery.record([base], source="search")
    (f,) = db_session.scalars(sa.select(Finding)).all()
    service.act(f, "dismiss", auditor, "该账号为学校家委会自建，不属于政务新媒体")
    # Same account, newer post and more followers: not new evidence for this kind.
    busier = seen("3001", "青禾教育", "青禾县教育局", last_post_at=utcnow(), followers=99)
    summary = discovery.record([busier], source="search")
    assert summary["findings"]["unchanged_closed"] == 1
    assert f.status is FindingStatus.dismissed and f.reason.startswith("该账号")
    # The platform now shows another 认证主体 spelling / name: material change → reopened.
    renamed = seen("3001", "青禾县教育局发布", "青禾县教育局")
    summary = discovery.record([renamed], source="search")
    assert summary["findings"]["reopened"] == 1
    assert f.status is FindingStatus.open and f.reason is None
    assert f.evidence["history"][0]["status"] == "dismissed"
    assert f.evidence["reopened_because"] == "evidence_changed"


def test_closed_but_active_reopens_on_post_after_decision(db_session, county, make_account, make_user):
    auditor = make_user(Role.auditor)
    closed_on = today_cn() - timedelta(days=60)
    make_account(county, "weibo", uid="4001", name="青禾旧号", status=AccountStatus.closed, closed_on=closed_on)
    old_post = utcnow() - timedelta(days=10)
    discovery.record([seen("4001", "青禾旧号", "青禾县人民政府", last_post_at=old_post)], source="search")
    (f,) = db_session.scalars(sa.select(Finding)).all()
    assert f.kind is FindingKind.closed_but_active and f.confidence == 1.0
    service.act(f, "resolve", auditor, "已联系平台注销")
    discovery.record([seen("4001", "青禾旧号", "青禾县人民政府", last_post_at=old_post)], source="search")
    assert f.status is FindingStatus.resolved
    discovery.record(
        [seen("4001", "青禾旧号", "青禾县人民政府", last_post_at=utcnow() + timedelta(minutes=1))], source="search"
    )
    assert f.status is FindingStatus.open and f.evidence["reopened_because"] == "posted_after_decision"


def test_reopened_when_a_gone_closed_account_comes_back(db_session, county, make_account):
    closed_on = today_cn() - timedelta(days=30)
    account = make_account(
        county, "weibo", uid="5001", name="青禾老号", status=AccountStatus.closed, closed_on=closed_on
    )
    gone = seen("5001", "青禾老号", "青禾县人民政府", status="deregistered")
    summary = discovery.record([gone], source="search")
    assert summary["had_history"] is False and summary["findings"]["total"] == 0
    db_session.commit()  # each run is its own transaction (the task or CLI commits it)
    back = seen("5001", "青禾老号", "青禾县人民政府", status="active", last_post_at=utcnow())
    summary = discovery.record([back], source="search")
    assert summary["had_history"] is True
    got = {f.kind: f for f in db_session.scalars(sa.select(Finding))}
    assert FindingKind.reopened in got
    assert got[FindingKind.reopened].account_id == account.id


def test_registering_the_account_clears_the_finding(db_session, county, make_unit, make_account):
    edu = make_unit("青禾县教育局", parent=county, region="青禾县")
    record = seen("6001", "青禾教育", "青禾县教育局")
    discovery.record([record], source="search")
    (f,) = db_session.scalars(sa.select(Finding)).all()
    make_account(edu, "weibo", uid="6001", name="青禾教育")
    summary = discovery.record([record], source="search")
    assert summary["findings"]["resolved"] == 1
    assert f.status is FindingStatus.resolved and "已更正" in f.reason


def test_registry_internal_duplicates(db_session, county, make_account):
    make_account(county, "weibo", uid="7001", name="青禾发布")
    second = make_account(county, "weibo", uid="7002", name="青禾发布二号")
    discovery.record([], source="search")
    (f,) = db_session.scalars(sa.select(Finding)).all()
    assert f.kind is FindingKind.duplicate and f.account_id == second.id
    assert discovery.record([], source="search")["findings"]["created"] == 0


# ----------------------------------------------------------------------------- search


def test_plan_search_keywords(app, db_session, county, make_unit, make_account):
    make_unit("青禾县教育局", parent=county, region="青禾县")
    make_account(county, "weibo", uid="8001", name="青禾旧账号", status=AccountStatus.closed)
    plan = discovery.plan_search(extra_keywords=["青禾"])
    assert plan.keywords[:3] == ("青禾县人民政府", "青禾县", "青禾县教育局")
    assert "青禾旧账号" in plan.keywords and "青禾" in plan.keywords
    assert set(plan.platforms) == {"weibo", "wechat", "douyin", "toutiao"}


def test_search_against_sandbox(db_session, sandbox, county):
    sandbox.call(
        "POST",
        "/_sandbox/accounts",
        json={"platform": "douyin", "uid": "dy_qh_1", "name": "青禾县融媒", "subject": "青禾县融媒体中心"},
    )
    plan = discovery.plan_search(["douyin", "toutiao"])
    db_session.commit()
    result = discovery.search(plan)
    assert result.platforms["douyin"]["status"] == "ok" and result.platforms["douyin"]["found"] == 1
    (acct,) = result.accounts
    assert acct.uid == "dy_qh_1" and acct.subject == "青禾县融媒体中心" and acct.source == "search"


def test_search_unsupported_and_errors_do_not_raise(app, db_session, sandbox, county, monkeypatch):
    sandbox.fault(platform="weibo", endpoint="*", error="server_error", count=50)
    plan = discovery.plan_search(["weibo"])
    result = discovery.search(plan)
    assert result.platforms["weibo"]["status"] == "error"
    assert {e["code"] for e in result.errors} == {
        "10001"
    }  # a Weibo 5xx keeps its error_code (docs/adapters.md) and len(result.errors) == len(plan.keywords)
    monkeypatch.setitem(app.config, "SANDBOX_URL", "http://sandbox.invalid")
    app.extensions.pop("govmedia_channels", None)
    result = discovery.search(discovery.plan_search(["wechat"]))
    assert result.platforms["wechat"]["status"] == "unsupported"


def test_search_rate_limit_stops_the_platform(app, db_session, sandbox, county, make_unit, monkeypatch):
    fresh = InMemoryRateLimiter()
    monkeypatch.setattr("platforms.channels.default_rate_limiter", lambda: fresh)
    monkeypatch.setitem(app.config, "DISCOVERY_SEARCH_PER_MINUTE", 1)
    result = discovery.search(discovery.plan_search(["weibo"]), max_wait=0)
    assert result.platforms["weibo"]["status"] == "rate_limited"
    assert result.platforms["weibo"]["keywords"] == 1
    assert result.errors[0]["code"] == "local_rate_limit"


# ----------------------------------------------------------------------------- CLI


def test_cli_import(app, db_session, county, make_unit, tmp_path):
    make_unit("青禾县教育局", parent=county, region="青禾县")
    good = tmp_path / "list.csv"
    good.write_bytes(csv_bytes("微博,9001,青禾教育,青禾县教育局,是,,,"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["discovery", "import", str(good), "--source", "某监测机构"])
    assert result.exit_code == 0, result.output
    assert "已导入 1 行" in result.output and "新增 1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("微博,9002,x,,,,坏,"))
    result = runner.invoke(args=["discovery", "import", str(bad)])
    assert result.exit_code != 0
    assert "第 2 行 粉丝数" in result.output and "未写入任何数据" in result.output
    assert db_session.scalar(sa.select(sa.func.count(DiscoveredAccount.id))) == 1


def test_reconcile_thresholds_are_settings(app, db_session, county, make_account, monkeypatch):
    monkeypatch.setitem(app.config, "RECONCILE_THRESHOLDS", {"flag_reachable_closed": False, "bogus": 1})
    assert discovery.reconcile_thresholds().flag_reachable_closed is False
    make_account(county, "weibo", uid="9101", name="青禾旧号", status=AccountStatus.closed, closed_on=today_cn())
    quiet = seen("9101", "青禾旧号", "青禾县人民政府", last_post_at=utcnow() - timedelta(days=40))
    assert discovery.record([quiet], source="search")["findings"]["total"] == 0
