"""A small streaming XLSX writer (one sheet, inline strings, dates as styled serials).

openpyxl's write-only mode needs ~60 s for 100,000 rows without lxml; this writes the same
sheet as a zip of XML parts. The 台账 export (``registry/importexport.py``) and reports use it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from common import sheets
from common.timefmt import bj

_EPOCH = date(1899, 12, 30)
_STATIC_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
        '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="16"/><name val="Calibri"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFEEF0F3"/></patternFill></fill></fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left style="thin"><color rgb="FF000000"/></left><right style="thin"><color rgb="FF000000"/></right>'
        '<top style="thin"><color rgb="FF000000"/></top><bottom style="thin"><color rgb="FF000000"/></bottom>'
        "<diagonal/></border></borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="9"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        # 4-7: the same with thin borders (the filed form: text, date, datetime, header)
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyBorder="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyBorder="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
        'applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
        # 8: the title
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        '<alignment horizontal="center" vertical="center"/></xf></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class FormalHead:
    """The filed form of a streamed sheet (as common/formal_sheet.py lays out a small one)."""

    title: str
    issuer: str = ""
    made_at: datetime | None = None  # naive UTC; shown in Beijing time


class XlsxWriter:
    """A minimal streaming XLSX writer: one sheet, inline strings, dates as styled serials.

    With ``formal`` the sheet has the filed form: merged title row, 制表单位/制表时间 line, the
    header on row 3 with a 序号 column first, thin borders, frozen header, A4 landscape fit to
    width with the header row repeated on every printed page. The 台账 import skips the two
    lines above the header and ignores 序号, so such a file imports back unchanged.
    """

    def __init__(self, headers: list[str], sheet_name: str = "台账", formal: FormalHead | None = None) -> None:
        self.formal = formal
        self.headers = ["序号", *headers] if formal else headers
        self.sheet_name = sheet_name
        self.letters = [column_letter(i) for i in range(len(self.headers))]
        self.header_row = 3 if formal else 1
        self.base = 4 if formal else 0  # style offset: bordered styles

    def write(self, rows: Iterable[list[Any]], out: IO[bytes]) -> int:
        count = 0
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, body in _STATIC_PARTS.items():
                archive.writestr(name, body)
            archive.writestr("xl/workbook.xml", self._workbook())
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(self._sheet_head().encode())
                if self.formal:
                    sheet.write(self._formal_head().encode())
                sheet.write(self._row(self.header_row, self.headers, style=7 if self.formal else 3).encode())
                chunk: list[str] = []
                for count, row in enumerate(rows, start=1):
                    chunk.append(self._row(self.header_row + count, [count, *row] if self.formal else row))
                    if len(chunk) >= 1000:
                        sheet.write("".join(chunk).encode())
                        chunk = []
                sheet.write(("".join(chunk) + "</sheetData>" + self._sheet_tail() + "</worksheet>").encode())
        return count

    def _formal_head(self) -> str:
        formal = self.formal or FormalHead("")
        last = self.letters[-1]
        made = bj(formal.made_at, "%Y年%m月%d日 %H:%M") if formal.made_at else ""
        issuer = f"制表单位：{formal.issuer}" if formal.issuer else ""
        title = self._cell("A1", formal.title, 8)
        line = self._cell("A2", issuer, 0) if issuer else ""
        return (
            f'<row r="1" ht="30" customHeight="1">{title}</row>'
            f'<row r="2">{line}{self._cell(f"{last}2", f"制表时间：{made}（北京时间）", 0)}</row>'
        )

    def _sheet_tail(self) -> str:
        if not self.formal:
            return ""
        last = self.letters[-1]
        before_last = self.letters[-2] if len(self.letters) > 1 else last
        return (
            f'<mergeCells count="2"><mergeCell ref="A1:{last}1"/><mergeCell ref="A2:{before_last}2"/></mergeCells>'
            '<printOptions horizontalCentered="1"/>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        )

    def _workbook(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(self.sheet_name)}" sheetId="1" r:id="rId1"/></sheets>'
            f"{self._print_titles()}</workbook>"
        )

    def _print_titles(self) -> str:
        if not self.formal:
            return ""
        name = escape(self.sheet_name.replace("'", "''"))
        row = self.header_row
        return (
            '<definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">'
            f"'{name}'!${row}:${row}</definedName></definedNames>"
        )

    def _sheet_head(self) -> str:
        widths = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{min(40, max(10, len(h) * 2 + 2))}" customWidth="1"/>'
            for i, h in enumerate(self.headers)
        )
        split = self.header_row
        fit = '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if self.formal else ""
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{fit}'
            f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{split}" topLeftCell="A{split + 1}" '
            'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            f"<cols>{widths}</cols><sheetData>"
        )

    def _row(self, number: int, values: list[Any], style: int = 0) -> str:
        cells = []
        for index, letter in enumerate(self.letters):
            value = values[index] if index < len(values) else None
            ref = f"{letter}{number}"
            if value is not None:
                cells.append(self._cell(ref, value, style or self.base))
            elif self.formal:  # the filed form borders the empty cells of the table too
                cells.append(f'<c r="{ref}" s="{style or self.base}"/>')
        return f'<row r="{number}">{"".join(cells)}</row>'

    @staticmethod
    def _cell(ref: str, value: Any, style: int) -> str:
        value = sheets.cell(value)  # the one guard: no formulas, no XML-illegal characters
        bordered = 4 if style >= 4 and style != 8 else 0
        plain = f' s="{bordered}"' if bordered else ""
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"{plain}><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"{plain}><v>{value}</v></c>'
        if isinstance(value, datetime):
            delta = value - datetime(1899, 12, 30)
            serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
            return f'<c r="{ref}" s="{bordered + 2}"><v>{serial!r}</v></c>'
        if isinstance(value, date):
            return f'<c r="{ref}" s="{bordered + 1}"><v>{(value - _EPOCH).days}</v></c>'
        text = str(value)
        style_attr = f' s="{style}"' if style else ""
        return f'<c r="{ref}" t="inlineStr"{style_attr}><is><t xml:space="preserve">{escape(text)}</t></is></c>'
