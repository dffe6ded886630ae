"""The quarterly 通报 as a Word document in 公文 form (python-docx).

Same figures and scope as the bulletin workbook (:func:`reports.service.bulletin_data`): title,
发文单位 and date in Chinese form, summary paragraphs (accounts checked, pass rates, problems by
kind with counts, units named for overdue and unresolved items), then a table by unit and a table
of the problem accounts. Page and fonts follow GB/T 9704 as far as python-docx allows: A4,
margins 37/35/28/26 mm, title in 方正小标宋简体 二号, body in 仿宋_GB2312 三号 (a PC without these
fonts shows its fallback).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context

from common.db import utcnow
from common.errors import Invalid
from common.sheets import beijing
from common.timefmt import bj
from common.timefmt import today_cn as today
from oversight.findings import STATUS_LABELS as FINDING_STATUS_LABELS
from oversight.findings import is_overdue
from oversight.models import FINDING_LABELS
from reports.service import Period, bulletin_data

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"


DOC_NO = re.compile(r"^(?P<prefix>[^\s〔〕]{1,30})〔(?P<year>\d{4})〕(?P<n>[1-9]\d{0,3})号$")
#: 密级 (GB/T 9704-2012 7.2.2; 保守国家秘密法): none printed when not given
SECRECY_LEVELS = ("绝密", "机密", "秘密")
#: 保密期限: N年 / N个月 (Arabic numerals), or 长期
SECRECY_TERM = re.compile(r"^(?:(?P<n>[1-9]\d?)(?P<unit>年|个月)|长期)$")
#: 紧急程度 (GB/T 9704-2012 7.2.3): none printed when not given
URGENCY_LEVELS = ("特急", "加急")
SEAL_MARK = "（盖章）"


@dataclass(frozen=True)
class Header:
    """The 公文 header and closing block (GB/T 9704): 份号, 密级和保密期限, 紧急程度, 发文字号, 主送机关,
    发文机关署名 with the seal's place, 成文日期, 抄送."""

    issuer: str
    signed_on: date
    addressees: str
    doc_no: str | None = None
    cc: str | None = None
    copy_no: str | None = None  # 份号: six digits
    secrecy: str | None = None  # 密级 with its 保密期限, as printed: 秘密★1年 (None: not classified)
    urgency: str | None = None  # 紧急程度: 特急 or 加急 (None: not urgent)


def _setting(name: str) -> str:
    return str(current_app.config.get(name) or "").strip() if has_app_context() else ""


def make_header(
    issuer: str,
    *,
    doc_no: str | None = None,
    addressees: str | None = None,
    cc: str | None = None,
    signed_on: str | date | None = None,
    copy_no: str | None = None,
    secrecy: str | None = None,
    secrecy_term: str | None = None,
    urgency: str | None = None,
) -> Header:
    """The header from the form/query inputs and the settings; 422 with the field for bad input.

    ``doc_no``: a full 文号 (``X网信通〔2026〕3号``) or just its number (``3``), which then takes the
    ``BULLETIN_DOC_PREFIX`` setting and the year of 成文日期. Empty: the prefix with a blank number
    to fill in by hand, or no 文号 line when no prefix is set. ``addressees`` (主送) defaults to
    ``BULLETIN_ADDRESSEES``, ``cc`` (抄送) to ``BULLETIN_CC`` (empty: no 抄送 line), the issuer
    (发文机关署名) to ``BULLETIN_ISSUER`` or the exporting user's unit; 成文日期 to today.

    ``copy_no`` (份号): 1–6 digits, printed as six (``000012``). ``secrecy`` (密级: 绝密/机密/秘密,
    default ``BULLETIN_SECRECY``, empty = none printed) and ``secrecy_term`` (保密期限: ``1年``,
    ``6个月``, ``长期``, or just ``1`` for years; default ``BULLETIN_SECRECY_TERM``, used only with a
    密级). A 密级 needs a 份号 (党政机关公文处理工作条例: 涉密公文应当标注份号). ``urgency``
    (紧急程度): 特急 or 加急; empty or 无 = none printed.
    """
    errors: dict[str, list[str]] = {}
    if isinstance(signed_on, date):
        day = signed_on
    elif signed_on and str(signed_on).strip():
        try:
            day = date.fromisoformat(str(signed_on).strip())
        except ValueError:
            errors["date"] = ["成文日期格式应为 YYYY-MM-DD"]
            day = today_cn()
    else:
        day = today_cn()
    number = (doc_no or "").strip()
    prefix = _setting("BULLETIN_DOC_PREFIX")
    text: str | None = None
    if number.isdigit():
        if not prefix:
            errors["doc_no"] = ["未设置发文字号前缀（BULLETIN_DOC_PREFIX），请填写完整文号，如 X网信通〔2026〕3号"]
        elif not 1 <= int(number) <= 9999:
            errors["doc_no"] = ["文号序号应为 1–9999"]
        else:
            text = f"{prefix}〔{day.year}〕{int(number)}号"
    elif number:
        m = DOC_NO.match(number.replace("[", "〔").replace("]", "〕"))
        if m is None:
            errors["doc_no"] = ["文号格式应为 机关代字〔年份〕序号号，如 X网信通〔2026〕3号，或只填序号"]
        else:
            text = m.group(0)
    elif prefix:
        text = f"{prefix}〔{day.year}〕　号"
    to = (addressees or "").strip() or _setting("BULLETIN_ADDRESSEES") or "各有关单位"
    copy = (cc or "").strip() or _setting("BULLETIN_CC") or None
    for key, value in (("to", to), ("cc", copy or "")):
        if len(value) > 300:
            errors[key] = ["不超过 300 字"]
    copy_text = _copy_no(copy_no, errors)
    classified = _secrecy(secrecy, secrecy_term, errors)
    urgent = (urgency or "").strip()
    if urgent in ("", "无"):
        urgent = ""
    elif urgent not in URGENCY_LEVELS:
        errors["urgency"] = [f"紧急程度应为{'、'.join(URGENCY_LEVELS)}之一，或不填"]
    if classified and copy_text is None and "copy_no" not in errors:
        errors["copy_no"] = ["标注密级的公文须同时标注份号"]
    if errors:
        raise Invalid("通报的公文要素填写有误", details=errors)
    name = _setting("BULLETIN_ISSUER") or issuer or "（发文单位）"
    return Header(
        issuer=name,
        signed_on=day,
        addressees=to.rstrip("：:"),
        doc_no=text,
        cc=copy,
        copy_no=copy_text,
        secrecy=classified,
        urgency=urgent or None,
    )


def _copy_no(value: str | None, errors: dict[str, list[str]]) -> str | None:
    number = (value or "").strip()
    if not number:
        return None
    if not (number.isascii() and number.isdigit() and len(number) <= 6 and int(number) > 0):
        errors["copy_no"] = ["份号应为 1–6 位阿拉伯数字，如 000001"]
        return None
    return f"{int(number):06d}"


def _secrecy(level: str | None, term: str | None, errors: dict[str, list[str]]) -> str | None:
    """``秘密★1年`` (or just ``秘密`` without a term); None when no 密级."""
    chosen = (level or "").strip() or _setting("BULLETIN_SECRECY")
    if not chosen or chosen in ("无", "非密"):
        if (term or "").strip():
            errors["secrecy_term"] = ["只有标注密级时才填写保密期限"]
        return None
    if chosen not in SECRECY_LEVELS:
        errors["secrecy"] = [f"密级应为{'、'.join(SECRECY_LEVELS)}之一，或不填"]
        return None
    period = (term or "").strip() or _setting("BULLETIN_SECRECY_TERM")
    if not period:
        return chosen
    if period.isascii() and period.isdigit():
        period += "年"
    m = SECRECY_TERM.match(period)
    if m is None:
        errors["secrecy_term"] = ["保密期限应写作“1年”“6个月”或“长期”（数字用阿拉伯数字）"]
        return None
    return f"{chosen}★{period}"


def today_cn() -> date:

    return today()


def cn_date(value: Any) -> str:
    """A date as 公文 write it: 2026年12月6日 (no leading zeros)."""
    return f"{value.year}年{value.month}月{value.day}日"


def _rate(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "—"


def _font(run: Any, name: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read
    from docx.shared import Pt  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(
    doc: Any,
    text: str,
    *,
    font: str = BODY_FONT,
    size: float = 16,
    bold: bool = False,
    align: Any = None,
    indent: bool = True,
    style: str | None = None,
) -> Any:
    from docx.shared import Pt  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    p = doc.add_paragraph(style=style)
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    if font == HEADING_FONT:
        p.paragraph_format.keep_with_next = True  # a heading never ends a page alone
    p.paragraph_format.line_spacing = Pt(28)
    _font(p.add_run(text), font, size, bold)
    return p


def _table(doc: Any, headers: list[str], rows: list[list[Any]]) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for i, h in enumerate(headers):
        cell = table.rows[0].cells[i]
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cell.paragraphs[0].add_run(h), HEADING_FONT, 10.5)
    for row in rows:
        cells = table.add_row().cells
        for i, v in enumerate(row):
            _font(cells[i].paragraphs[0].add_run("" if v is None else str(v)), BODY_FONT, 10.5)
    return table


def _rule(paragraph: Any, color: str = "C00000", size: int = 12) -> None:
    """A line under the paragraph (the red separator under the 发文字号, the 版记 lines)."""
    from docx.oxml import OxmlElement  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read
    from docx.oxml.ns import qn  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "1"), ("color", color)):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    ppr.append(border)


def _red(paragraph: Any) -> None:
    from docx.shared import RGBColor  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    for run in paragraph.runs:
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def bulletin_docx(
    p: Period,
    unit_ids: set[int] | None = None,
    issuer: str = "",
    header: Header | None = None,
    now: datetime | None = None,
) -> bytes:
    from docx import Document  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read
    from docx.shared import Mm  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    head = header or make_header(issuer)
    now = now or utcnow()
    b = bulletin_data(p, unit_ids, now)
    data = b["compliance"]
    t = data["totals"]
    units = data["units"]
    found = b["found"]
    orders = b["workorders"]
    reminders = b["reminders"]
    as_of = f"截至{cn_date(p.end)}" if orders["as_of_period_end"] else "目前"

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    center = WD_ALIGN_PARAGRAPH.CENTER
    # 版头: 份号, 密级和保密期限 and 紧急程度 at the top left, one under the other (GB/T 9704
    # 7.2.1–7.2.3, only when given; the last two 3号黑体), then the 发文机关标志 (red), 发文字号,
    # the red separator line
    if head.copy_no:
        _para(doc, head.copy_no, font=BODY_FONT, size=16, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False)
    for mark in (head.secrecy, head.urgency):
        if mark:
            _para(doc, mark, font=HEADING_FONT, size=16, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False)
    _red(_para(doc, head.issuer, font=TITLE_FONT, size=26, align=center, indent=False))
    number = _para(doc, head.doc_no or "", align=center, indent=False)
    _rule(number)
    # 主体
    _para(doc, f"关于{p.label}政务新媒体检查情况的通报", font=TITLE_FONT, size=22, align=center, indent=False)
    _para(doc, f"{head.addressees}：", indent=False)
    _para(
        doc,
        f"根据政务新媒体监督管理工作要求，现将{p.label}（{cn_date(p.start)}至{cn_date(p.end)}）"
        "政务新媒体检查情况通报如下。",
    )

    _para(doc, "一、总体情况", font=HEADING_FONT)
    active, over = t["active"], t["accounts_over_veto"]
    _para(
        doc,
        f"本期共检查政务新媒体账号{t['accounts']}个，其中运行中{active}个，涉及{len(units)}个单位。"
        f"{b['units_passed']}个单位达标，单位达标率{_rate(b['units_passed'], len(units))}；"
        f"运行中账号无超{data['thresholds']['veto_days']}天未更新情形的{active - over}个，"
        f"账号合格率{_rate(active - over, active)}。期间经本平台发布信息{t['published_in_period']}条，"
        + (
            f"三审合规率{_rate(t['review_compliant'], t['published_items'])}。"
            if t["published_items"]
            else "不计算三审合规率。"
        ),
    )

    _para(doc, "二、发现的问题", font=HEADING_FONT)
    kinds = "，".join(f"{label}{n}条" for label, n in b["problems"] if n) or "无"
    _para(
        doc,
        f"本期新发现问题{len(found)}条（{kinds}），已整改或已排除{b['closed']}条，尚待核实{b['unconfirmed']}条。"
        f"超{data['thresholds']['veto_days']}天未更新账号（单项否决）{over}个，疑似僵尸号{t['accounts_zombie']}个。",
    )
    if t["accounts_not_authorised"]:
        _para(
            doc,
            f"未授权巡检账号{t['accounts_not_authorised']}个：所属单位尚未向本平台授权，无法读取其发布内容，"
            "不计入上述问题数，请相关单位尽快完成授权。",
        )

    _para(doc, "三、整改落实情况", font=HEADING_FONT)
    ot = orders["totals"]
    late = "、".join(
        f"{u['unit_name']}（逾期{u['overdue']}个）" if u["overdue"] else u["unit_name"]
        for u in orders["units"]
        if u["overdue"] or u["escalated"]
    )
    _para(
        doc,
        f"本期下发整改工单{ot['issued']}个，办结{ot['closed']}个；{as_of}未办结{ot['open']}个，"
        f"其中逾期未整改{ot['overdue']}个、已升级督办{ot['escalated']}个。"
        f"逾期或被升级督办的单位：{late or '无'}。",
    )

    _para(doc, "四、提醒督办情况", font=HEADING_FONT)
    channels = "，".join(f"{label}{n}次" for label, n in reminders["channels"])
    split = "".join(f"，{label}{n}次" for label, n in reminders["by_unit"])
    scope = "" if reminders["by_unit"] else "（仅统计本单位及下级单位的提醒）"
    _para(doc, f"本期系统共发出提醒{reminders['total']}次（{channels}）{split}{scope}。")

    _para(doc, "五、需要通报的单位", font=HEADING_FONT)
    named = [
        ("逾期未整改", b["overdue_units"]),
        ("问题已确认、正在整改", b["open_units"]),
        ("存在单项否决情形、本期不达标", b["failed_units"]),
        ("转载任务逾期完成或未完成", [r["unit_name"] for r in b["reposts_late"]]),
    ]
    for label, names in named:
        _para(doc, f"{label}的单位：{'、'.join(names) if names else '无'}。")

    _para(doc, "六、工作要求", font=HEADING_FONT)
    _para(
        doc,
        "请上述单位对照问题清单，在整改期限内完成整改并反馈整改情况；逾期未整改的，将在下期通报中继续点名。"
        "各单位要落实政务新媒体“谁开设、谁主办、谁负责”的要求，加强内容审核和日常更新。",
    )

    _signature(doc, head)

    _para(doc, f"附表1：{p.label}各单位情况", font=HEADING_FONT, indent=False)
    ranked = sorted(units, key=lambda u: (u["passed"], -u["accounts_over_veto"], -u["findings_open"], u["unit_name"]))
    _table(
        doc,
        [
            "序号",
            "单位",
            "账号数",
            "运行中",
            "超期未更新",
            "新增问题（未结）",
            "新增问题（已结）",
            "三审合规率",
            "是否达标",
        ],
        [
            [
                i,
                u["unit_name"],
                u["accounts"],
                u["active"],
                u["accounts_over_veto"],
                u["findings_open"],
                u["findings_closed"],
                _rate(u["review_compliant"], u["published_items"]),
                "达标" if u["passed"] else "不达标",
            ]
            for i, u in enumerate(ranked, start=1)
        ],
    )

    _para(doc, f"附表2：{p.label}问题账号清单", font=HEADING_FONT, indent=False)
    _table(
        doc,
        ["序号", "单位", "账号", "问题类型", "状态", "整改期限", "是否逾期"],
        [
            [
                i,
                f.unit.name if f.unit else "（未对应单位）",
                f.account.name if f.account else (f.evidence or {}).get("name") or "",
                FINDING_LABELS.get(f.kind, f.kind.value),
                FINDING_STATUS_LABELS[f.status],
                cn_date(f.due_on) if f.due_on else "",
                "是" if is_overdue(f) else "否",
            ]
            for i, (f, _) in enumerate(found, start=1)
        ],
    )

    _para(doc, f"附表3：{p.label}各单位整改工单情况", font=HEADING_FONT, indent=False)
    if orders["as_of_period_end"]:
        _para(doc, f"（未办结、逾期未整改、已升级督办均为{as_of}的情况）", size=12, indent=False)
    _table(
        doc,
        ["序号", "单位", "本期下发", "本期办结", "未办结", "逾期未整改", "已升级督办"],
        [
            [i, u["unit_name"], u["issued"], u["closed"], u["open"], u["overdue"], u["escalated"]]
            for i, u in enumerate(orders["units"], start=1)
        ],
    )

    _repost_table(doc, p, b["reposts_late"])

    # 版记: 抄送 (if any) and 印发机关、印发日期, between lines
    if head.cc:
        _rule(_para(doc, f"抄送：{head.cc.rstrip('。')}。", size=14, indent=False), color="000000", size=6)
    printed = _para(doc, f"{head.issuer}　　{cn_date(head.signed_on)}印发", size=14, indent=False)
    _rule(printed, color="000000", size=6)
    _para(doc, f"（本通报由系统于北京时间{bj(now, '%Y年%m月%d日 %H:%M')}生成）", size=12, indent=False)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _width(text: str) -> float:
    """A line's width in characters of the body font: a Chinese character 1, a digit or Latin letter ½."""
    return sum(0.5 if ch.isascii() else 1 for ch in text)


def _signature(doc: Any, head: Header) -> None:
    """落款 of a sealed document (GB/T 9704 7.3.5.1): 成文日期 右空四字, the 发文机关署名 centred over
    it, and the seal's place — “（盖章）” between them, where the 印章 端正、居中下压署名和成文日期."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read
    from docx.shared import Pt  # noqa: PLC0415  heavy: python-docx loads only when a document is built or read

    right = WD_ALIGN_PARAGRAPH.RIGHT
    signed = cn_date(head.signed_on)
    char = 16  # 三号, in points
    _para(doc, "", indent=False)  # 正文 (or 附注) and the 落款 are a line apart
    for text in (head.issuer, SEAL_MARK, signed):
        p = _para(doc, text, align=right, indent=False)
        centred = max(0.0, 4 + (_width(signed) - _width(text)) / 2)
        p.paragraph_format.right_indent = Pt(char * (4 if text == signed else centred))


def _repost_table(doc: Any, p: Period, rows: list[dict[str, Any]]) -> None:
    """附表4: the units late with their 转载任务 due in the period (only when there are any)."""
    if not rows:
        return
    _para(doc, f"附表4：{p.label}转载任务逾期单位", font=HEADING_FONT, indent=False)
    _table(
        doc,
        ["序号", "单位", "期内截止的转载任务", "按期完成", "逾期完成", "逾期未完成", "不适用"],
        [
            [i, r["unit_name"], r["tasks"], r["on_time"], r["late"], r["missing"], r["not_applicable"]]
            for i, r in enumerate(rows, start=1)
        ],
    )


def bj_date(value: Any) -> Any:
    return beijing(value).date()
