"""Registry pages: each role, forms with Chinese validation, approval inbox, matrix, import report."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from auth.models import Role
from registry import importexport, service
from registry.models import Account, AccountEvent, AccountStatus, Platform
from tests.conftest import PASSWORD


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def site(db_session, make_unit, make_user):
    unit = make_unit("己县人民政府")
    other = make_unit("庚县人民政府")

    def add(owner: Any, platform: str, uid: str, name: str, status: str = "active", **kw: Any) -> Account:
        account = Account(
            platform=Platform(platform),
            platform_uid=uid,
            name=name,
            unit_id=owner.id,
            status=AccountStatus(status),
            verified_subject=owner.name,
            **kw,
        )
        db_session.add(account)
        db_session.flush()
        return account

    accounts = {
        "weibo": add(unit, "weibo", "jx_weibo", "己县发布"),
        "wechat": add(unit, "wechat", "gh_jx", "己县微信", status="applying", filing_due_on=date(2020, 1, 2)),
        "dup": add(unit, "douyin", "dy_jx1", "己县抖音一"),
        "dup2": add(unit, "douyin", "dy_jx2", "己县抖音二", is_primary=False, duplicate_reason="矩阵"),
        "other": add(other, "weibo", "gx_weibo", "庚县发布"),
    }
    users = {
        "operator": make_user(Role.operator, unit=unit),
        "reviewer_1": make_user(Role.reviewer_1, unit=unit),
        "auditor": make_user(Role.auditor),
        "admin": make_user(Role.admin),
        "other_operator": make_user(Role.operator, unit=other),
    }
    return {"unit": unit, "other": other, "accounts": accounts, "users": users}


@pytest.mark.parametrize("role", ["operator", "reviewer_1", "auditor", "admin"])
def test_pages_render_for_each_role(client, site, role):
    login(client, site["users"][role])
    ledger = client.get("/registry")
    assert ledger.status_code == 200
    page = html(ledger)
    assert "己县发布" in page and 'lang="zh-CN"' in page
    assert "<caption>" in page and 'scope="col"' in page
    assert ("庚县发布" in page) is (role in ("auditor", "admin"))
    assert client.get("/registry/matrix").status_code == 200
    account = client.get(f"/registry/accounts/{site['accounts']['weibo'].id}")
    assert account.status_code == 200 and "历史记录" in html(account)
    expected_inbox = 200 if role in ("auditor", "admin") else 403
    assert client.get("/registry/inbox").status_code == expected_inbox
    expected_forms = 403 if role == "reviewer_1" else 200
    assert client.get("/registry/apply").status_code == expected_forms
    assert client.get("/registry/import").status_code == expected_forms
    assert not re.search(r"<script(?![^>]*src=)", page)  # no inline scripts (CSP)


def test_navigation_links(client, site):
    login(client, site["users"]["auditor"])
    page = html(client.get("/"))
    assert 'href="/registry"' in page and 'href="/registry/matrix"' in page and 'href="/registry/inbox"' in page


def test_login_required(client, site):
    response = client.get("/registry")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_other_unit_account_page_is_404(client, site):
    login(client, site["users"]["other_operator"])
    assert client.get(f"/registry/accounts/{site['accounts']['weibo'].id}").status_code == 404
    assert client.get(f"/registry/accounts/{site['accounts']['weibo'].id}/change").status_code == 404
    response = client.post(f"/registry/accounts/{site['accounts']['weibo'].id}/actions/request_close", data={})
    assert response.status_code == 404


def test_ledger_filters_search_and_export_links(client, site):
    login(client, site["users"]["auditor"])
    page = html(client.get("/registry?q=抖音&platform=douyin"))
    assert "己县抖音一" in page and "己县发布" not in page
    assert 'action="/registry/export"' in page and '<input type="hidden" name="q" value="抖音">' in page
    assert '<input type="hidden" name="platform" value="douyin">' in page
    assert "/api/v1/registry/template.xlsx" in page
    overdue = html(client.get("/registry?overdue=true"))
    assert "己县微信" in overdue and "备案逾期" in overdue and "己县发布" not in overdue
    bad = client.get("/registry?platform=myspace")
    assert bad.status_code == 200 and "筛选条件有误" in html(bad)
    paged = html(client.get("/registry?per_page=2"))
    assert "下一页" in paged


def test_ledger_export_runs_as_a_job_with_a_download(client, site, run_jobs):
    login(client, site["users"]["auditor"])
    response = client.post("/registry/export", data={"q": "抖音", "platform": "douyin", "format": "xlsx"})
    assert response.status_code == 302 and "/jobs/" in response.location
    assert run_jobs() == ["done"]
    page = html(client.get(response.location))
    assert "已导出 2 个账号" in page and 'id="job-download"' in page
    download = client.get(response.location + "/file")
    assert download.status_code == 200 and download.mimetype == importexport.XLSX_MIME
    rows = list(load_workbook(io.BytesIO(download.data), read_only=True).worksheets[0].iter_rows(values_only=True))
    rows = [row[1:] for row in rows[2:]]  # the filed form: title and 制表单位 lines, then 序号
    assert len(rows) == 3 and "己县抖音一" in {row[2] for row in rows}
    assert {row[0] for row in rows[1:]} == {"抖音"} and all("抖音" in row[2] for row in rows[1:])
    bad = client.post("/registry/export", data={"platform": "myspace"})
    assert bad.status_code == 302 and bad.location.endswith("/registry")
    assert "导出条件无效" in html(client.get("/registry"))
    login(client, site["users"]["operator"])  # another user's job is not there
    assert client.get(response.location).status_code == 404
    assert client.get(response.location + "/file").status_code == 404


def test_apply_form_validates_in_chinese(client, site, db_session):
    login(client, site["users"]["operator"])
    form = html(client.get("/registry/apply"))
    assert 'name="csrf_token"' in form and '<label for="f-name">' in form
    response = client.post(
        "/registry/apply",
        data={"platform": "", "name": "", "unit_id": str(site["unit"].id), "contact_email": "不是邮箱"},
    )
    assert response.status_code == 422
    page = html(response)
    assert "请修改以下" in page and "此项为必填" in page and "邮箱格式不正确" in page
    assert 'aria-invalid="true"' in page
    count = db_session.scalar(sa.select(sa.func.count(Account.id)))
    response = client.post(
        "/registry/apply",
        data={
            "platform": "kuaishou",
            "name": "己县快手",
            "unit_id": str(site["unit"].id),
            "verified_subject": "己县人民政府",
            "verified": "true",
            "opened_on": "2026-01-05",
        },
    )
    assert response.status_code == 302
    created = db_session.scalar(sa.select(Account).where(Account.name == "己县快手"))
    assert created.status is AccountStatus.applying and created.verified is True
    assert db_session.scalar(sa.select(sa.func.count(Account.id))) == count + 1
    page = html(client.get(response.headers["Location"]))
    assert "已提交开设申请" in page and "申请开设" in page


def test_apply_duplicate_needs_reason(client, site):
    login(client, site["users"]["operator"])
    data = {"platform": "weibo", "name": "己县第二微博", "unit_id": str(site["unit"].id)}
    response = client.post("/registry/apply", data=data)
    assert response.status_code == 422
    assert "重复开设理由" in html(response)
    response = client.post("/registry/apply", data={**data, "duplicate_reason": "应急发布专用"})
    assert response.status_code == 302


def test_change_form(client, site, db_session):
    account = site["accounts"]["weibo"]
    login(client, site["users"]["operator"])
    page = html(client.get(f"/registry/accounts/{account.id}/change?name=己县人民政府发布"))
    assert 'value="己县人民政府发布"' in page  # a rename proposal pre-fills the form
    bad = client.post(
        f"/registry/accounts/{account.id}/change", data={"name": "己县发布", "profile_url": "weibo.com/x"}
    )
    assert bad.status_code == 422 and "链接格式不正确" in html(bad)
    ok = client.post(
        f"/registry/accounts/{account.id}/change",
        data={"name": "己县发布（新）", "verified_subject": "己县人民政府", "verified": "false"},
    )
    assert ok.status_code == 302
    db_session.refresh(account)
    assert account.status is AccountStatus.changing and account.pending_change == {"name": "己县发布（新）"}
    page = html(client.get(f"/registry/accounts/{account.id}"))
    assert "待审批的变更" in page and "己县发布（新）" in page
    # nothing left to change → the form says so, with the way back to the account it came from
    account_page = f"http://localhost/registry/accounts/{account.id}"
    refused = client.get(f"/registry/accounts/{account.id}/change", headers={"Referer": account_page})
    assert refused.status_code == 409
    assert f'<a href="{account_page}" id="error-back">← 返回上一页</a>' in html(refused)
    elsewhere = client.get(f"/registry/accounts/{account.id}/change", headers={"Referer": "https://evil.example/x"})
    assert elsewhere.status_code == 409 and "返回上一页" not in html(elsewhere)  # only pages of this site


def test_close_form_and_early_confirmation(client, site, db_session, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: date(2026, 3, 2))
    account = site["accounts"]["weibo"]
    login(client, site["users"]["operator"])
    page = html(client.get(f"/registry/accounts/{account.id}/close"))
    assert "15 个工作日" in page
    bad = client.post(f"/registry/accounts/{account.id}/close", data={"closure_notice_on": "2026-03-02"})
    assert bad.status_code == 422
    assert "须填写停更公告链接" in html(bad) and "申请关停须填写关停原因" in html(bad)
    ok = client.post(
        f"/registry/accounts/{account.id}/close",
        data={
            "reason": "机构撤并",
            "closure_notice_on": "2026-03-02",
            "closure_notice_url": "https://gov.example.cn/t",
        },
    )
    assert ok.status_code == 302
    db_session.refresh(account)
    assert account.status is AccountStatus.closing
    early = client.post(f"/registry/accounts/{account.id}/actions/confirm_closed", data={"closed_on": "2026-03-02"})
    assert early.status_code == 302
    page = html(client.get(early.headers["Location"]))
    assert "停更公告期未满" in page and "2026-03-23" in page
    db_session.refresh(account)
    assert account.status is AccountStatus.closing


def test_inbox_approve_and_reject(client, site, db_session):
    applying = site["accounts"]["wechat"]
    login(client, site["users"]["auditor"])
    page = html(client.get("/registry/inbox"))
    assert "开设申请" in page and "己县微信" in page and "批准开设" in page and "驳回" in page
    refused = client.post(f"/registry/accounts/{applying.id}/actions/reject", data={"next": "/registry/inbox"})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/registry/inbox")
    assert "驳回须填写理由" in html(client.get("/registry/inbox"))
    db_session.refresh(applying)
    assert applying.status is AccountStatus.applying
    approved = client.post(
        f"/registry/accounts/{applying.id}/actions/approve",
        data={"filing_number": "JX-2026-01", "filing_date": "2026-01-05", "next": "https://evil.example/"},
    )
    assert approved.headers["Location"].endswith(f"/registry/accounts/{applying.id}")  # no open redirect
    db_session.refresh(applying)
    assert applying.status is AccountStatus.active and applying.filing_number == "JX-2026-01"
    bad_date = client.post(f"/registry/accounts/{applying.id}/actions/suspend", data={"filing_date": "明天"})
    assert bad_date.status_code == 302
    assert "日期格式" in html(client.get(bad_date.headers["Location"]))


def test_operator_cannot_approve_from_a_page(client, site, db_session):
    applying = site["accounts"]["wechat"]
    login(client, site["users"]["operator"])
    page = html(client.get(f"/registry/accounts/{applying.id}"))
    assert "批准开设" not in page
    response = client.post(f"/registry/accounts/{applying.id}/actions/approve", data={})
    assert "无权" in html(client.get(response.headers["Location"]))
    db_session.refresh(applying)
    assert applying.status is AccountStatus.applying


def test_history_timeline_shows_diffs(client, site, db_session):
    account = site["accounts"]["weibo"]
    auditor = site["users"]["auditor"]
    # the operator applies, the auditor approves (four-eyes rule: not one person for both)
    service.advance(account, "request_change", site["users"]["operator"], changes={"name": "己县发布厅"})
    service.advance(account, "approve_change", auditor)
    login(client, auditor)
    page = html(client.get(f"/registry/accounts/{account.id}"))
    assert "申请变更" in page and "批准变更" in page
    assert re.search(r'<del class="diff-del"><span class="sr-only">原值 </span>己县发布</del>', page)
    assert re.search(r'<ins class="diff-ins"><span class="sr-only">新值 </span>己县发布厅</ins>', page)
    events = db_session.scalars(sa.select(AccountEvent).where(AccountEvent.account_id == account.id)).all()
    assert len(events) == 2


def test_matrix_colours(client, site):
    login(client, site["users"]["auditor"])
    page = html(client.get("/registry/matrix?q=己县"))
    assert "己县人民政府" in page and "庚县人民政府" not in page
    assert re.search(r'class="cell bad"[^>]*>2<span class="sr-only">个账号，</span><br><small>重复开设', page)
    assert re.search(r'class="cell ok"[^>]*>1<span class="sr-only">个账号，</span><br><small>运行中', page)
    assert re.search(r'class="cell warn"[^>]*>1<span class="sr-only">个账号，</span><br><small>审批', page)


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["平台", "平台账号ID", "账号名称", "主办单位", "开设日期"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_import_page_runs_in_the_background_and_reports_row_errors(client, site, db_session, run_jobs):
    login(client, site["users"]["auditor"])
    unit = site["unit"].name
    bad = _xlsx([["微博", "p1", "页面导入", unit, "2024-01-01"], ["微博", "p2", "坏日期", unit, "2024-99-01"]])
    response = client.post(
        "/registry/import", data={"file": (io.BytesIO(bad), "台账.xlsx")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302 and re.search(r"/jobs/\d+$", response.location)
    queued = html(client.get(response.location))
    assert "排队中" in queued and "<progress" in queued and "台账.xlsx" in queued
    assert run_jobs() == ["failed"]
    page = html(client.get(response.location))
    assert "未写入任何数据" in page and "<progress" not in page
    assert re.search(r'<th scope="row"[^>]*>3</th><td>开设日期</td><td>日期不存在</td>', page)
    assert db_session.scalar(sa.select(Account.id).where(Account.platform_uid == "p1")) is None
    good = _xlsx([["快手", "p1", "页面导入", "庚县人民政府", (date.today() - timedelta(days=3)).isoformat()]])
    response = client.post(
        "/registry/import", data={"file": (io.BytesIO(good), "台账.xlsx")}, content_type="multipart/form-data"
    )
    assert run_jobs() == ["done"]
    page = html(client.get(response.location))
    assert "导入结果" in page and re.search(r"<th scope=\"row\">新建</th><td>1</td>", page)
    assert db_session.scalar(sa.select(Account.id).where(Account.platform_uid == "p1")) is not None
    listing = html(client.get("/jobs/"))
    assert listing.count("导入台账") >= 2 and "失败" in listing and "已完成" in listing
    missing = client.post("/registry/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "请选择" in html(missing)
