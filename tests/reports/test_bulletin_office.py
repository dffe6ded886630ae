"""The Word 通报's 公文 elements (发文字号, 主送, 发文机关, 成文日期, 抄送, 印发) and its 整改 and 提醒
figures, in the Word document (read back with python-docx) and in its XLSX; and its first page
rendered by LibreOffice (headless → PDF → pdftoppm), which must carry the same text.

LibreOffice is an optional tool (``make bulletin-deps``): without it the rendering test is skipped,
except under CI=true, where it fails, like the integration services (devkit/services.py)."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from auth.models import Role
from common.db import utcnow
from devkit.services import in_ci
from notify.models import Reminder, ReminderDelivery
from oversight import findings
from oversight.findings import today_cn
from oversight.workorders import service as workorders
from tests.reports.test_formal_workbooks import county, this_quarter  # noqa: F401 - fixture
from tests.reports.test_report_jobs import login, make_finding, page

ROOT = Path(__file__).resolve().parents[2]
PAGE_PNG = ROOT / "test-output" / "bulletin" / "bulletin-page1.png"


def read(data: bytes):
    doc = Document(io.BytesIO(data))
    return [p.text for p in doc.paragraphs], doc.tables


def _reminder(db_session, user, unit, n, channels):
    r = Reminder(
        key=f"test:{n}:{user.id}",
        event_key=f"test:{n}",
        user_id=user.id,
        kind="workorder_due",
        title="整改期限将到",
        body="测试提醒",
        unit_id=unit.id if unit is not None else None,
    )
    db_session.add(r)
    db_session.flush()
    for channel, status in channels:
        db_session.add(
            ReminderDelivery(
                target=f"{channel}:{n}:{user.id}",
                channel=channel,
                reminder_id=r.id,
                status=status,
                sent_at=utcnow() if status == "sent" else None,
            )
        )
    db_session.flush()


@pytest.fixture
def bulletin_site(app, db_session, county, make_unit, make_user, monkeypatch):  # noqa: F811
    town = make_unit("丰源县石桥镇人民政府", region="丰源县")
    office = make_unit("丰源县委网信办", region="丰源县")
    officer = make_user(Role.auditor, unit=office)
    late = make_finding(county, message="县里未更新")
    fixing = make_finding(county, message="县里另一个账号未更新")
    done = make_finding(town, message="镇里未更新")
    for f in (late, fixing, done):
        findings.act(f, "confirm", officer)
    workorders.order_of(late).due_on = today_cn() - timedelta(days=3)
    db_session.flush()
    assert len(workorders.escalate_overdue()) == 1
    findings.act(done, "resolve", officer, "已恢复更新，复核无误")  # its order closes as verified
    operator = make_user(Role.operator, unit=county)
    _reminder(db_session, operator, county, 1, [("email", "sent"), ("wecom", "sent")])
    _reminder(db_session, operator, county, 2, [("email", "sent"), ("dingtalk", "failed")])
    _reminder(db_session, operator, county, 3, [])
    db_session.commit()
    monkeypatch.setitem(app.config, "BULLETIN_DOC_PREFIX", "丰网信通")
    return {"officer": officer, "county": county, "town": town}


def test_word_bulletin_has_the_document_header_workorders_and_reminders(api_as, bulletin_site):
    api = api_as(bulletin_site["officer"])
    quarter = this_quarter()
    signed = today_cn()
    response = api.get(
        f"/api/v1/reports/bulletin.docx?quarter={quarter}&doc_no=3&to=各乡镇人民政府，县直各单位"
        f"&cc=市委网信办，县政府办公室&date={signed.isoformat()}"
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    lines, tables = read(response.data)
    text = "\n".join(lines)
    cn = f"{signed.year}年{signed.month}月{signed.day}日"
    # 版头: 发文机关标志, 发文字号 (prefix setting + year of 成文日期 + number), then the title, 主送
    assert lines[0] == "丰源县委网信办"
    assert lines[1] == f"丰网信通〔{signed.year}〕3号"
    assert lines[2].startswith("关于") and lines[2].endswith("政务新媒体检查情况的通报")
    assert lines[3] == "各乡镇人民政府，县直各单位："
    # 署名 and 成文日期 in Chinese date form, 抄送 and 印发 in the 版记
    assert lines.index("丰源县委网信办", 1) < lines.index(cn)
    assert "抄送：市委网信办，县政府办公室。" in lines
    assert f"丰源县委网信办　　{cn}印发" in lines
    assert "三、整改落实情况" in lines and "四、提醒督办情况" in lines
    assert (
        "本期下发整改工单3个，办结1个；目前未办结2个，其中逾期未整改1个、已升级督办1个。"
        "逾期或被升级督办的单位：丰源县人民政府（逾期1个）。"
    ) in text
    assert (
        "本期系统共发出提醒6次（站内提醒3次，电子邮件2次，企业微信群机器人1次，钉钉群机器人0次），"
        "归属各单位的提醒6次，未归属具体单位的提醒0次。"
    ) in text
    assert "逾期未整改的单位：丰源县人民政府。" in text
    _units, _problems, orders = tables
    assert [c.text for c in orders.rows[0].cells] == [
        "序号",
        "单位",
        "本期下发",
        "本期办结",
        "未办结",
        "逾期未整改",
        "已升级督办",
    ]
    body = [[c.text for c in r.cells] for r in orders.rows[1:]]
    assert body == [
        ["1", "丰源县人民政府", "2", "0", "2", "1", "1"],
        ["2", "丰源县石桥镇人民政府", "1", "1", "0", "0", "0"],
    ]


def test_full_document_number_and_defaults(api_as, bulletin_site, app, monkeypatch):
    api = api_as(bulletin_site["officer"])
    quarter = this_quarter()
    lines, _ = read(api.get(f"/api/v1/reports/bulletin.docx?quarter={quarter}&doc_no=X网信通〔2026〕12号").data)
    assert lines[1] == "X网信通〔2026〕12号"
    lines, _ = read(api.get(f"/api/v1/reports/bulletin.docx?quarter={quarter}").data)
    assert lines[1] == f"丰网信通〔{today_cn().year}〕　号"  # the number left blank to fill in by hand
    assert not any(line.startswith("抄送") for line in lines)
    monkeypatch.setitem(app.config, "BULLETIN_CC", "市委网信办")
    monkeypatch.setitem(app.config, "BULLETIN_ISSUER", "中共丰源县委网络安全和信息化委员会办公室")
    lines, _ = read(api.get(f"/api/v1/reports/bulletin.docx?quarter={quarter}").data)
    assert lines[0] == "中共丰源县委网络安全和信息化委员会办公室" and "抄送：市委网信办。" in lines


@pytest.mark.parametrize(
    ("query", "field"),
    [("doc_no=第三号", "doc_no"), ("doc_no=0", "doc_no"), ("date=2026-13-01", "date"), ("to=" + "单" * 301, "to")],
)
def test_bad_document_elements_are_422_with_the_field(api_as, bulletin_site, query, field):
    api = api_as(bulletin_site["officer"])
    response = api.get(f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert field in error["details"] and error["message"] == "通报的公文要素填写有误"


def test_number_only_needs_the_prefix_setting(api_as, bulletin_site, app, monkeypatch):
    monkeypatch.setitem(app.config, "BULLETIN_DOC_PREFIX", "")
    response = api_as(bulletin_site["officer"]).get(f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&doc_no=3")
    assert response.status_code == 422 and "BULLETIN_DOC_PREFIX" in response.get_json()["error"]["details"]["doc_no"][0]


def test_bulletin_xlsx_carries_workorders_and_reminders(api_as, bulletin_site):
    data = api_as(bulletin_site["officer"]).get(f"/api/v1/reports/bulletin.xlsx?quarter={this_quarter()}").data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    summary = {r[1]: r[2] for r in wb["概况"].iter_rows(min_row=4, values_only=True) if r[1]}
    assert summary["本期下发整改工单"] == 3 and summary["本期办结整改工单"] == 1
    assert summary["其中：逾期未整改"] == 1 and summary["其中：已升级督办"] == 1
    assert summary["逾期未整改的单位"] == "丰源县人民政府"
    assert summary["本期发出提醒（合计）"] == 6 and summary["其中：电子邮件"] == 2
    assert summary["其中：企业微信群机器人"] == 1 and summary["其中：钉钉群机器人"] == 0
    ws = wb["整改工单"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[1]]
    assert rows[0][1:] == ("丰源县人民政府", 2, 0, 2, 1, 1)


def test_operator_sees_only_own_units_orders_and_reminders(api_as, bulletin_site, make_user):
    town_op = make_user(Role.operator, unit=bulletin_site["town"])
    lines, tables = read(api_as(town_op).get(f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}").data)
    text = "\n".join(lines)
    assert "本期下发整改工单1个，办结1个" in text and "本期系统共发出提醒0次" in text
    assert [r.cells[1].text for r in tables[2].rows[1:]] == ["丰源县石桥镇人民政府"]


def test_reminder_counts_by_scope_add_up(api_as, bulletin_site, db_session, make_user):
    """A reminder with no unit: the office-wide officer counts it and says how many of the total
    it is; a unit-scoped operator counts only the reminders of their units, and says so."""
    officer, home = bulletin_site["officer"], bulletin_site["county"]
    _reminder(db_session, officer, None, 9, [("email", "sent")])
    db_session.commit()
    quarter = this_quarter()

    lines, _ = read(api_as(officer).get(f"/api/v1/reports/bulletin.docx?quarter={quarter}").data)
    assert (
        "本期系统共发出提醒8次（站内提醒4次，电子邮件3次，企业微信群机器人1次，钉钉群机器人0次），"
        "归属各单位的提醒6次，未归属具体单位的提醒2次。"
    ) in lines
    wb = openpyxl.load_workbook(
        io.BytesIO(api_as(officer).get(f"/api/v1/reports/bulletin.xlsx?quarter={quarter}").data)
    )
    summary = {r[1]: r[2] for r in wb["概况"].iter_rows(min_row=4, values_only=True) if r[1]}
    assert summary["本期发出提醒（合计）"] == 8
    assert summary["按单位：归属各单位的提醒"] + summary["按单位：未归属具体单位的提醒"] == 8
    assert summary["按单位：未归属具体单位的提醒"] == 2
    assert sum(v for k, v in summary.items() if k.startswith("其中：") and k[3:] in CHANNEL_LABELS) == 8
    assert summary["提醒统计范围"] == "全部单位，含未归属具体单位的提醒"

    operator = make_user(Role.operator, unit=home)
    lines, _ = read(api_as(operator).get(f"/api/v1/reports/bulletin.docx?quarter={quarter}").data)
    assert (
        "本期系统共发出提醒6次（站内提醒3次，电子邮件2次，企业微信群机器人1次，钉钉群机器人0次）"
        "（仅统计本单位及下级单位的提醒）。"
    ) in lines
    wb = openpyxl.load_workbook(
        io.BytesIO(api_as(operator).get(f"/api/v1/reports/bulletin.xlsx?quarter={quarter}").data)
    )
    summary = {r[1]: r[2] for r in wb["概况"].iter_rows(min_row=4, values_only=True) if r[1]}
    assert summary["本期发出提醒（合计）"] == 6 and not [k for k in summary if k.startswith("按单位：")]
    assert summary["提醒统计范围"] == "本单位及下级单位（不含其他单位和未归属具体单位的提醒）"


def test_report_page_says_what_the_reminder_counts_cover(client, bulletin_site, make_user):
    login(client, bulletin_site["officer"])
    html = page(client, "/reports/")
    assert "提醒次数统计范围：全部单位，含未归属具体单位的提醒。合计 = 归属各单位的提醒 + 未归属具体单位的提醒" in html
    operator = make_user(Role.operator, unit=bulletin_site["county"])
    login(client, operator)
    html = page(client, "/reports/")
    assert "提醒次数统计范围：本单位及下级单位（不含其他单位和未归属具体单位的提醒）。" in html and "合计 =" not in html


CHANNEL_LABELS = ("站内提醒", "电子邮件", "企业微信群机器人", "钉钉群机器人")


def test_report_page_form_makes_the_word_bulletin(client, bulletin_site):

    login(client, bulletin_site["officer"])
    html = page(client, "/reports/")
    assert 'id="bulletin-docx-form"' in html and 'name="doc_no"' in html and "丰网信通" in html
    response = client.get(f"/reports/bulletin.docx?quarter={this_quarter()}&doc_no=7&cc=市委网信办")
    assert response.status_code == 200
    lines, _ = read(response.data)
    assert lines[1] == f"丰网信通〔{today_cn().year}〕7号" and "抄送：市委网信办。" in lines
    bad = client.get(f"/reports/bulletin.docx?quarter={this_quarter()}&doc_no=abc")
    assert bad.status_code == 302
    assert "文号格式应为" in page(client, "/reports/")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (make bulletin-deps)"
        if in_ci():
            pytest.fail(message + " (CI=true: the bulletin rendering test is required)", pytrace=False)
        pytest.skip(message)
    return path


def test_first_page_renders_with_libreoffice(api_as, bulletin_site, tmp_path):
    soffice, pdftoppm, pdftotext = _tool("soffice"), _tool("pdftoppm"), _tool("pdftotext")
    signed = date(2026, 12, 8)
    response = api_as(bulletin_site["officer"]).get(
        f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&doc_no=3&cc=市委网信办&date={signed.isoformat()}"
    )
    docx = tmp_path / "bulletin.docx"
    docx.write_bytes(response.data)
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "bulletin.pdf"
    assert pdf.exists()
    first = subprocess.run(
        [pdftotext, "-f", "1", "-l", "1", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    squashed = "".join(first.split())
    assert "丰源县委网信办" in squashed and "丰网信通〔2026〕3号" in squashed
    assert "政务新媒体检查情况的通报" in squashed and "一、总体情况" in squashed
    PAGE_PNG.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(PAGE_PNG.with_suffix(""))],
        check=True,
        timeout=60,
    )
    assert PAGE_PNG.exists() and PAGE_PNG.stat().st_size > 10_000


# ----------------------------------------------------------------------------- 份号、密级、落款 (GB/T 9704-2012)


def _paragraphs(data: bytes):
    return list(Document(io.BytesIO(data)).paragraphs)


def test_copy_number_and_secrecy_at_the_top_left_and_the_seal_place(api_as, bulletin_site):
    api = api_as(bulletin_site["officer"])
    signed = date(2026, 12, 8)
    url = f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&doc_no=3&date={signed.isoformat()}"
    response = api.get(url + "&copy_no=12&secrecy=秘密&secrecy_term=1")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    paras = _paragraphs(response.data)
    lines = [p.text for p in paras]
    # 份号 (six digits) on the first line, 密级★保密期限 on the second, both flush left, then the 版头
    assert lines[:4] == ["000012", "秘密★1年", "丰源县委网信办", "丰网信通〔2026〕3号"]
    for p in paras[:2]:
        assert p.alignment == WD_ALIGN_PARAGRAPH.LEFT and not p.paragraph_format.first_line_indent
    assert paras[1].runs[0].font.name == "黑体"
    # 落款: 发文机关署名, the seal's place, 成文日期 右空四字 — in that order, right of the page
    at = lines.index("（盖章）")
    assert lines[at - 1] == "丰源县委网信办" and lines[at + 1] == "2026年12月8日"
    assert paras[at + 1].paragraph_format.right_indent == Pt(16 * 4)
    assert all(paras[i].alignment == WD_ALIGN_PARAGRAPH.RIGHT for i in (at - 1, at, at + 1))
    # 署名 and seal centred over the date: the narrower the text, the larger its right indent
    assert paras[at].paragraph_format.right_indent > paras[at + 1].paragraph_format.right_indent

    # a term in months and 长期; no 保密期限 → the 密级 alone
    assert _paragraphs(api.get(url + "&copy_no=1&secrecy=机密&secrecy_term=6个月").data)[1].text == "机密★6个月"
    assert _paragraphs(api.get(url + "&copy_no=1&secrecy=绝密&secrecy_term=长期").data)[1].text == "绝密★长期"
    assert [p.text for p in _paragraphs(api.get(url + "&copy_no=000001&secrecy=秘密").data)[:2]] == ["000001", "秘密"]
    # only a 份号: printed, no 密级 line
    assert [p.text for p in _paragraphs(api.get(url + "&copy_no=7").data)[:2]] == ["000007", "丰源县委网信办"]


def test_no_secrecy_prints_none_and_the_settings_give_the_default(api_as, bulletin_site, app, monkeypatch):
    api = api_as(bulletin_site["officer"])
    url = f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}"
    lines = [p.text for p in _paragraphs(api.get(url).data)]
    assert lines[0] == "丰源县委网信办" and not any("★" in line or line in ("秘密", "机密", "绝密") for line in lines)
    assert "（盖章）" in lines  # the seal's place is always there
    monkeypatch.setitem(app.config, "BULLETIN_SECRECY", "机密")
    monkeypatch.setitem(app.config, "BULLETIN_SECRECY_TERM", "5年")
    lines = [p.text for p in _paragraphs(api.get(url + "&copy_no=3").data)]
    assert lines[:3] == ["000003", "机密★5年", "丰源县委网信办"]
    # the form may still say 不标注 against the setting
    assert _paragraphs(api.get(url + "&copy_no=3&secrecy=无").data)[1].text == "丰源县委网信办"
    # a 密级 (here from the settings) needs a 份号
    response = api.get(url)
    assert response.status_code == 422 and "copy_no" in response.get_json()["error"]["details"]


def test_urgency_under_copy_number_and_secrecy_in_heiti(api_as, bulletin_site):
    """紧急程度 (GB/T 9704-2012 7.2.3): top left, under 份号 and 密级和保密期限, 3号黑体."""
    api = api_as(bulletin_site["officer"])
    url = f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&doc_no=3&date=2026-12-08"
    paras = _paragraphs(api.get(url + "&copy_no=12&secrecy=秘密&secrecy_term=1年&urgency=特急").data)
    assert [p.text for p in paras[:5]] == ["000012", "秘密★1年", "特急", "丰源县委网信办", "丰网信通〔2026〕3号"]
    urgent = paras[2]
    assert urgent.alignment == WD_ALIGN_PARAGRAPH.LEFT and not urgent.paragraph_format.first_line_indent
    assert urgent.runs[0].font.name == "黑体" and urgent.runs[0].font.size == Pt(16)
    # alone, or with only a 份号; 无 or nothing: no line
    assert [p.text for p in _paragraphs(api.get(url + "&urgency=加急").data)[:2]] == ["加急", "丰源县委网信办"]
    assert [p.text for p in _paragraphs(api.get(url + "&copy_no=7&urgency=加急").data)[:3]] == [
        "000007",
        "加急",
        "丰源县委网信办",
    ]
    for query in ("", "&urgency=无", "&urgency="):
        lines = [p.text for p in _paragraphs(api.get(url + query).data)]
        assert lines[0] == "丰源县委网信办" and "特急" not in lines and "加急" not in lines


@pytest.mark.parametrize("value", ["急件", "平急", "特急 加急", "urgent"])
def test_unknown_urgency_is_422_with_the_field(api_as, bulletin_site, value):
    response = api_as(bulletin_site["officer"]).get(
        f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&urgency={value}"
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] and error["message"] == "通报的公文要素填写有误"
    assert error["details"]["urgency"] == ["紧急程度应为特急、加急之一，或不填"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("copy_no=1234567", "copy_no"),
        ("copy_no=12a", "copy_no"),
        ("copy_no=0", "copy_no"),
        ("copy_no=1&secrecy=内部", "secrecy"),
        ("copy_no=1&secrecy=秘密&secrecy_term=一年", "secrecy_term"),
        ("copy_no=1&secrecy=秘密&secrecy_term=100年", "secrecy_term"),
        ("secrecy_term=1年", "secrecy_term"),
        ("secrecy=秘密", "copy_no"),
    ],
)
def test_bad_copy_number_or_secrecy_is_422_with_the_field(api_as, bulletin_site, query, field):
    response = api_as(bulletin_site["officer"]).get(f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]


def test_report_page_form_has_copy_number_and_secrecy(client, bulletin_site):
    login(client, bulletin_site["officer"])
    html = page(client, "/reports/")
    assert 'name="copy_no"' in html and 'name="secrecy"' in html and 'name="secrecy_term"' in html
    assert 'name="urgency"' in html and '<option value="特急">特急</option>' in html
    assert '<option value="无" selected>不标注</option>' in html
    response = client.get(f"/reports/bulletin.docx?quarter={this_quarter()}&copy_no=5&secrecy=秘密&secrecy_term=1年")
    assert response.status_code == 200
    assert [p.text for p in _paragraphs(response.data)[:2]] == ["000005", "秘密★1年"]
    bad = client.get(f"/reports/bulletin.docx?quarter={this_quarter()}&secrecy=秘密")
    assert bad.status_code == 302 and "标注密级的公文须同时标注份号" in page(client, "/reports/")
    bad = client.get(f"/reports/bulletin.docx?quarter={this_quarter()}&urgency=急件")
    assert bad.status_code == 302 and "紧急程度应为特急、加急之一，或不填" in page(client, "/reports/")


def test_classified_first_page_renders_with_libreoffice(api_as, bulletin_site, tmp_path):
    soffice, pdftotext = _tool("soffice"), _tool("pdftotext")
    response = api_as(bulletin_site["officer"]).get(
        f"/api/v1/reports/bulletin.docx?quarter={this_quarter()}&doc_no=3&copy_no=1&secrecy=秘密&secrecy_term=1年"
        "&urgency=特急"
    )
    docx = tmp_path / "classified.docx"
    docx.write_bytes(response.data)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    text = subprocess.run(
        [pdftotext, "-layout", str(tmp_path / "classified.pdf"), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    first_page = text.split("\f")[0]
    top = ["".join(line.split()) for line in first_page.splitlines() if line.strip()][:4]
    # the top left of the first page: 份号, then 密级★保密期限, then 紧急程度, then the 发文机关标志
    assert top[:3] == ["000001", "秘密★1年", "特急"] and "丰源县委网信办" in top[3]
    assert "（盖章）" in "".join(text.split())
