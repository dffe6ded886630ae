"""Spreadsheets in and out: one guard for every cell we write, one bounded reader for uploads.

Writing (``cell`` for XLSX, ``csv_cell`` for CSV): every XLSX/CSV writer in the tree passes each
value through here, so a name that came from a user or a platform cannot become a live formula
or break the file:

- text starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP, "CSV
  Injection"); the 台账 import strips that quote again, so exports import back unchanged;
- characters XML 1.0 forbids (C0 controls other than tab/newline/CR, U+FFFE, U+FFFF) are
  removed — openpyxl refuses them with an exception, which made a whole report answer 500;
- numbers stay numbers, booleans stay booleans, dates stay dates; a stored datetime (naive
  UTC) becomes Beijing time.

Reading (``read_rows``): an uploaded XLSX is read lazily (openpyxl ``read_only``) and never
trusts the ``<dimension>`` the file declares — openpyxl pads every row to that width, and a
1.6 KB file declaring ``A1:XFD1048576`` padded to 16,384 columns × 1,048,576 rows used gigabytes.
Rows are read to at most ``max_cols`` columns, the row limit applies while reading (before any
list is built), and the unpacked size of the archive is capped against zip bombs. CSV obeys
the same row and column limits. Problems raise :class:`SheetError` with a Chinese reason.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context

from common.timefmt import CN_TZ

FORMULA_STARTS = frozenset("=+-@\t\r")
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EXCEL_MAX_ROWS = 1_048_576  # no row of a real XLSX lies beyond this; rows past it are refused
EXCEL_MAX_COLS = 16_384


# ----------------------------------------------------------------------------- writing


def text_cell(value: str) -> str:
    """Text safe to put in a spreadsheet cell: no XML-illegal characters, no formula start."""
    text = ILLEGAL_XML.sub("", value)
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def beijing(value: datetime) -> datetime:
    """A stored datetime (naive = UTC) as naive Beijing time, which is what a sheet shows."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CN_TZ).replace(tzinfo=None)


def cell(value: Any) -> Any:
    """One XLSX cell value: numbers, booleans and dates keep their type; datetimes in Beijing
    time; everything else is guarded text (see module doc). ``None`` stays empty."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return beijing(value)
    if isinstance(value, date):
        return value
    return text_cell(value if isinstance(value, str) else str(value))


def csv_cell(value: Any) -> Any:
    """One CSV field: as :func:`cell`, with dates as ``YYYY-MM-DD`` and datetimes as Beijing
    ``YYYY-MM-DD HH:MM:SS``; ``None`` is the empty string."""
    value = cell(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def unguard(text: str) -> str:
    """The text a guarded cell stood for (the import side of :func:`text_cell`)."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


# ----------------------------------------------------------------------------- reading


class SheetError(ValueError):
    """A file that cannot be read within the limits; ``row`` is 0 for the whole file."""

    def __init__(self, reason: str, row: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row


def upload_limits() -> dict[str, int]:
    """The configured limits for an uploaded sheet (config.py: IMPORT_MAX_*), as ``read_rows``
    keywords."""

    conf = current_app.config if has_app_context() else {}
    return {
        "max_rows": int(conf.get("IMPORT_MAX_ROWS") or 200_000),
        "max_cols": int(conf.get("IMPORT_MAX_COLUMNS") or 100),
        "max_unpacked_bytes": int(conf.get("IMPORT_MAX_UNPACKED_MB") or 256) * 1024 * 1024,
    }


def read_rows(
    data: bytes,
    *,
    max_rows: int,
    max_cols: int,
    max_unpacked_bytes: int,
    sheet_name: str | None = None,
) -> list[tuple[int, list[Any]]]:
    """[(row number, cells)] of the non-empty rows (the header is row 1), XLSX or CSV.

    At most ``max_rows`` rows after the first non-empty one (the header); a file with more, with
    anything right of column ``max_cols``, or (XLSX) unpacking to more than ``max_unpacked_bytes``
    raises :class:`SheetError` as soon as that is known.
    """
    rows = _xlsx_rows(data, max_cols, max_unpacked_bytes, sheet_name) if data[:2] == b"PK" else _csv_rows(data)
    out: list[tuple[int, list[Any]]] = []
    with closing(rows):
        for number, cells in rows:
            if len(cells) > max_cols and any(_filled(v) for v in cells[max_cols:]):
                raise SheetError(f"表格超过 {max_cols} 列，请删除多余的列后重新上传", number)
            if len(out) > max_rows:  # the header and max_rows data rows are already kept
                raise SheetError(f"数据超过 {max_rows} 行（不含表头），请拆分文件后分批导入", number)
            out.append((number, list(cells[:max_cols])))
    return out


def _filled(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or value.strip() != "")


def _xlsx_rows(
    data: bytes, max_cols: int, max_unpacked_bytes: int, sheet_name: str | None
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from openpyxl import load_workbook  # noqa: PLC0415  heavy: openpyxl loads only when a sheet is built or read

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SheetError(f"无法读取 XLSX 文件：{type(exc).__name__}") from None
    if unpacked > max_unpacked_bytes:
        mib = max_unpacked_bytes // (1024 * 1024)
        raise SheetError(f"XLSX 文件解压后超过 {mib} MB，可能已损坏，请另存后重新上传")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken file
        raise SheetError(f"无法读取 XLSX 文件：{type(exc).__name__}") from None
    try:
        sheet = workbook[sheet_name] if sheet_name in workbook.sheetnames else workbook.worksheets[0]
        sheet.reset_dimensions()  # the declared <dimension> is what the attack inflates
        # One column more than allowed, to tell "nothing there" from "too wide"; rows up to
        # Excel's last, so a row numbered 10^9 cannot make openpyxl fill a billion gaps.
        rows = sheet.iter_rows(max_col=max_cols + 1, max_row=EXCEL_MAX_ROWS + 1, values_only=True)
        for number, row in enumerate(rows, start=1):
            if number > EXCEL_MAX_ROWS:  # openpyxl only yields this row when the file has rows beyond
                raise SheetError(f"行号超过 {EXCEL_MAX_ROWS}，文件可能已损坏", number)
            if row.count(None) == len(row):
                continue  # gaps openpyxl fills in (one shared tuple): skipped without a copy
            yield number, row
    except SheetError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed sheet part fails while being read
        raise SheetError(f"无法读取 XLSX 文件：{type(exc).__name__}") from None
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # Excel on Chinese Windows saves CSV as GBK
        except UnicodeDecodeError:
            raise SheetError("文件编码无法识别（请使用 UTF-8 或 GBK）") from None
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if any(_filled(v) for v in row):
                yield number, row
    except csv.Error as exc:
        raise SheetError(f"无法读取 CSV 文件：{exc}") from None
