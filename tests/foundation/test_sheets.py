"""common/sheets.py: the one cell guard every XLSX/CSV writer uses, and the bounded reader."""

from __future__ import annotations

import csv
import io
import resource
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from common import sheets

ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------- the guard


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_neutralised(text):
    assert sheets.cell(text) == "'" + text
    assert sheets.csv_cell(text) == "'" + text
    assert sheets.unguard(sheets.cell(text)) == text  # the import reads it back unchanged


def test_illegal_xml_characters_are_removed_and_types_kept():
    assert sheets.cell("坏\x00账\x07号\x1b\ufffe") == "坏账号"
    assert sheets.cell("第一行\n第二行\t") == "第一行\n第二行\t"  # legal in XML, kept
    assert sheets.cell("=\x01A1") == "'=A1"
    assert sheets.cell(-5) == -5 and sheets.cell(2.5) == 2.5 and sheets.cell(True) is True
    assert sheets.cell(Decimal("1.5")) == Decimal("1.5")
    assert sheets.cell(None) is None and sheets.csv_cell(None) == ""
    assert sheets.cell(date(2026, 1, 2)) == date(2026, 1, 2)
    # Stored datetimes are naive UTC; sheets show Beijing time.
    assert sheets.cell(datetime(2026, 1, 1, 20, 0)) == datetime(2026, 1, 2, 4, 0)
    assert sheets.csv_cell(datetime(2026, 1, 1, 20, 0)) == "2026-01-02 04:00:00"
    assert sheets.csv_cell(date(2026, 1, 2)) == "2026-01-02"


def test_guarded_values_survive_openpyxl_as_text():
    workbook = Workbook()
    workbook.active.append([sheets.cell(v) for v in ["=1+1", "名\x0b称", 3]])
    buffer = io.BytesIO()
    workbook.save(buffer)  # unguarded, "名\x0b称" raises IllegalCharacterError here
    row = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    assert [(c.value, c.data_type) for c in row] == [("'=1+1", "s"), ("名称", "s"), (3, "n")]


# ----------------------------------------------------------------------------- the reader

SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def declared_huge_xlsx(rows_xml: str, dimension: str = "A1:XFD1048576") -> bytes:
    """A tiny workbook whose <dimension> claims the whole Excel grid."""
    main = "http://schemas.openxmlformats.org"
    rel = f"{main}/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Types xmlns="{main}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Relationships xmlns="{main}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Relationships xmlns="{main}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}/spreadsheetml/2006/main" '
        f'xmlns:r="{rel}"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/worksheets/sheet1.xml": (
            f'{SHEET_HEAD}<dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>'
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def text_row(number: int, *values: str, start_col: str = "A") -> str:
    cells = "".join(
        f'<c r="{chr(ord(start_col) + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def bomb_rows(last: int) -> str:
    """A header, one data row, and one cell on row ``last``: before the fix openpyxl padded every
    row in between to the declared 16,384 columns (20,000 rows: 2.4 GiB for a 1.6 KB file)."""
    return text_row(1, "平台", "平台账号ID", "账号名称") + text_row(2, "微博", "u1", "名") + text_row(last, "x")


LIMITS = {"max_rows": 200_000, "max_cols": 100, "max_unpacked_bytes": 256 * 1024 * 1024}


@pytest.fixture
def memory_cap():
    """Cap this process's address space 1.5 GiB above what it uses now, so a regression fails
    with MemoryError instead of swapping the shared machine; restored afterwards."""
    with open("/proc/self/status") as status:
        vm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_kib * 1024 + 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def peak_mib(func, *args, **kwargs):
    tracemalloc.start()
    try:
        result = func(*args, **kwargs)
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, peak


def test_declared_dimension_is_ignored(memory_cap):
    data = declared_huge_xlsx(bomb_rows(20_000))
    assert len(data) < 2000
    rows, peak = peak_mib(sheets.read_rows, data, **LIMITS)
    assert [n for n, _ in rows] == [1, 2, 20_000]
    assert rows[1][1][:3] == ["微博", "u1", "名"] and len(rows[1][1]) == 100  # never wider than max_cols
    assert peak < 16, f"peak {peak:.1f} MiB"


CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, resource.RLIM_INFINITY))
from common import sheets
data = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sheets.read_rows(data, max_rows=200_000, max_cols=100, max_unpacked_bytes=1 << 28)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(rows), rows[-1][0], (after - before) // 1024)
"""


def test_whole_grid_declared_reads_in_small_memory():
    """The 1,048,576-row case in a child process (its own peak RSS, under a 1 GiB cap)."""
    data = declared_huge_xlsx(bomb_rows(1_048_576))
    child = subprocess.run(
        [sys.executable, "-c", CHILD], input=data, capture_output=True, timeout=120, cwd=ROOT, check=False
    )
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    count, last, grown_mib = (int(v) for v in child.stdout.split())
    assert (count, last) == (3, 1_048_576)
    assert grown_mib < 32, f"peak RSS grew {grown_mib} MiB"


def test_row_limit_applies_while_reading(memory_cap):
    data = declared_huge_xlsx("".join(text_row(n, f"v{n}") for n in range(1, 12)))
    with pytest.raises(sheets.SheetError) as caught:
        sheets.read_rows(data, **{**LIMITS, "max_rows": 5})
    assert caught.value.row == 7 and "数据超过 5 行" in caught.value.reason
    assert len(sheets.read_rows(data, **{**LIMITS, "max_rows": 10})) == 11


def test_row_numbers_beyond_excel_are_refused(memory_cap):
    data = declared_huge_xlsx(
        text_row(1, "表头") + '<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    with pytest.raises(sheets.SheetError, match="行号超过"):
        sheets.read_rows(data, **LIMITS)


def test_columns_beyond_the_limit_are_refused():
    data = declared_huge_xlsx(text_row(1, "a", "b") + text_row(2, "x", "y", "z"))
    with pytest.raises(sheets.SheetError) as caught:
        sheets.read_rows(data, **{**LIMITS, "max_cols": 2})
    assert caught.value.row == 2 and "超过 2 列" in caught.value.reason


def test_unpacked_size_is_capped():
    data = declared_huge_xlsx(text_row(1, "a" * 5000))
    with pytest.raises(sheets.SheetError, match="解压后超过"):
        sheets.read_rows(data, **{**LIMITS, "max_unpacked_bytes": 4096})


def test_csv_obeys_the_same_limits():
    text = io.StringIO()
    csv.writer(text).writerows([["h1", "h2"], ["a", "b"], [], ["c", "d"], ["e", "f", "g"]])
    data = text.getvalue().encode("utf-8-sig")
    assert [n for n, _ in sheets.read_rows(data, **LIMITS)] == [1, 2, 4, 5]
    with pytest.raises(sheets.SheetError, match="数据超过 2 行"):
        sheets.read_rows(data, **{**LIMITS, "max_rows": 2})
    with pytest.raises(sheets.SheetError, match="超过 2 列"):
        sheets.read_rows(data, **{**LIMITS, "max_cols": 2})
    with pytest.raises(sheets.SheetError, match="无法读取 XLSX"):
        sheets.read_rows(b"PK\x03\x04broken", **LIMITS)
