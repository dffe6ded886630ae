"""An account its unit has not authorised is a blind spot of the office, not a problem of the
account: the 通报 (XLSX and Word) and the compliance figures leave ``not_authorised`` findings out
of “本期新发现问题”/“期间新增问题” and show them on their own line, “未授权巡检账号 N 个”; once the
account is authorised (the finding resolved) the line says 0 and the Word sentence goes."""

from __future__ import annotations

import io

import openpyxl
from docx import Document

from auth.models import Role
from oversight import findings
from oversight.findings import FindingInput
from oversight.inspection.judge import not_authorised_fingerprint
from oversight.models import FindingKind
from reports.bulletin_doc import bulletin_docx
from reports.service import bulletin_data, bulletin_xlsx, compliance, quarter
from tests.reports.test_formal_workbooks import this_quarter
from tests.reports.test_report_jobs import login, page


def _finding(kind, account, fingerprint, message):
    return findings.upsert_many(
        [
            FindingInput(
                kind=kind,
                fingerprint=fingerprint,
                evidence={"message": message},
                account_id=account.id,
                unit_id=account.unit_id,
            )
        ]
    ).created[0]


def _summary(data: bytes) -> dict[str, object]:
    ws = openpyxl.load_workbook(io.BytesIO(data))["概况"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r and len(r) >= 3]
    return {str(r[1]): r[2] for r in rows}  # 序号, 项目, 数值 under the formal title rows


def test_not_authorised_is_its_own_line_not_a_problem(db_session, make_unit, make_account, make_user, client):
    unit = make_unit("授权统计测试县人民政府", region="授权统计测试县")
    blind = make_account(unit, "weibo", name="授权统计测试县文旅")
    silent = make_account(unit, "douyin", name="授权统计测试县应急")
    gap = _finding(FindingKind.not_authorised, blind, not_authorised_fingerprint(blind.id), "账号未授权，无法巡检")
    _finding(FindingKind.inactive_14d, silent, f"inactive_14d:account={silent.id}", "超14天未更新")
    p, scope = quarter(this_quarter()), {unit.id}

    totals = compliance(p, scope)["totals"]
    assert totals["accounts"] == 2 and totals["accounts_not_authorised"] == 1
    assert totals["findings_open"] + totals["findings_closed"] == 1  # only the real problem
    b = bulletin_data(p, scope)
    assert [f.kind for f, _ in b["found"]] == [FindingKind.inactive_14d]

    summary = _summary(bulletin_xlsx(p, scope))
    assert summary["未授权巡检账号（无法巡检，不计入问题）"] == 1
    assert summary["本期新发现问题"] == 1
    texts = [para.text for para in Document(io.BytesIO(bulletin_docx(p, scope))).paragraphs]
    assert any(t.startswith("本期新发现问题1条") for t in texts)
    assert any(t.startswith("未授权巡检账号1个") for t in texts)
    login(client, make_user(Role.auditor, unit=unit))
    html = page(client, "/reports/")
    assert '未授权巡检账号 <span id="not-authorised">1</span> 个（不计入问题）' in html

    # Negative twin: the unit authorises the account — nothing unauthorised is reported any more,
    # and the problem count is unchanged.
    assert findings.resolve_by_system(gap, "账号已授权", actor_label="system:inspection")
    db_session.flush()
    assert compliance(p, scope)["totals"]["accounts_not_authorised"] == 0
    summary = _summary(bulletin_xlsx(p, scope))
    assert summary["未授权巡检账号（无法巡检，不计入问题）"] == 0 and summary["本期新发现问题"] == 1
    texts = [para.text for para in Document(io.BytesIO(bulletin_docx(p, scope))).paragraphs]
    assert not any("未授权巡检账号" in t for t in texts)
