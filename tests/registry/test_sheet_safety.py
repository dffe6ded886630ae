"""Spreadsheets in and out of the registry: bounded imports, guarded exports, clean names.

Hardening #19: a 1.6 KB XLSX declaring A1:XFD1048576 took gigabytes on import; names such as
=HYPERLINK(...) became live formulas in the report workbooks; a control character in a unit or
account name made every report workbook in scope answer 500.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from auth.models import Role
from oversight import discovery
from oversight import findings as findings_service
from oversight.findings import FindingInput, today_cn
from oversight.models import FindingKind
from registry.models import Account
from tests.foundation.test_sheets import bomb_rows, declared_huge_xlsx, memory_cap, peak_mib, text_row

__all__ = ["memory_cap"]  # the fixture, used below

FORMULA = '=HYPERLINK("http://evil.example/x","点此查看")'


def upload(client, data: bytes, name: str = "台账.xlsx"):
    return client.post(
        "/api/v1/registry/imports", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


@pytest.fixture
def auditor(make_user, api_as):
    return api_as(make_user(Role.auditor))


# ----------------------------------------------------------------------------- import


def test_import_of_a_declared_huge_sheet_stays_small(auditor, memory_cap, db_session):
    data = declared_huge_xlsx(bomb_rows(20_000))
    assert len(data) < 2000
    before = db_session.scalar(sa.select(sa.func.count(Account.id)))
    response, peak = peak_mib(upload, auditor, data)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "import_rows_invalid" or error["message"]
    assert peak < 64, f"peak {peak:.1f} MiB"
    assert db_session.scalar(sa.select(sa.func.count(Account.id))) == before


def test_import_refuses_too_many_rows_and_columns(app, auditor, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    rows = text_row(1, "平台", "平台账号ID", "账号名称") + "".join(
        text_row(n, "微博", f"u{n}", "名") for n in range(2, 7)
    )
    response = upload(auditor, declared_huge_xlsx(rows))
    assert response.status_code == 422
    errors = response.json["error"]["details"]["errors"]
    assert errors == [{"row": 5, "column": None, "reason": "数据超过 3 行（不含表头），请拆分文件后分批导入"}]

    monkeypatch.setitem(app.config, "IMPORT_MAX_COLUMNS", 2)
    response = upload(auditor, declared_huge_xlsx(text_row(1, "平台", "平台账号ID", "账号名称")))
    assert response.status_code == 422
    assert "超过 2 列" in response.json["error"]["details"]["errors"][0]["reason"]


def test_discovery_list_import_is_bounded(app, memory_cap, monkeypatch):
    with app.app_context():
        with pytest.raises(discovery.ImportRowsInvalid):
            peak_mib(discovery.parse_import, declared_huge_xlsx(bomb_rows(20_000)), "list.xlsx")
        monkeypatch.setitem(app.config, "DISCOVERY_IMPORT_MAX_ROWS", 1)
        text = "平台,账号ID,账号名称\n微博,a,甲\n微博,b,乙\n".encode()
        with pytest.raises(discovery.ImportRowsInvalid) as caught:
            discovery.parse_import(text, "list.csv")
    assert "数据超过 1 行" in str(caught.value.errors)


def test_import_refuses_control_characters_in_names(auditor, make_unit):
    unit = make_unit(f"控制字符县{uuid.uuid4().hex[:4]}")
    text = io.StringIO()
    csv.writer(text).writerows(
        [["平台", "平台账号ID", "账号名称", "主办单位"], ["微博", "cc1", "坏\x07名称", unit.name]]
    )
    response = upload(auditor, text.getvalue().encode("utf-8-sig"), "台账.csv")
    assert response.status_code == 422
    (error,) = response.json["error"]["details"]["errors"]
    assert error["row"] == 2 and error["column"] == "账号名称" and "控制字符" in error["reason"]


# ----------------------------------------------------------------------------- API validation


def test_api_refuses_control_characters(make_user, api_as, make_unit):
    admin = api_as(make_user(Role.admin))
    response = admin.post("/api/v1/units", json={"name": "新单位\x00", "kind": "department"})
    assert response.status_code == 422
    assert "控制字符" in str(response.json["error"]["details"])
    unit = make_unit(f"校验县{uuid.uuid4().hex[:4]}")
    response = admin.patch(f"/api/v1/units/{unit.id}", json={"name": "改名\x1b[31m"})
    assert response.status_code == 422
    auditor = api_as(make_user(Role.auditor))
    response = auditor.post("/api/v1/accounts", json={"platform": "weibo", "name": "账号\u2028名", "unit_id": unit.id})
    assert response.status_code == 422 and "控制字符" in str(response.json["error"]["details"]["json"]["name"])
    response = auditor.post(
        "/api/v1/accounts",
        json={"platform": "weibo", "name": "好名字", "unit_id": unit.id, "purpose": "第一\n第二\x08"},
    )
    assert response.status_code == 422 and "控制字符" in str(response.json["error"]["details"]["json"]["purpose"])
    response = auditor.post(
        "/api/v1/accounts",
        json={"platform": "weibo", "name": "好名字", "unit_id": unit.id, "profile_url": "javascript:alert(1)"},
    )
    assert response.status_code == 422 and "http" in str(response.json["error"]["details"]["json"]["profile_url"])


# ----------------------------------------------------------------------------- exports


@pytest.fixture
def poisoned(make_unit, make_account):
    """Legacy or platform-sourced data the validation would refuse today."""
    unit = make_unit(f"=1+1单位{uuid.uuid4().hex[:4]}")
    account = make_account(unit, "weibo", uid=f"@uid{uuid.uuid4().hex[:6]}", name=FORMULA, opened_on=date(2026, 1, 5))
    other = make_account(unit, "douyin", name="坏\x07账\x1b号", credentials=False)
    other.followers = 12
    findings_service.upsert_many(
        [
            FindingInput(
                kind=FindingKind.inactive_14d,
                fingerprint=f"t:{uuid.uuid4().hex}",
                evidence={"message": "+来自平台的说明\x0b"},
                account_id=account.id,
                unit_id=unit.id,
            )
        ]
    )
    return unit, account, other


def cells(data: bytes) -> list:
    workbook = load_workbook(io.BytesIO(data))
    return [c for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def assert_guarded(data: bytes, unit, account) -> None:
    found = cells(data)
    assert not [c.coordinate for c in found if c.data_type == "f"], "a live formula in the workbook"
    values = {c.value for c in found}
    assert "'" + account.name in values or "'" + unit.name in values
    assert not any(isinstance(v, str) and any(ch in v for ch in "\x07\x0b\x1b") for v in values)


def test_report_workbooks_carry_no_formulas_and_survive_control_characters(auditor, poisoned):
    unit, account, _other = poisoned
    year = today_cn().year
    quarter = f"{year}Q{(today_cn().month - 1) // 3 + 1}"
    for url in (
        f"/api/v1/reports/annual.xlsx?year={year}",
        f"/api/v1/reports/bulletin.xlsx?quarter={quarter}",
        f"/api/v1/reports/compliance.xlsx?from={year}-01-01&to={today_cn().isoformat()}",
        "/api/v1/findings.xlsx",
        "/api/v1/reports/accounts.xlsx",
    ):
        response = auditor.get(url)
        assert response.status_code == 200, (url, response.data[:300])
        assert_guarded(response.data, unit, account)
    annual = load_workbook(io.BytesIO(auditor.get(f"/api/v1/reports/annual.xlsx?year={year}").data))
    names = [r[2] for r in annual["年度报表（政务新媒体）"].iter_rows(values_only=True)]
    assert "'" + FORMULA in names and "坏账号" in names
    findings = load_workbook(io.BytesIO(auditor.get("/api/v1/findings.xlsx").data)).active
    row = next(r for r in findings.iter_rows(values_only=True) if r[3] == "'" + FORMULA)
    assert row[4] == "'" + account.platform_uid and row[6] == "'+来自平台的说明"


def test_ledger_csv_is_guarded_and_imports_back(auditor, poisoned):
    unit, account, _ = poisoned
    text = auditor.get(f"/api/v1/reports/accounts.csv?q={account.platform_uid}").data.decode("utf-8-sig")
    header, line = list(csv.reader(io.StringIO(text)))
    row = dict(zip(header, line, strict=True))
    assert row["账号名称"] == "'" + FORMULA and row["平台账号ID"] == "'" + account.platform_uid
    assert row["主办单位"] == "'" + unit.name
    again = upload(auditor, text.encode("utf-8-sig"), "台账.csv")
    assert again.status_code == 200, again.json
    assert again.json["unchanged"] == 1  # the quote is the guard, not part of the name
