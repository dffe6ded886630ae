"""A workbook a clerk can file: merged title row, 制表单位/日期 line, 序号 column, borders on
every table cell, frozen header, sized columns, and print setup (A4 landscape, fit to width,
header row repeated on every page). Every value passes the shared cell guard
(:func:`common.sheets.cell`), so text cannot become a formula and stored times show in Beijing
time; percentages stay numbers with a percent format.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.sheets import cell
from common.timefmt import bj

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12
    kind: str = "text"  # text | int | float | percent | datetime | date


@dataclass
class FormalSheet:
    name: str
    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    issuer: str = ""
    made_at: datetime | None = None  # naive UTC; shown in Beijing time
    notes: list[str] = field(default_factory=list)


_FORMATS = {"int": "0", "float": "0.0", "percent": "0.0%", "datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}


def workbook(sheets: Sequence[FormalSheet]) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415  heavy: openpyxl loads only when a sheet is built or read
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # noqa: PLC0415  heavy: openpyxl loads only when a sheet is built or read
    from openpyxl.utils import get_column_letter  # noqa: PLC0415  heavy: openpyxl loads only when a sheet is built or read

    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for sheet in sheets:
        ws = wb.create_sheet(title=sheet.name[:31])
        width = len(sheet.columns) + 1  # 序号 first
        ws.append([cell(sheet.title)])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws.cell(row=1, column=1).font = Font(bold=True, size=16)
        ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
        ws.row_dimensions[1].height = 30

        made = bj(sheet.made_at, "%Y年%m月%d日 %H:%M") if sheet.made_at else ""
        ws.append(
            [
                cell(f"制表单位：{sheet.issuer}" if sheet.issuer else ""),
                *([None] * (width - 2)),
                cell(f"制表时间：{made}（北京时间）"),
            ]
        )
        if width > 2:
            ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width - 1)
        ws.cell(row=2, column=width).alignment = Alignment(horizontal="right")
        header_row = 3
        ws.append([cell("序号"), *(cell(c.header) for c in sheet.columns)])
        for col in range(1, width + 1):
            c = ws.cell(row=header_row, column=col)
            c.font = Font(bold=True)
            c.fill = PatternFill("solid", fgColor="EEF0F3")
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            c.border = border
        for number, row in enumerate(sheet.rows, start=1):
            ws.append([number, *(cell(v) for v in row)])
            r = header_row + number
            ws.cell(row=r, column=1).border = border
            ws.cell(row=r, column=1).alignment = Alignment(horizontal="center")
            for col, column in enumerate(sheet.columns, start=2):
                c = ws.cell(row=r, column=col)
                c.border = border
                c.alignment = Alignment(vertical="top", wrap_text=column.kind == "text")
                if column.kind in _FORMATS:
                    c.number_format = _FORMATS[column.kind]
        last = header_row + len(sheet.rows)
        for offset, note in enumerate(sheet.notes, start=2):
            ws.cell(row=last + offset, column=1, value=cell(note))
        ws.column_dimensions["A"].width = 6
        for col, column in enumerate(sheet.columns, start=2):
            ws.column_dimensions[get_column_letter(col)].width = column.width
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
