"""台账 import (all-or-nothing, row errors, idempotent) and export (XLSX/CSV round trip), API and CLI."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry
from auth.models import Role
from oversight.models import Finding, FindingKind
from registry import importexport
from registry.models import Account, AccountEvent, AccountStatus, Platform

HEADERS = ["平台", "平台账号ID", "账号名称", "主办单位", "认证主体", "是否已认证", "开设日期", "联系邮箱", "状态"]


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台账"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], headers: list[str] = HEADERS, encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def upload(client, data: bytes, name: str = "台账.xlsx", **form: Any):
    return client.post(
        "/api/v1/registry/imports",
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def totals(db_session) -> tuple[int, int, int]:
    return (
        db_session.scalar(sa.select(sa.func.count(Account.id))),
        db_session.scalar(sa.select(sa.func.count(AccountEvent.id))),
        db_session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action.like("account:%"))),
    )


@pytest.fixture
def units(make_unit):
    return [make_unit(f"丙市第{i}局") for i in range(10)]


@pytest.fixture
def auditor_client(make_user, api_as):
    return api_as(make_user(Role.auditor))


PLATFORMS = ["微博", "微信公众号", "抖音", "今日头条", "快手"]


def rows_with_reason(units) -> list[list[Any]]:
    """1,000 rows over 10 units × 5 platforms: repeats of a (unit, platform) carry a duplicate reason."""
    rows = []
    for i in range(1000):
        unit = units[i % 10]
        platform = PLATFORMS[(i // 10) % 5]
        rows.append(
            [platform, f"uid{i:05d}", f"{unit.name}账号{i}", unit.name, unit.name, "是", date(2023, 1, 1), None, None]
        )
    return [[*row, "矩阵账号，职能不同"] for row in rows]


HEADERS_DUP = [*HEADERS, "重复开设理由"]


def test_template_download(auditor_client):
    response = auditor_client.get("/api/v1/registry/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == importexport.XLSX_MIME
    workbook = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in workbook["台账"][1]] == [c.header for c in importexport.COLUMNS]
    notes = [row[0] for row in workbook["填写说明"].iter_rows(values_only=True)]
    assert "平台" in notes and "主办单位" in notes


def test_good_file_twice_creates_once(db_session, units, auditor_client):
    data = xlsx(rows_with_reason(units), HEADERS_DUP)
    first = upload(auditor_client, data)
    assert first.status_code == 200, first.json
    assert first.json | {"errors": []} == {
        "rows": 1000,
        "created": 1000,
        "updated": 0,
        "unchanged": 0,
        "change_requests": 0,
        "dry_run": False,
        "errors": [],
    }
    after_first = totals(db_session)
    second = upload(auditor_client, data)
    assert second.status_code == 200
    assert (second.json["created"], second.json["updated"], second.json["unchanged"]) == (0, 0, 1000)
    after_second = totals(db_session)
    assert after_second[:2] == after_first[:2]  # no new accounts, no new events
    assert after_second[2] == after_first[2] + 1  # one audit entry per import run
    account = db_session.scalar(sa.select(Account).where(Account.platform_uid == "uid00007"))
    assert account.status is AccountStatus.active and account.verified is True
    assert account.opened_on == date(2023, 1, 1)
    event = db_session.scalar(sa.select(AccountEvent).where(AccountEvent.account_id == account.id))
    assert event.action == "import" and event.changes["name"] == [None, account.name]
    entries = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "account:import")).all()
    assert len(entries[0].after["created"]) == 1000


def test_one_bad_row_among_1000_writes_nothing(db_session, units, auditor_client):
    rows = rows_with_reason(units)
    rows[535][6] = "2023-02-30"  # spreadsheet row 537 (header is row 1)
    before = totals(db_session)
    response = upload(auditor_client, xlsx(rows, HEADERS_DUP))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "import_rejected"
    assert error["details"]["rows"] == 1000
    assert error["details"]["errors"] == [{"row": 537, "column": "开设日期", "reason": "日期不存在"}]
    assert "1 处错误" in error["message"]
    assert totals(db_session) == before


def test_row_errors_name_row_column_and_reason(db_session, units, auditor_client):
    unit = units[0]
    rows = [
        ["微博", "w1", "好账号", unit.name, None, "是", "2024-01-02", "a@b.cn", None],
        ["脸书", "w2", "平台不对", unit.name, None, None, None, None, None],
        ["抖音", "w3", "单位不对", "不存在的单位", None, None, None, None, None],
        ["微博", "w1", "重复行", unit.name, None, None, None, None, None],
        ["快手", "w5", "邮箱不对", unit.name, None, "也许", "2024/1/2", "not-an-email", "很好"],
        ["微信公众号", "", "", unit.name, None, None, None, None, None],
        ["今日头条", "w7", "第二个微博", unit.name, None, None, None, None, None],
    ]
    rows.append(["微博", "w8", "同单位第二个微博", unit.name, None, None, None, None, None])
    response = upload(auditor_client, csv_bytes(rows), "台账.csv")
    assert response.status_code == 422
    errors = response.json["error"]["details"]["errors"]
    assert {(e["row"], e["column"]) for e in errors} == {
        (3, "平台"),
        (4, "主办单位"),
        (5, "平台账号ID"),
        (6, "是否已认证"),
        (6, "联系邮箱"),
        (6, "状态"),
        (7, "平台账号ID"),
        (7, "账号名称"),
        (9, "重复开设理由"),
    }
    reasons = {(e["row"], e["column"]): e["reason"] for e in errors}
    assert reasons[(5, "平台账号ID")] == "与第 2 行重复（同一平台同一账号ID）"
    assert "不存在的单位" in reasons[(4, "主办单位")]
    assert db_session.scalar(sa.select(sa.func.count(Account.id))) == 0


def test_header_problems(db_session, auditor_client):
    response = upload(auditor_client, csv_bytes([["微博"]], ["平台", "帐号名称"]), "x.csv")
    assert response.status_code == 422
    errors = response.json["error"]["details"]["errors"]
    assert {"row": 1, "column": "帐号名称", "reason": "无法识别的列名（请使用模板中的列名）"} in errors
    assert {"row": 1, "column": "平台账号ID", "reason": "缺少必填列"} in errors
    bad = upload(auditor_client, b"\x00\x01garbage", "x.xls")
    assert bad.status_code == 422 and "xls" in bad.json["error"]["details"]["errors"][0]["reason"]


def test_changed_row_updates_with_a_change_event(db_session, units, auditor_client):
    unit = units[1]
    rows = [["微博", "u1", "原名称", unit.name, unit.name, "否", "2024-01-02", None, "运行中"]]
    assert upload(auditor_client, xlsx(rows)).json["created"] == 1
    rows[0][2], rows[0][7] = "新名称", "ops@example.cn"
    response = upload(auditor_client, xlsx(rows))
    assert (response.json["updated"], response.json["created"]) == (1, 0)
    account = db_session.scalar(sa.select(Account).where(Account.platform_uid == "u1"))
    assert account.name == "新名称" and account.contact_email == "ops@example.cn"
    event = db_session.scalars(
        sa.select(AccountEvent).where(AccountEvent.account_id == account.id).order_by(AccountEvent.id.desc())
    ).first()
    assert event.action == "import_update"
    assert event.changes == {"name": ["原名称", "新名称"], "contact_email": [None, "ops@example.cn"]}
    # a status change is not an import's business
    rows[0][8] = "已暂停"
    refused = upload(auditor_client, xlsx(rows))
    assert refused.status_code == 422
    assert refused.json["error"]["details"]["errors"][0]["column"] == "状态"


def test_subject_mismatch_from_import(db_session, units, auditor_client):
    rows = [["抖音", "d1", "丙市抖音", units[2].name, "丙市某某传媒有限公司", "是", None, None, None]]
    assert upload(auditor_client, xlsx(rows)).status_code == 200
    account = db_session.scalar(sa.select(Account).where(Account.platform_uid == "d1"))
    finding = db_session.scalar(sa.select(Finding).where(Finding.account_id == account.id))
    assert finding.kind is FindingKind.subject_mismatch


def test_dry_run_writes_nothing(db_session, units, auditor_client):
    rows = [["微博", "dry1", "试导入", units[0].name, None, None, None, None, None]]
    before = totals(db_session)
    response = upload(auditor_client, xlsx(rows), dry_run="true")
    assert response.status_code == 200 and response.json["dry_run"] is True and response.json["created"] == 1
    assert totals(db_session) == before


def test_gbk_csv(db_session, units, auditor_client):
    rows = [["微信公众号", "gh_gbk", "国标编码账号", units[3].name, None, None, None, None, None]]
    response = upload(auditor_client, csv_bytes(rows, encoding="gb18030"), "台账.csv")
    assert response.status_code == 200, response.json
    assert db_session.scalar(sa.select(Account.name).where(Account.platform_uid == "gh_gbk")) == "国标编码账号"


# ----------------------------------------------------------------------------- operators


def test_operator_import_is_scoped_and_goes_through_approval(db_session, make_unit, make_user, api_as):
    own, other = make_unit("丁县农业农村局"), make_unit("戊县水利局")
    operator = api_as(make_user(Role.operator, unit=own))
    existing = Account(
        platform=Platform.weibo, platform_uid="own1", name="丁县农业", unit_id=own.id, status=AccountStatus.active
    )
    foreign = Account(
        platform=Platform.weibo, platform_uid="foreign1", name="戊县水利", unit_id=other.id, status=AccountStatus.active
    )
    db_session.add_all([existing, foreign])
    db_session.flush()
    rows = [
        ["抖音", "own2", "丁县农业抖音", own.name, own.name, None, None, None, None],
        ["微博", "own1", "丁县农业发布", own.name, None, None, None, None, None],
        ["快手", "x1", "别人的", other.name, None, None, None, None, None],
        ["微博", "foreign1", "抢别人的", own.name, None, None, None, None, None],
        ["头条", "own3", "直接开通", own.name, None, None, None, None, "运行中"],
    ]
    response = upload(operator, xlsx(rows))
    assert response.status_code == 422
    errors = {(e["row"], e["column"]) for e in response.json["error"]["details"]["errors"]}
    assert errors == {(4, "主办单位"), (5, "平台账号ID"), (6, "状态")}
    response = upload(operator, xlsx(rows[:2]))
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["change_requests"]) == (1, 1)
    created = db_session.scalar(sa.select(Account).where(Account.platform_uid == "own2"))
    assert created.status is AccountStatus.applying and created.filing_due_on is not None
    db_session.refresh(existing)
    assert existing.status is AccountStatus.changing
    assert existing.pending_change == {"name": "丁县农业发布"}
    again = upload(operator, xlsx(rows[:2]))
    assert (again.json["created"], again.json["change_requests"], again.json["unchanged"]) == (0, 0, 2)


def test_reviewer_cannot_import(db_session, make_user, api_as, units):
    reviewer = api_as(make_user(Role.reviewer_2, unit=units[0]))
    response = upload(reviewer, xlsx([["微博", "r1", "x账号", units[0].name, None, None, None, None, None]]))
    assert response.status_code == 403


# ----------------------------------------------------------------------------- export


def test_export_round_trips(db_session, units, auditor_client):
    rows = rows_with_reason(units)[:50]
    rows[0][7] = "a@b.cn"
    assert upload(auditor_client, xlsx(rows, HEADERS_DUP)).status_code == 200
    target = db_session.scalar(sa.select(Account).where(Account.platform_uid == "uid00000"))
    target.last_post_at = datetime(2026, 1, 2, 3, 4, 5)
    target.followers = 1234
    db_session.flush()
    for fmt in ("xlsx", "csv"):
        exported = auditor_client.get(f"/api/v1/reports/accounts.{fmt}?q=丙市")
        assert exported.status_code == 200
        assert exported.headers["Content-Disposition"].startswith("attachment")
        before = totals(db_session)
        response = upload(auditor_client, exported.data, f"export.{fmt}")
        assert response.status_code == 200, response.json
        assert (response.json["rows"], response.json["unchanged"], response.json["updated"]) == (50, 50, 0)
        assert totals(db_session)[:2] == before[:2]


def test_export_content_and_filters(db_session, units, auditor_client):
    rows = [
        ["微博", "e1", "丙市导出一", units[0].name, units[0].name, "是", "2024-03-04", None, None],
        ["抖音", "e2", "丙市导出二", units[1].name, None, "否", None, None, "已暂停"],
    ]
    assert upload(auditor_client, xlsx(rows)).status_code == 200
    data = auditor_client.get("/api/v1/reports/accounts.xlsx?platform=weibo&q=丙市导出").data
    sheet = load_workbook(io.BytesIO(data), read_only=True)["台账"]
    table = [r[1:] for r in list(sheet.iter_rows(values_only=True))[2:]]  # title, 制表单位 lines; 序号
    assert list(table[0]) == importexport.EXPORT_HEADERS
    assert len(table) == 2
    row = dict(zip(table[0], [*table[1], *[None] * len(table[0])], strict=False))  # empty cells are omitted
    assert row["平台"] == "微博" and row["主办单位"] == units[0].name and row["是否已认证"] == "是"
    assert row["开设日期"] == datetime(2024, 3, 4)  # a real date cell
    assert row["状态"] == "运行中" and row["备案逾期"] in ("是", "否")
    text = auditor_client.get("/api/v1/reports/accounts.csv?status=suspended&q=丙市导出").data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == 2 and lines[1][2] == "丙市导出二" and lines[1][lines[0].index("状态")] == "已暂停"


def test_xlsx_writer_escapes_and_handles_types():
    out = io.BytesIO()
    writer = importexport.XlsxWriter(["a", "b", "c", "d", "e"])
    # Stored datetimes are naive UTC; the sheet shows Beijing time (04:30 UTC = 12:30 北京时间).
    count = writer.write([["<&>\x01\"'", 3, date(2024, 2, 29), datetime(2024, 2, 29, 4, 30), None]], out)
    assert count == 1
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    assert [c.value for c in sheet[2]] == ["<&>\"'", 3, datetime(2024, 2, 29), datetime(2024, 2, 29, 12, 30), None]


# ----------------------------------------------------------------------------- CLI


def test_cli_import_and_export(app, db_session, units, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([["微博", "cli1", "命令行账号", units[4].name, None, None, None, None, None]]))
    result = runner.invoke(args=["registry", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "新建 1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["微博", "cli2", "坏行", "没有这个单位", None, None, "昨天", None, None]]))
    result = runner.invoke(args=["registry", "import", str(bad)])
    assert result.exit_code == 1
    assert "第 2 行[主办单位]" in result.output and "第 2 行[开设日期]" in result.output
    assert db_session.scalar(sa.select(Account.id).where(Account.platform_uid == "cli2")) is None
    out = tmp_path / "ledger.csv"
    result = runner.invoke(args=["registry", "export", str(out), "--platform", "weibo"])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("平台,平台账号ID,账号名称,主办单位") and any("cli1" in line for line in lines)
    result = runner.invoke(args=["registry", "export", str(tmp_path / "ledger.txt")])
    assert result.exit_code != 0
    template = tmp_path / "template.xlsx"
    assert runner.invoke(args=["registry", "template", str(template)]).exit_code == 0
    assert template.exists()


def test_csv_export_guards_against_formula_injection(db_session, units, auditor_client):
    headers = [*HEADERS, "联系电话"]
    rows = [["微博", "f1", '=HYPERLINK("http://x")', units[5].name, None, None, None, None, None, "+86 571 1234"]]
    assert upload(auditor_client, csv_bytes(rows, headers), "in.csv").status_code == 200
    text = auditor_client.get("/api/v1/reports/accounts.csv?q=f1").data.decode("utf-8-sig")
    line = list(csv.reader(io.StringIO(text)))[1]
    assert line[2] == '\'=HYPERLINK("http://x")' and "'+86 571 1234" in line
    again = upload(auditor_client, text.encode("utf-8-sig"), "back.csv")
    assert again.status_code == 200 and again.json["unchanged"] == 1
