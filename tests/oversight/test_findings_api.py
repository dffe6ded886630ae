"""Findings API and pages: scoping, action rules, audit, export; discovery endpoints; reports."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.workdays import add_workdays
from moderation.models import Content, ContentStatus, Review, ReviewDecision
from oversight import findings as service
from oversight.findings import FindingInput, today_cn
from oversight.models import DiscoveredAccount, FindingKind, FindingStatus
from publishers.models import Delivery, DeliveryStatus
from registry.models import AccountStatus
from tests.conftest import PASSWORD


@pytest.fixture
def county(make_unit):
    return make_unit("丰源县人民政府", region="丰源县")


@pytest.fixture
def town(make_unit, county):
    return make_unit("丰源县石桥镇人民政府", parent=county, region="丰源县")


@pytest.fixture
def other(make_unit):
    return make_unit("外县人民政府", region="外县")


def make_finding(unit, kind=FindingKind.inactive_14d, account=None, **evidence):
    fp = f"test:{uuid.uuid4().hex}"
    report = service.upsert_many(
        [
            FindingInput(
                kind=kind,
                fingerprint=fp,
                evidence={"message": evidence.pop("message", "测试问题"), **evidence},
                account_id=getattr(account, "id", None),
                unit_id=getattr(unit, "id", None),
            )
        ]
    )
    return report.created[0]


# ----------------------------------------------------------------------------- list / detail / scope


def test_list_is_scoped_and_filtered(api_as, make_user, county, town, other, make_account):
    acct = make_account(town, "weibo", uid="fy-town-1")
    f_town = make_finding(town, account=acct)
    f_county = make_finding(county, FindingKind.unregistered, platform="douyin", uid="dy9")
    f_other = make_finding(other)
    f_nounit = make_finding(None, FindingKind.unregistered)

    auditor = api_as(make_user(Role.auditor))
    body = auditor.get("/api/v1/findings").json
    assert {i["id"] for i in body["items"]} >= {f_town.id, f_county.id, f_other.id, f_nounit.id}
    assert set(body) == {"items", "total", "page", "per_page"}

    county_op = api_as(make_user(Role.operator, unit=county))
    ids = {i["id"] for i in county_op.get("/api/v1/findings").json["items"]}
    assert ids == {f_town.id, f_county.id}  # own unit and sub-units; never other units or unknown ones
    town_op = api_as(make_user(Role.operator, unit=town))
    assert {i["id"] for i in town_op.get("/api/v1/findings").json["items"]} == {f_town.id}

    only = auditor.get(f"/api/v1/findings?kind=unregistered&unit_id={county.id}").json["items"]
    assert [i["id"] for i in only] == [f_county.id]
    assert only[0]["platform"] == "douyin" and only[0]["kind_label"] == "未备案/体外运行"
    by_platform = auditor.get("/api/v1/findings?platform=weibo").json["items"]
    assert [i["id"] for i in by_platform] == [f_town.id]
    assert auditor.get("/api/v1/findings?status=dismissed").json["total"] == 0
    assert auditor.get("/api/v1/findings?kind=bogus").status_code == 422
    assert auditor.get("/api/v1/findings?per_page=500").status_code == 422

    reviewer = api_as(make_user(Role.reviewer_1, unit=county))
    assert reviewer.get("/api/v1/findings").status_code == 403


def test_detail_side_by_side_and_scope(api_as, make_user, county, other, make_account, db_session):
    acct = make_account(county, "weibo", uid="fy-1", name="丰源发布")

    snap = DiscoveredAccount(platform=acct.platform, platform_uid="fy-1", name="丰源县美食", subject="丰源县人民政府")
    db_session.add(snap)
    db_session.flush()
    f = service.upsert_many(
        [
            FindingInput(
                kind=FindingKind.name_mismatch,
                fingerprint="name_mismatch:weibo:uid=fy-1:account=x",
                evidence={
                    "message": "平台显示名称与台账不一致",
                    "registered_name": "丰源发布",
                    "platform_name": "丰源县美食",
                },
                account_id=acct.id,
                unit_id=county.id,
                discovered_id=snap.id,
            )
        ]
    ).created[0]
    auditor = api_as(make_user(Role.auditor))
    body = auditor.get(f"/api/v1/findings/{f.id}").json
    rows = {r["field"]: r for r in body["comparison"]["rows"]}
    assert (
        rows["name"]["registry"] == "丰源发布" and rows["name"]["platform"] == "丰源县美食" and rows["name"]["differs"]
    )
    assert rows["uid"]["differs"] is False
    assert body["actions"] == ["confirm", "dismiss", "resolve"]
    assert body["evidence"]["registered_name"] == "丰源发布"

    own = api_as(make_user(Role.operator, unit=county)).get(f"/api/v1/findings/{f.id}")
    assert own.status_code == 200 and own.json["actions"] == []
    stranger = api_as(make_user(Role.operator, unit=other)).get(f"/api/v1/findings/{f.id}")
    assert stranger.status_code == 404
    assert auditor.get("/api/v1/findings/999999").status_code == 404


# ----------------------------------------------------------------------------- actions


def test_confirm_sets_workday_deadline_and_is_audited(app, api_as, make_user, county, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "FINDING_DEADLINE_WORKDAYS", 3)
    f = make_finding(county)
    auditor_user = make_user(Role.auditor)
    auditor = api_as(auditor_user)
    response = auditor.post(f"/api/v1/findings/{f.id}/actions/confirm", json={"reason": "请限期整改"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "confirmed" and body["due_on"] == add_workdays(today_cn(), 3).isoformat()
    assert body["actions"] == ["dismiss", "resolve"]
    assert body["decision"]["by"] == auditor_user.username
    entry = db_session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "finding:status:confirm", AuditEntry.object_id == str(f.id))
    )
    assert entry.actor_id == auditor_user.id
    assert entry.before["status"] == "open" and entry.after["status"] == "confirmed"
    # Confirming again is a state conflict.
    again = auditor.post(f"/api/v1/findings/{f.id}/actions/confirm", json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "finding_state"
    resolved = auditor.post(f"/api/v1/findings/{f.id}/actions/resolve", json={"reason": "单位已恢复更新"})
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert resolved.json["reason"] == "单位已恢复更新"
    for action in ("confirm", "dismiss", "resolve"):
        late = auditor.post(f"/api/v1/findings/{f.id}/actions/{action}", json={"reason": "再次处理"})
        assert late.status_code == 409


def test_dismiss_and_resolve_need_a_reason(api_as, make_user, county, db_session):
    f = make_finding(county)
    auditor = api_as(make_user(Role.admin))
    for action in ("dismiss", "resolve"):
        for body in ({}, {"reason": ""}, {"reason": " x "}):
            response = auditor.post(f"/api/v1/findings/{f.id}/actions/{action}", json=body)
            assert response.status_code == 422
            assert "reason" in response.json["error"]["details"]
    db_session.refresh(f)
    assert f.status is FindingStatus.open
    ok = auditor.post(f"/api/v1/findings/{f.id}/actions/dismiss", json={"reason": "误报：账号已备案"})
    assert ok.status_code == 200 and ok.json["status"] == "dismissed"
    assert auditor.post(f"/api/v1/findings/{f.id}/actions/delete", json={}).status_code == 404


def test_action_roles_and_scope(api_as, make_user, county, other):
    f = make_finding(county)
    own_operator = api_as(make_user(Role.operator, unit=county))
    response = own_operator.post(f"/api/v1/findings/{f.id}/actions/confirm", json={})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    foreign = api_as(make_user(Role.operator, unit=other))
    assert foreign.post(f"/api/v1/findings/{f.id}/actions/confirm", json={}).status_code == 404
    reviewer = api_as(make_user(Role.reviewer_3, unit=county))
    assert reviewer.post(f"/api/v1/findings/{f.id}/actions/confirm", json={}).status_code == 403
    assert api_as(make_user(Role.auditor)).post(f"/api/v1/findings/{f.id}/actions/confirm", json={}).status_code == 200


def test_export_xlsx(api_as, make_user, county, other):
    make_finding(county, message="县里的问题")
    make_finding(other, message="外县的问题")
    response = api_as(make_user(Role.operator, unit=county)).get("/api/v1/findings.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][1:6] == ("单位", "平台", "账号", "平台ID", "问题类型")
    messages = [r[6] for r in rows[3:]]
    assert messages == ["县里的问题"]


# ----------------------------------------------------------------------------- discovery endpoints


def test_import_endpoint_all_or_nothing(api_as, make_user, county, make_unit, db_session):
    make_unit("丰源县教育局", parent=county, region="丰源县")
    auditor = api_as(make_user(Role.auditor))
    header = "平台,账号ID,账号名称,认证主体,认证,主页链接,粉丝数,最近发文时间\n"
    bad = (header + "微博,1,丰源教育,丰源县教育局,是,,,\n抖音,2,丰源文旅,,,,很多,\n").encode()
    response = auditor.post(
        "/api/v1/discovery/imports", data={"file": (io.BytesIO(bad), "list.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "import_rows_invalid"
    assert error["details"]["errors"] == [{"row": 3, "column": "粉丝数", "reason": "应为非负整数，实际为“很多”"}]
    assert db_session.scalar(sa.select(sa.func.count(DiscoveredAccount.id))) == 0

    good = (header + "微博,1,丰源教育,丰源县教育局,是,,,\n").encode()
    response = auditor.post(
        "/api/v1/discovery/imports",
        data={"file": (io.BytesIO(good), "list.csv"), "source": "某监测机构"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert response.json["findings"]["created"] == 1 and response.json["rows"] == 1
    assert response.json["source_ref"] == "某监测机构"
    missing = auditor.post("/api/v1/discovery/imports", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    operator = api_as(make_user(Role.operator, unit=county))
    forbidden = operator.post(
        "/api/v1/discovery/imports", data={"file": (io.BytesIO(good), "x.csv")}, content_type="multipart/form-data"
    )
    assert forbidden.status_code == 403


def test_run_endpoint_against_sandbox(api_as, make_user, county, sandbox, db_session):
    sandbox.call(
        "POST",
        "/_sandbox/accounts",
        json={"platform": "toutiao", "uid": "tt-fy-1", "name": "丰源头条", "subject": "丰源县人民政府"},
    )
    db_session.commit()
    auditor = api_as(make_user(Role.auditor))
    response = auditor.post("/api/v1/discovery/runs", json={"platforms": ["toutiao"]})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["accounts_seen"] == 1 and body["findings"]["created"] == 1
    assert body["platforms"]["toutiao"]["status"] == "ok"
    again = auditor.post("/api/v1/discovery/runs", json={"platforms": ["toutiao"]}).json
    assert again["findings"]["created"] == 0
    assert auditor.post("/api/v1/discovery/runs", json={"platforms": ["myspace"]}).status_code == 422
    operator = api_as(make_user(Role.operator, unit=county))
    assert operator.post("/api/v1/discovery/runs", json={}).status_code == 403


def test_run_endpoint_async_queues_a_job(app, api_as, make_user, monkeypatch):
    sent = []
    monkeypatch.setattr(app.extensions["celery"], "send_task", lambda name, **kw: sent.append((name, kw)))
    user = make_user(Role.auditor)
    response = api_as(user).post("/api/v1/discovery/runs", json={"async": True})
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{response.json['id']}")
    assert sent == [("tasks.longjobs.run", {"args": [response.json["id"]], "queue": "jobs", "retry": False})]


# ----------------------------------------------------------------------------- reports


def _publish(db_session, account, author, reviewers, *, sent_days_ago, approve_stages=(1, 2, 3), late_stage=None):
    sent_at = utcnow() - timedelta(days=sent_days_ago)
    content = Content(
        unit_id=account.unit_id, author_id=author.id, title="测试稿件", body_text="正文", status=ContentStatus.published
    )
    db_session.add(content)
    db_session.flush()
    for stage in approve_stages:
        at = sent_at - timedelta(hours=4 - stage)
        if stage == late_stage:
            at = sent_at + timedelta(hours=1)
        db_session.add(
            Review(
                content_id=content.id,
                version=1,
                stage=stage,
                reviewer_id=reviewers[stage - 1].id,
                decision=ReviewDecision.approve,
                content_hash="h",
                at=at,
            )
        )
    db_session.add(
        Delivery(
            content_id=content.id,
            version=1,
            account_id=account.id,
            status=DeliveryStatus.sent,
            idempotency_key=uuid.uuid4().hex,
            content_hash="h",
            sent_at=sent_at,
        )
    )
    db_session.flush()


def test_compliance_report(api_as, make_user, county, town, other, make_account, db_session):
    author = make_user(Role.operator, unit=county)
    reviewers = [make_user(r, unit=county) for r in (Role.reviewer_1, Role.reviewer_2, Role.reviewer_3)]
    fresh = make_account(county, "weibo", uid="fy-w1")
    fresh.last_post_at, fresh.posts_7d, fresh.posts_30d, fresh.monitored_at = (
        utcnow() - timedelta(days=1),
        3,
        9,
        utcnow(),
    )
    stale = make_account(town, "wechat", uid="fy-gh1")
    stale.last_post_at, stale.posts_30d = utcnow() - timedelta(days=100), 0
    make_account(county, "douyin", uid="fy-dy-closed", status=AccountStatus.closed, closed_on=date(2020, 1, 1))
    make_account(other, "weibo", uid="other-w1")
    _publish(db_session, fresh, author, reviewers, sent_days_ago=2)  # compliant
    _publish(db_session, fresh, author, reviewers, sent_days_ago=3, approve_stages=(1, 2))  # no 终审
    _publish(db_session, fresh, author, reviewers, sent_days_ago=4, late_stage=3)  # 终审 after sending
    _publish(db_session, fresh, author, reviewers, sent_days_ago=60)  # outside the period
    make_finding(county, account=fresh)
    closed = make_finding(town, FindingKind.zombie_90d, account=stale)
    closed.status = FindingStatus.resolved
    db_session.flush()

    frm, to = (today_cn() - timedelta(days=29)).isoformat(), today_cn().isoformat()
    auditor = api_as(make_user(Role.auditor))
    body = auditor.get(f"/api/v1/reports/compliance?from={frm}&to={to}").json
    rows = {(r["unit_name"], r["platform"]): r for r in body["rows"]}
    weibo = rows[("丰源县人民政府", "weibo")]
    assert weibo["accounts"] == 1 and weibo["active"] == 1 and weibo["updated_within_veto"] == 1
    assert weibo["posts_7d"] == 3 and weibo["posts_30d"] == 9
    assert weibo["published_in_period"] == 3 and weibo["review_compliant"] == 1
    assert weibo["review_compliance"] == pytest.approx(1 / 3, abs=1e-4)
    assert weibo["findings_open"] == 1
    wechat = rows[("丰源县石桥镇人民政府", "wechat")]
    assert wechat["accounts_over_veto"] == 1 and wechat["accounts_zombie"] == 1
    assert wechat["max_days_since_last_post"] == 100 and wechat["findings_closed"] == 1
    assert ("丰源县人民政府", "douyin") not in rows  # closed before the period
    units = {u["unit_name"]: u for u in body["units"]}
    assert units["丰源县人民政府"]["passed"] is True and units["丰源县石桥镇人民政府"]["passed"] is False
    assert body["totals"]["accounts"] == 3
    assert body["thresholds"] == {"warn_days": 7, "veto_days": 14, "zombie_days": 90}

    scoped = api_as(make_user(Role.operator, unit=town)).get("/api/v1/reports/compliance").json
    assert [r["unit_name"] for r in scoped["rows"]] == ["丰源县石桥镇人民政府"]
    assert auditor.get("/api/v1/reports/compliance?from=2026-05-02&to=2026-05-01").status_code == 422
    assert api_as(reviewers[0]).get("/api/v1/reports/compliance").status_code == 403

    xlsx = auditor.get(f"/api/v1/reports/compliance.xlsx?from={frm}&to={to}")
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.data))
    assert wb.sheetnames == ["按单位和平台", "按单位", "说明"]
    assert wb["按单位和平台"]["B3"].value == "单位"
    assert any(row[1] == "合计" for row in wb["按单位和平台"].iter_rows(values_only=True))


def test_bulletin_and_annual(api_as, make_user, county, make_account, db_session):
    acct = make_account(county, "weibo", uid="fy-bul-1", opened_on=date(2026, 3, 1))
    acct.followers = 4321
    make_finding(county, account=acct)
    auditor = api_as(make_user(Role.auditor))
    today = today_cn()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    response = auditor.get(f"/api/v1/reports/bulletin.xlsx?quarter={quarter}")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == [
        "概况",
        "各单位情况",
        "问题账号明细",
        "超期未更新账号",
        "整改工单",
        "转载任务逾期单位",
        "说明",
    ]
    detail = list(wb["问题账号明细"].iter_rows(values_only=True))
    assert detail[3][1] == "丰源县人民政府" and detail[3][5] == "超14天未更新（单项否决）"
    assert auditor.get("/api/v1/reports/bulletin.xlsx?quarter=2026Q5").status_code == 422
    assert auditor.get("/api/v1/reports/bulletin.xlsx").status_code == 422

    response = auditor.get(f"/api/v1/reports/annual.xlsx?year={today.year}")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["年度报表（政务新媒体）", "按平台汇总", "账号明细", "说明"]
    table = list(wb["年度报表（政务新媒体）"].iter_rows(values_only=True))
    assert table[2][1:] == ("类型", "名称", "信息发布（条）", "关注量/订阅数（个）")
    assert table[3][1:] == ("微博", acct.name, 0, 4321)
    notes = {r[1]: r[2] for r in list(wb["说明"].iter_rows(values_only=True))[3:]}
    assert f"{today.year + 1} 年 1 月 31 日" in notes["报送要求"]
    assert auditor.get("/api/v1/reports/annual.xlsx?year=1999").status_code == 422


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/findings",
        "/api/v1/findings/{finding_id}/actions/{action}",
        "/api/v1/discovery/imports",
        "/api/v1/discovery/runs",
        "/api/v1/reports/compliance",
        "/api/v1/reports/bulletin.xlsx",
        "/api/v1/reports/annual.xlsx",
    ):
        assert path in paths


# ----------------------------------------------------------------------------- pages


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_workbench_pages(client, make_user, county, other, make_account, db_session):
    acct = make_account(county, "weibo", uid="fy-page-1")
    # the platform's last post date: something to set against the registry (without it, no table)
    f = make_finding(county, account=acct, message="已20天未更新", last_post_at="2026-11-10T09:00:00+08:00")
    make_finding(other, message="外县问题")
    auditor = make_user(Role.auditor)
    login(client, auditor)
    page = client.get("/findings/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "问题线索工作台" in html and "已20天未更新" in html and "外县问题" in html
    assert "导入第三方监测名单" in html
    detail = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert "台账与平台信息对照" in detail and "确认并下发整改" in detail
    response = client.post(f"/findings/{f.id}/act", data={"action": "dismiss", "reason": ""})
    assert response.status_code == 302
    shown = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert "排除或解决时请填写原因（至少 2 个字）" in shown
    assert "（原因：" not in shown  # said once, not repeated in brackets
    client.post(f"/findings/{f.id}/act", data={"action": "confirm"})
    db_session.refresh(f)
    assert f.status is FindingStatus.confirmed and f.due_on is not None
    detail = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert "处理记录" in detail and "已确认（整改中）" in detail and "未更新天数" not in detail
    assert client.get("/reports/").status_code == 200
    assert "三审合规率" in client.get("/reports/?from=2026-01-01&to=2026-03-31").get_data(as_text=True)


def test_workbench_read_only_for_operators(client, make_user, county, other, db_session):
    f = make_finding(county, message="本单位问题")
    make_finding(other, message="外县问题")
    login(client, make_user(Role.operator, unit=county))
    html = client.get("/findings/").get_data(as_text=True)
    assert "本单位问题" in html and "外县问题" not in html and "导入第三方监测名单" not in html
    detail = client.get(f"/findings/{f.id}").get_data(as_text=True)
    assert "确认并下发整改" not in detail
    client.post(f"/findings/{f.id}/act", data={"action": "confirm"})
    db_session.refresh(f)
    assert f.status is FindingStatus.open


def test_import_page_shows_row_errors(client, make_user, county, run_jobs):
    login(client, make_user(Role.auditor))
    data = "平台,账号ID,账号名称\n微博,,缺ID\n".encode()
    response = client.post(
        "/findings/discovery/import",
        data={"file": (io.BytesIO(data), "bad.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/jobs/" in response.location
    assert run_jobs() == ["failed"]
    html = client.get(response.location).get_data(as_text=True)
    assert "导入文件有 1 处错误" in html and "账号ID" in html and "不能为空" in html
