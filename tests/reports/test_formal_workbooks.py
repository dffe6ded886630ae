"""Every report workbook a clerk files has the filed-form layout (common/formal_sheet.py):
merged title row, 制表单位/制表时间 line, 序号 column, borders, frozen header, A4 landscape fit to
width with the header row repeated, and Beijing times (never UTC)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from auth.models import Role
from common.timefmt import CN_TZ
from oversight.findings import today_cn
from tests.reports.test_report_jobs import make_finding


@pytest.fixture
def county(make_unit):
    return make_unit("丰源县人民政府", region="丰源县")


def this_quarter() -> str:
    today = today_cn()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def assert_formal(ws, title_start: str, issuer: str) -> None:
    assert str(ws["A1"].value).startswith(title_start)
    assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges)  # the merged title row
    assert ws["A2"].value == f"制表单位：{issuer}"
    made = ws.cell(row=2, column=ws.max_column).value
    assert made.startswith("制表时间：") and made.endswith("（北京时间）")
    assert ws["A3"].value == "序号"
    for col in range(1, ws.max_column + 1):
        assert ws.cell(row=3, column=col).border.left.style == "thin"
    if ws.max_row > 3:
        assert ws["A4"].value == 1 and ws["A4"].border.bottom.style == "thin"
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"  # A4
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_options.horizontalCentered


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/api/v1/reports/compliance.xlsx?from=2026-01-01&to=2026-12-31", "政务新媒体合规情况"),
        (f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter()}", "政务新媒体"),
        (f"/api/v1/reports/annual.xlsx?year={today_cn().year}", "政府网站与政务新媒体工作年度报表"),
        ("/api/v1/findings.xlsx", "问题线索清单"),
    ],
)
def test_report_workbooks_have_the_filed_form(api_as, make_user, county, make_account, url, title):
    acct = make_account(county, "weibo", uid="fy-formal-1")
    make_finding(county)
    auditor = make_user(Role.auditor, unit=county)
    response = api_as(auditor).get(url)
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    for ws in wb.worksheets:
        assert_formal(ws, title, "丰源县人民政府")
    assert acct.id


def test_bulletin_times_are_beijing_not_utc(api_as, make_user, county, make_account, db_session):
    acct = make_account(county, "weibo", uid="fy-formal-2")
    stale = datetime(2026, 11, 1, 18, 30)  # naive UTC: 2026-11-02 02:30 in Beijing
    acct.last_post_at = stale
    acct.monitored_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    finding = make_finding(county)
    db_session.flush()
    wb = load_workbook(
        io.BytesIO(api_as(make_user(Role.auditor)).get(f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter()}").data)
    )
    silent = list(wb["超期未更新账号"].iter_rows(values_only=True))
    assert silent[2][6] == "最近发文时间"
    assert silent[3][6] == datetime(2026, 11, 2, 2, 30)  # Beijing, not 18:30 UTC
    assert wb["超期未更新账号"].cell(row=4, column=7).number_format == "yyyy-mm-dd hh:mm"
    detail = list(wb["问题账号明细"].iter_rows(values_only=True))
    seen = finding.first_seen_at.replace(tzinfo=UTC).astimezone(CN_TZ).replace(tzinfo=None, microsecond=0)
    assert detail[3][10].replace(microsecond=0) == seen


def test_ledger_export_has_the_filed_form_and_imports_back(api_as, make_user, county, make_account):
    acct = make_account(county, "weibo", uid="fy-formal-ledger")
    acct.last_post_at = datetime(2026, 11, 1, 18, 30)  # naive UTC
    auditor = api_as(make_user(Role.auditor, unit=county))
    response = auditor.get("/api/v1/reports/accounts.xlsx?q=fy-formal-ledger")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data))["台账"]
    assert_formal(ws, "政务新媒体台账", "丰源县人民政府")
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][1:3] == ("平台", "平台账号ID") and rows[3][0] == 1 and rows[3][2] == "fy-formal-ledger"
    assert rows[3][rows[2].index("最后发布时间（北京时间）")] == datetime(2026, 11, 2, 2, 30)  # Beijing time
    assert ws.cell(row=4, column=ws.max_column).border.right.style == "thin"  # empty cells bordered too
    back = auditor.post(
        "/api/v1/registry/imports",
        data={"file": (io.BytesIO(response.data), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert back.status_code == 200, back.json
    assert (back.json["rows"], back.json["created"], back.json["updated"], back.json["unchanged"]) == (1, 0, 0, 1)


def test_compliance_rates_are_numbers_with_a_percent_format(api_as, make_user, county, make_account):
    make_account(county, "weibo", uid="fy-formal-rate")
    wb = load_workbook(
        io.BytesIO(api_as(make_user(Role.auditor)).get("/api/v1/reports/compliance.xlsx?from=2026-01-01").data)
    )
    ws = wb["按单位和平台"]
    header = [c.value for c in ws[3]]
    col = header.index("三审合规率") + 1
    assert ws.cell(row=4, column=col).number_format == "0.0%"
    assert ws.cell(row=4, column=col).value is None  # nothing published: empty, not the text "—"
    assert ws.cell(row=4, column=header.index("账号数") + 1).value == 1  # numbers stay numbers


def test_workbook_texts_read_as_filed(api_as, make_user, county, make_account):
    """生成时间 in the notes reads 2026-12-07 08:57（北京时间）, not an ISO stamp; 置信度 is a
    percentage; 是否逾期 says 否 rather than staying blank (as in the Word 通报)."""
    make_account(county, "weibo", uid="fy-formal-3")
    make_finding(county)
    auditor = make_user(Role.auditor, unit=county)
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）$")
    for url, sheet in [
        ("/api/v1/reports/compliance.xlsx?from=2026-01-01&to=2026-12-31", "说明"),
        (f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter()}", "概况"),
        (f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter()}", "说明"),
        (f"/api/v1/reports/annual.xlsx?year={today_cn().year}", "说明"),
    ]:
        rows = {
            r[1]: r[2]
            for r in load_workbook(io.BytesIO(api_as(auditor).get(url).data))[sheet].iter_rows(values_only=True)
        }
        assert stamp.match(rows["生成时间"]), (url, sheet, rows["生成时间"])
    ws = load_workbook(io.BytesIO(api_as(auditor).get("/api/v1/findings.xlsx").data)).active
    header = [c.value for c in ws[3]]
    first = ws[4]
    confidence = first[header.index("置信度")]
    assert confidence.number_format.endswith("%") and 0 < confidence.value <= 1
    assert first[header.index("是否逾期")].value in {"是", "否"}
