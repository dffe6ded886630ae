"""Report and findings exports as background jobs: pages, API, scope, file; sync GETs still work."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

import jobs
from auth.models import Role, UserRole
from oversight import findings as service
from oversight.findings import FindingInput, today_cn
from oversight.models import FindingKind
from tests.conftest import PASSWORD


@pytest.fixture
def county(make_unit):
    return make_unit("丰源县人民政府", region="丰源县")


@pytest.fixture
def other(make_unit):
    return make_unit("外县人民政府", region="外县")


def make_finding(unit, kind=FindingKind.inactive_14d, message="测试问题"):
    return service.upsert_many(
        [FindingInput(kind=kind, fingerprint=f"t:{uuid.uuid4().hex}", evidence={"message": message}, unit_id=unit.id)]
    ).created[0]


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def page(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def download(client, job_location: str):
    response = client.get(job_location + "/file")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(response.data))


def this_quarter() -> str:
    today = today_cn()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def test_report_page_buttons_start_jobs(client, make_user, county, make_account, run_jobs, db_session):
    make_account(county, "weibo", uid="fy-rj-1")
    make_finding(county)
    auditor = make_user(Role.auditor)
    login(client, auditor)
    html = page(client, "/reports/")
    assert "/api/v1/reports/compliance.xlsx" not in html and "/api/v1/reports/bulletin.xlsx" not in html
    assert 'id="export-compliance"' in html and 'name="csrf_token"' in html

    frm, to = "2026-01-01", "2026-03-31"
    response = client.post("/reports/exports", data={"report": "compliance", "from": frm, "to": to})
    assert response.status_code == 302 and re.search(r"/jobs/\d+$", response.location)
    progress = page(client, response.location)
    assert "导出合规情况" in progress and "排队中" in progress
    assert run_jobs() == ["done"]
    done = page(client, response.location)
    assert 'id="job-download"' in done and f"合规情况_{frm}_{to}.xlsx" in done and "返回报表" in done
    wb = download(client, response.location)
    assert wb.sheetnames == ["按单位和平台", "按单位", "说明"]
    assert wb["按单位和平台"]["A1"].value == f"政务新媒体合规情况（{frm} 至 {to}）"

    response = client.post("/reports/exports", data={"report": "bulletin", "quarter": this_quarter()})
    assert run_jobs() == ["done"]
    wb = download(client, response.location)
    assert wb.sheetnames == [
        "概况",
        "各单位情况",
        "问题账号明细",
        "超期未更新账号",
        "整改工单",
        "转载任务逾期单位",
        "说明",
    ]
    assert list(wb["问题账号明细"].iter_rows(values_only=True))[3][1] == "丰源县人民政府"

    response = client.post("/reports/exports", data={"report": "annual", "year": str(today_cn().year)})
    assert run_jobs() == ["done"]
    assert download(client, response.location).sheetnames[0] == "年度报表（政务新媒体）"
    assert "导出年度报表" in page(client, "/jobs/")


@pytest.mark.parametrize(
    "form",
    [
        {"report": "bulletin", "quarter": "2026Q5"},
        {"report": "annual", "year": "1999"},
        {"report": "annual", "year": "明年"},
        {"report": "compliance", "from": "2026-05-02", "to": "2026-05-01"},
        {"report": "compliance", "from": "not-a-date"},
        {"report": "ledger"},
    ],
)
def test_report_page_refuses_bad_input_without_a_job(client, make_user, db_session, form):
    login(client, make_user(Role.auditor))
    response = client.post("/reports/exports", data=form)
    assert response.status_code == 302 and response.location.endswith("/reports/")
    assert 'class="flash flash-error"' in page(client, "/reports/")
    assert db_session.scalar(sa.select(sa.func.count(jobs.JobRun.id))) == 0


def test_findings_export_button_is_a_scoped_job(client, make_user, county, other, run_jobs):
    make_finding(county, message="县里的问题")
    make_finding(county, FindingKind.unregistered, message="县里未备案")
    make_finding(other, message="外县的问题")
    operator = make_user(Role.operator, unit=county)
    login(client, operator)
    html = page(client, "/findings/?kind=inactive_14d")
    assert 'id="export-findings"' in html and '<input type="hidden" name="kind" value="inactive_14d">' in html
    response = client.post("/findings/export", data={"kind": "inactive_14d", "platform": "myspace"})
    assert response.status_code == 302 and "/jobs/" in response.location
    assert run_jobs() == ["done"]
    done = page(client, response.location)
    assert "已导出 1 条问题线索" in done and "返回问题线索" in done
    rows = list(download(client, response.location).active.iter_rows(values_only=True))
    assert [r[6] for r in rows[3:]] == ["县里的问题"]  # own unit, the kind filter; the bad platform ignored
    login(client, make_user(Role.auditor))  # another user's job is not theirs
    assert client.get(response.location).status_code == 404


def test_export_api_queues_jobs(app, api_as, make_user, county, other, run_jobs, monkeypatch):
    make_finding(county, message="县里的问题")
    make_finding(other, message="外县的问题")
    sent = []
    monkeypatch.setattr(app.extensions["celery"], "send_task", lambda name, **kw: sent.append((name, kw)))
    operator = api_as(make_user(Role.operator, unit=county))
    response = operator.post("/api/v1/reports/exports", json={"report": "findings"})
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert response.json["kind"] == "findings_export" and response.json["label"] == "导出问题线索"
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{response.json['id']}")
    assert sent == [("tasks.longjobs.run", {"args": [response.json["id"]], "queue": "jobs", "retry": False})]
    assert run_jobs() == ["done"]
    job = operator.get(f"/api/v1/jobs/{response.json['id']}").json
    assert job["status"] == "done" and job["result"]["rows"] == 1
    file = operator.get(f"/api/v1/jobs/{response.json['id']}/file")
    assert file.status_code == 200
    rows = list(load_workbook(io.BytesIO(file.data)).active.iter_rows(values_only=True))
    assert [r[6] for r in rows[3:]] == ["县里的问题"]

    ok = operator.post(
        "/api/v1/reports/exports", json={"report": "compliance", "from": "2026-01-01", "to": "2026-01-31"}
    )
    assert ok.status_code == 202 and ok.json["kind"] == "report_compliance"
    assert operator.post("/api/v1/reports/exports", json={"report": "bulletin", "quarter": "2026Q2"}).status_code == 202
    assert operator.post("/api/v1/reports/exports", json={"report": "annual", "year": 2026}).status_code == 202
    for body in (
        {},
        {"report": "ledger"},
        {"report": "bulletin"},
        {"report": "bulletin", "quarter": "2026Q9"},
        {"report": "annual"},
        {"report": "annual", "year": 1999},
        {"report": "compliance", "from": "2026-05-02", "to": "2026-05-01"},
        {"report": "findings", "kind": "bogus"},
    ):
        assert operator.post("/api/v1/reports/exports", json=body).status_code == 422, body
    reviewer = api_as(make_user(Role.reviewer_1, unit=county))
    assert reviewer.post("/api/v1/reports/exports", json={"report": "findings"}).status_code == 403
    assert len(sent) == 4


def test_job_fails_when_the_user_lost_the_role(client, make_user, county, run_jobs, db_session):

    user = make_user(Role.auditor)
    login(client, user)
    response = client.post("/reports/exports", data={"report": "bulletin", "quarter": this_quarter()})
    user.role_rows = [UserRole(role=Role.reviewer_1)]
    db_session.flush()
    assert run_jobs() == ["failed"]
    job = db_session.get(jobs.JobRun, int(response.location.rsplit("/", 1)[1]))
    assert job.message == "您的角色无权查看报表" and jobs.file_of(job) is None


def test_synchronous_downloads_still_answer(api_as, make_user, county):
    make_finding(county)
    auditor = api_as(make_user(Role.auditor))
    assert auditor.get("/api/v1/reports/compliance").status_code == 200
    for url in (
        "/api/v1/reports/compliance.xlsx?from=2026-01-01&to=2026-01-31",
        f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter()}",
        f"/api/v1/reports/annual.xlsx?year={today_cn().year}",
        "/api/v1/findings.xlsx?kind=inactive_14d",
    ):
        response = auditor.get(url)
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet"), url
    disposition = auditor.get(f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter().lower()}").headers[
        "Content-Disposition"
    ]
    assert this_quarter() in disposition or "filename*" in disposition
