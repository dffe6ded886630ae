"""Background jobs: imports, exports and discovery runs as queued tasks with progress and a result.

In-process: the page or API call queues the job (the broker is memory://) and ``run_jobs``
runs it as the worker's task does. The real worker path is exercised in
tests/foundation/test_production_shape.py and the browser journeys.
"""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import Workbook

import jobs
from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from jobs import JobRun
from registry.models import Account


def ledger_xlsx(unit_name: str, rows: int, *, bad_row: int | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["平台", "平台账号ID", "账号名称", "主办单位", "开设日期", "重复开设理由"])
    for i in range(rows):
        opened = "2024-13-01" if i == bad_row else "2024-01-01"
        sheet.append(["快手", f"job-{i}", f"后台导入{i}", unit_name, opened, "各乡镇、各部门分别运营"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, data: bytes, **form):
    return client.post(
        "/api/v1/registry/imports",
        data={"file": (io.BytesIO(data), "台账.xlsx"), "async": "true", **form},
        content_type="multipart/form-data",
    )


def test_api_import_job_reports_progress_result_and_audit(api_as, make_user, make_unit, db_session, run_jobs):
    unit = make_unit("后台任务县人民政府")
    auditor = api_as(make_user(Role.auditor))
    response = upload(auditor, ledger_xlsx(unit.name, 1200))
    assert response.status_code == 202
    job = response.json
    assert job["status"] == "queued" and job["kind"] == "ledger_import" and job["label"] == "导入台账"
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert db_session.scalar(sa.select(sa.func.count(Account.id)).where(Account.unit_id == unit.id)) == 0

    assert run_jobs() == ["done"]
    done = auditor.get(f"/api/v1/jobs/{job['id']}").json
    assert done["status"] == "done" and done["status_label"] == "已完成" and done["message"] == "导入完成"
    assert done["progress"] == done["total"] == 1201 and done["percent"] == 100
    assert done["result"]["created"] == 1200 and done["finished_at"]
    assert db_session.scalar(sa.select(sa.func.count(Account.id)).where(Account.unit_id == unit.id)) == 1200
    actions = db_session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "job_runs", AuditEntry.object_id == str(job["id"]))
    ).all()
    assert actions == ["job:queued", "job:done"]
    assert run_jobs() == []  # nothing runs twice


def test_rejected_file_fails_with_row_errors_and_writes_nothing(api_as, make_user, make_unit, db_session, run_jobs):
    unit = make_unit("后台任务乙县人民政府")
    auditor = api_as(make_user(Role.auditor))
    job_id = upload(auditor, ledger_xlsx(unit.name, 30, bad_row=7)).json["id"]
    assert run_jobs() == ["failed"]
    failed = auditor.get(f"/api/v1/jobs/{job_id}").json
    assert failed["status"] == "failed" and "未写入任何数据" in failed["message"]
    assert failed["result"]["errors"] == [{"row": 9, "column": "开设日期", "reason": "日期不存在"}]
    assert db_session.scalar(sa.select(sa.func.count(Account.id)).where(Account.unit_id == unit.id)) == 0


def test_jobs_are_private_to_their_owner_and_admins(api_as, make_user, make_unit, run_jobs):
    unit = make_unit("后台任务丙县人民政府")
    owner = api_as(make_user(Role.auditor))
    job_id = owner.post("/api/v1/reports/accounts/exports", json={"format": "csv"}).json["id"]
    run_jobs()
    other = api_as(make_user(Role.auditor))
    assert other.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert other.get(f"/api/v1/jobs/{job_id}/file").status_code == 404
    assert job_id not in [j["id"] for j in other.get("/api/v1/jobs").json["items"]]
    assert job_id in [j["id"] for j in owner.get("/api/v1/jobs").json["items"]]
    admin = api_as(make_user(Role.admin, unit=unit))
    assert admin.get(f"/api/v1/jobs/{job_id}").json["status"] == "done"
    file = owner.get(f"/api/v1/jobs/{job_id}/file")
    assert file.status_code == 200 and file.data.startswith("\ufeff平台".encode())


def test_bad_export_request_is_refused_and_queues_nothing(api_as, make_user, db_session):
    auditor = api_as(make_user(Role.auditor))
    before = db_session.scalar(sa.select(sa.func.count(JobRun.id)))
    response = auditor.post("/api/v1/reports/accounts/exports", json={"format": "pdf", "platform": "myspace"})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
    assert db_session.scalar(sa.select(sa.func.count(JobRun.id))) == before


def test_operator_may_not_import_through_a_job(api_as, make_user, make_unit, db_session):
    reviewer = api_as(make_user(Role.reviewer_1, unit=make_unit("后台任务丁县人民政府")))
    response = upload(reviewer, ledger_xlsx("后台任务丁县人民政府", 1))
    assert response.status_code == 403
    assert db_session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == "ledger_import")) == 0


def test_broker_down_fails_the_new_job_with_503(app, api_as, make_user, monkeypatch, db_session):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(app.extensions["celery"], "send_task", refuse)
    auditor = api_as(make_user(Role.auditor))
    response = auditor.post("/api/v1/reports/accounts/exports", json={})
    assert response.status_code == 503 and response.json["error"]["message"] == "任务队列暂不可用，请稍后重试"
    job = db_session.scalars(sa.select(JobRun).order_by(JobRun.id.desc())).first()
    assert job.status == "failed" and "任务队列暂不可用" in job.message


def test_sweep_resends_lost_messages_and_fails_jobs_of_dead_workers(app, make_user, db_session):
    user = make_user(Role.auditor)
    lost = jobs.create("ledger_export", user, {"format": "csv"})
    dead = jobs.create("ledger_export", user, {"format": "csv"})
    fresh = jobs.create("ledger_export", user, {"format": "csv"})
    long_ago = utcnow() - timedelta(hours=1)
    lost.created_at = lost.enqueued_at = long_ago
    dead.created_at, dead.status, dead.heartbeat_at = long_ago, "running", long_ago
    db_session.commit()
    requeue, failed = jobs.sweep()
    assert requeue == [lost.id] and failed == [dead.id]
    assert fresh.status == "queued"
    assert dead.status == "failed" and "请重新提交" in dead.message
