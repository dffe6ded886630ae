"""The quarterly 通报 as a Word document: opened with python-docx and read back."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import quote

from docx import Document

from auth.models import Role
from oversight import findings
from oversight.findings import today_cn
from oversight.models import FindingKind
from reports.bulletin_doc import DOCX_MIME, cn_date
from tests.reports.test_formal_workbooks import county, this_quarter  # noqa: F401 - fixture
from tests.reports.test_report_jobs import login, make_finding, page


def read(data: bytes) -> tuple[str, list]:
    doc = Document(io.BytesIO(data))
    return "\n".join(p.text for p in doc.paragraphs), doc.tables


def test_bulletin_docx_api(api_as, make_user, county, make_unit, make_account, db_session):  # noqa: F811
    town = make_unit("丰源县石桥镇人民政府", region="丰源县")
    make_account(county, "weibo", uid="fy-doc-1")
    make_account(county, "wechat", uid="fy-doc-2")
    make_account(town, "weibo", uid="fy-doc-3")
    late = make_finding(county, message="县里未更新")
    make_finding(county, FindingKind.unregistered, message="县里未备案")
    fixing = make_finding(town, FindingKind.unregistered, message="镇里未备案")
    office = make_unit("丰源县委网信办", region="丰源县")
    officer = make_user(Role.auditor, unit=office)
    findings.act(late, "confirm", officer)
    findings.act(fixing, "confirm", officer)
    late.due_on = today_cn() - timedelta(days=1)
    db_session.flush()
    auditor = api_as(officer)
    quarter = this_quarter()
    response = auditor.get(f"/api/v1/reports/bulletin.docx?quarter={quarter}")
    assert response.status_code == 200 and response.mimetype == DOCX_MIME
    assert quote(f"季度通报_{quarter}.docx") in response.headers["Content-Disposition"]
    text, tables = read(response.data)
    lines = text.splitlines()
    label = f"{today_cn().year}年第{'一二三四'[(today_cn().month - 1) // 3]}季度"
    assert lines[0] == "丰源县委网信办"  # 发文机关标志 (no BULLETIN_ISSUER: the exporter's unit)
    assert lines[1] == ""  # no 文号 given and no BULLETIN_DOC_PREFIX
    assert lines[2] == f"关于{label}政务新媒体检查情况的通报"
    assert lines[3] == "各乡镇人民政府，县政府各部门，各有关单位："  # 主送 from BULLETIN_ADDRESSEES
    for heading in (
        "一、总体情况",
        "二、发现的问题",
        "三、整改落实情况",
        "四、提醒督办情况",
        "五、需要通报的单位",
        "六、工作要求",
    ):
        assert heading in lines
    assert "本期共检查政务新媒体账号3个，其中运行中3个，涉及2个单位。" in text
    assert "本期新发现问题3条（未备案/体外运行2条，超14天未更新1条）" in text
    assert "已整改或已排除0条，尚待核实1条。" in text
    assert "逾期未整改的单位：丰源县人民政府。" in text
    assert "问题已确认、正在整改的单位：丰源县人民政府、丰源县石桥镇人民政府。" in text
    assert cn_date(today_cn()) in lines  # the signing date, 2026年12月6日 form
    assert "UTC" not in text
    assert "抄送：" not in text  # no 抄送 given
    units, problems, _orders = tables
    assert [c.text for c in units.rows[0].cells][:3] == ["序号", "单位", "账号数"]
    by_unit = {r.cells[1].text: [c.text for c in r.cells] for r in units.rows[1:]}
    assert by_unit["丰源县人民政府"][2] == "2" and by_unit["丰源县人民政府"][5] == "2"
    assert by_unit["丰源县石桥镇人民政府"][2] == "1" and by_unit["丰源县石桥镇人民政府"][5] == "1"
    assert [c.text for c in problems.rows[0].cells] == [
        "序号",
        "单位",
        "账号",
        "问题类型",
        "状态",
        "整改期限",
        "是否逾期",
    ]
    assert len(problems.rows) == 4 and problems.rows[1].cells[0].text == "1"
    assert auditor.get("/api/v1/reports/bulletin.docx?quarter=2026Q5").status_code == 422
    assert api_as(make_user(Role.reviewer_1)).get(f"/api/v1/reports/bulletin.docx?quarter={quarter}").status_code == 403


def test_bulletin_docx_scope_follows_the_user(api_as, make_user, county, make_unit):  # noqa: F811
    other = make_unit("外县人民政府", region="外县")
    make_finding(county, message="县里的问题")
    make_finding(other, message="外县的问题")
    operator = api_as(make_user(Role.operator, unit=county))
    text, tables = read(operator.get(f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}").data)
    assert "本期新发现问题1条" in text and "外县" not in text
    assert [r.cells[1].text for r in tables[1].rows[1:]] == ["丰源县人民政府"]


def test_report_page_has_the_word_button(client, make_user, county):  # noqa: F811
    make_finding(county)
    login(client, make_user(Role.auditor, unit=county))
    html = page(client, "/reports/")
    quarter = this_quarter()
    assert f'id="bulletin-docx-{quarter}"' in html and f"/reports/bulletin.docx?quarter={quarter}" in html
    # the buttons and the 季度 choice name the quarter as people say it, the code stays in the URL
    label = f"{quarter[:4]}年第{'一二三四'[int(quarter[-1]) - 1]}季度"
    assert f"{label}检查情况通报（XLSX）" in html and f"{label}通报（Word）" in html
    assert f'<option value="{quarter}">{label}</option>' in html
    assert f"{quarter} 季度" not in html and f">{quarter}<" not in html
    response = client.get(f"/reports/bulletin.docx?quarter={quarter}")
    assert response.status_code == 200 and response.mimetype == DOCX_MIME
    text, _ = read(response.data)
    assert text.splitlines()[0] == "丰源县人民政府"
    bad = client.get("/reports/bulletin.docx?quarter=2026Q9")
    assert bad.status_code == 302 and bad.location.endswith("/reports/")


def test_bulletin_docx_without_publications_says_so(api_as, make_user, county, make_account):  # noqa: F811
    """Nothing went out through the platform this quarter: the 通报 says the rate is not computed
    instead of printing a bare dash (三审合规率—)."""
    make_account(county, "weibo", uid="fy-docx-none")
    text, _ = read(api_as(make_user(Role.auditor)).get(f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}").data)
    assert "期间经本平台发布信息0条，不计算三审合规率。" in text
    assert "三审合规率—" not in text
