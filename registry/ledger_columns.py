"""The 台账 sheet: its columns (Chinese headers), reading a CSV/XLSX table and its cells, and
the import template. :mod:`registry.importexport` imports and exports with them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from common import sheets
from common.validation import control_char_problem, http_url
from common.xlsx_stream import column_letter
from platforms.types import PLATFORM_LABELS
from registry.errors import LedgerImportError
from registry.models import STATUS_LABELS, AccountStatus, Platform


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "str"  # str | platform | unit | date | bool | status | url | email
    max_len: int = 200
    required: bool = False
    note: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "platform", "平台", "platform", required=True, note="微博、微信公众号、抖音、今日头条…，或代码 weibo/wechat/…"
    ),
    Column(
        "platform_uid",
        "平台账号ID",
        max_len=128,
        required=True,
        note="微信原始ID、微博UID、抖音号等；与平台一起唯一确定账号",
    ),
    Column("name", "账号名称", required=True),
    Column("unit_id", "主办单位", "unit", required=True, note="须与系统中的单位名称完全一致"),
    Column("supervisor_unit", "主管单位"),
    Column("operator_org", "运维单位"),
    Column("operator_contract_end", "运维合同到期日", "date", note="YYYY-MM-DD"),
    Column("person_in_charge", "负责人（分管领导）", max_len=100),
    Column("admin_name", "管理员", max_len=100),
    Column("contact_phone", "联系电话", max_len=50),
    Column("contact_email", "联系邮箱", "email"),
    Column("verified_subject", "认证主体", note="平台上显示的认证主体，应与主办单位一致"),
    Column("verified", "是否已认证", "bool", note="是 / 否"),
    Column("profile_url", "主页链接", "url", max_len=500),
    Column("purpose", "功能定位", max_len=2000),
    Column("is_primary", "是否主账号", "bool", note="是 / 否"),
    Column("duplicate_reason", "重复开设理由", max_len=2000, note="同一单位同一平台第二个在用账号必填"),
    Column("opened_on", "开设日期", "date", note="YYYY-MM-DD"),
    Column("filing_number", "备案编号", max_len=100),
    Column("filed_on", "备案日期", "date", note="YYYY-MM-DD"),
    Column("status", "状态", "status", note="运行中、申请中…；新账号留空为运行中（运营人员导入为申请中）"),
    Column("closure_notice_on", "停更公告日期", "date"),
    Column("closure_notice_url", "停更公告链接", "url", max_len=500),
    Column("closure_requested_on", "注销申请日期", "date"),
    Column("closed_on", "平台注销日期", "date"),
    Column("closure_filed_on", "关停备案日期", "date"),
)
# Exported for reading only; import ignores them.
EXPORT_ONLY: tuple[tuple[str, str], ...] = (
    ("id", "系统ID"),
    ("filing_due_on", "备案时限"),
    ("filing_due_note", "备案时限说明"),
    ("filing_overdue", "备案逾期"),
    ("last_post_at", "最后发布时间（北京时间）"),
    ("followers", "粉丝数"),
)
BY_HEADER = {c.header: c for c in COLUMNS}
EXPORT_HEADERS = [c.header for c in COLUMNS] + [h for _, h in EXPORT_ONLY]
# Fields an operator's import may change on an existing account (as a change request).
OPERATOR_KEYS = frozenset({"platform", "platform_uid", "status"})

PLATFORM_ALIASES: dict[str, Platform] = {
    **{p.value: p for p in Platform},
    **{label: Platform(p) for p, label in PLATFORM_LABELS.items()},
    "微信": Platform.wechat,
    "公众号": Platform.wechat,
    "服务号": Platform.wechat,
    "订阅号": Platform.wechat,
    "新浪微博": Platform.weibo,
    "头条": Platform.toutiao,
    "头条号": Platform.toutiao,
    "B站": Platform.bilibili,
    "b站": Platform.bilibili,
    "微信视频号": Platform.channels,
    "客户端": Platform.app,
    "APP": Platform.app,
}
STATUS_ALIASES: dict[str, AccountStatus] = {
    **{s.value: s for s in AccountStatus},
    **{label: s for s, label in STATUS_LABELS.items()},
    "拟关停": AccountStatus.closing,
    "已关停": AccountStatus.closed,
    "已注销": AccountStatus.closed_on_platform,
}
TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "已认证", "t"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "未认证", "f"})
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ----------------------------------------------------------------------------- reading


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = sheets.unguard(str(value).strip())  # our exports' guard against formula injection
    return text or None


def read_table(data: bytes, filename: str = "") -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """(headers, [(row number, cells)]) from an XLSX or CSV file; header is row 1."""
    name = filename.lower()
    if name.endswith(".xls") and not data.startswith(b"PK"):
        raise LedgerImportError([row_error(1, None, "不支持旧版 .xls 文件，请另存为 .xlsx 或 .csv")], 0)
    limits = sheets.upload_limits()
    try:
        rows = sheets.read_rows(data, sheet_name="台账", **limits)
    except sheets.SheetError as exc:
        raise LedgerImportError([row_error(exc.row or 1, None, exc.reason)], 0) from None
    if not rows:
        raise LedgerImportError([row_error(1, None, "文件为空，缺少表头")], 0)
    start = _header_index(rows)
    headers = [_cell_text(h) or "" for h in rows[start][1]]
    body = [(n, cells) for n, cells in rows[start + 1 :] if any(_cell_text(c) for c in cells)]
    return headers, body


def _header_index(rows: list[tuple[int, list[Any]]]) -> int:
    """Which row is the header: the first non-empty one, unless it is the title or 制表单位 line of
    an exported 台账 (the filed form), in which case the first of the next rows that names a
    column. A file whose first rows name no column keeps row 1, and the import reports it."""
    for index, (_, cells) in enumerate(rows[:3]):
        if any((_cell_text(c) or "") in BY_HEADER for c in cells):
            return index
    return 0


def row_error(row: int, column: str | None, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


def parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    match = DATE_RE.match(text)
    if not match:
        raise ValueError("日期格式应为 YYYY-MM-DD")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError("日期不存在") from None


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _cell_text(value)
    if text is None:
        return None
    if text.lower() in TRUE_WORDS:
        return True
    if text.lower() in FALSE_WORDS:
        return False
    raise ValueError("请填写 是 或 否")


def parse_cell(column: Column, value: Any) -> Any:
    """The typed value of one cell, or ValueError with a Chinese reason."""
    if column.kind == "date":
        return parse_date(value)
    if column.kind == "bool":
        return parse_bool(value)
    text = _cell_text(value)
    if text is None:
        if column.required:
            raise ValueError("此项为必填")
        return None
    if column.kind == "platform":
        if text not in PLATFORM_ALIASES:
            raise ValueError(f"无法识别的平台“{text}”")
        return PLATFORM_ALIASES[text]
    if column.kind == "status":
        if text not in STATUS_ALIASES:
            raise ValueError(f"无法识别的状态“{text}”")
        return STATUS_ALIASES[text]
    if len(text) > column.max_len:
        raise ValueError(f"不能超过 {column.max_len} 个字")
    problem = control_char_problem(text, single_line=column.max_len <= 500)
    if problem:
        raise ValueError(problem)
    if column.kind == "url" and http_url(text) is None:
        raise ValueError("链接须以 http:// 或 https:// 开头")
    if column.kind == "email" and not EMAIL_RE.match(text):
        raise ValueError("邮箱格式不正确")
    return text


# ----------------------------------------------------------------------------- template


def template_workbook() -> bytes:
    """The import template: the header row, drop-down lists, and a sheet of instructions."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台账"
    sheet.append([c.header for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS):
        letter = column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column.header) * 2 + 2)
        choices = _choices(column)
        if choices:
            validation = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
            validation.error = "请从下拉列表中选择"
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}5000")
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        notes.append([column.header, "必填" if column.required else "", column.note or _default_note(column)])
    notes.append([])
    notes.append(
        ["规则", "", "整份文件全部通过校验才会写入；有任何一行错误，系统列出行号、列名和原因，不写入任何数据。"]
    )
    notes.append(
        [
            "",
            "",
            "按“平台 + 平台账号ID”匹配已有账号：已有的更新有变化的字段，没有的新建；同一文件重复导入不会产生重复账号。",
        ]
    )
    notes.append(
        [
            "",
            "",
            "文件中有的列以文件为准（空单元格表示清空该项）；没有的列保持不变。“系统ID”“备案时限”等导出列导入时忽略。",
        ]
    )
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _choices(column: Column) -> list[str]:
    if column.kind == "platform":
        return list(PLATFORM_LABELS.values())
    if column.kind == "status":
        return list(STATUS_LABELS.values())
    if column.kind == "bool":
        return ["是", "否"]
    return []


def _default_note(column: Column) -> str:
    if column.kind == "date":
        return "日期，YYYY-MM-DD"
    if column.kind == "url":
        return "以 http:// 或 https:// 开头"
    return f"文本，不超过 {column.max_len} 个字"
