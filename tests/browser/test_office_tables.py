"""The network information office's tables at its desktop (1280 px), in the normal display and in
大字模式: no column is squeezed to one or two characters a line (the 报表 page's 17-column tables
scroll in their own box instead) and no ID, date or number is broken in the middle — the page-wide
``overflow-wrap:anywhere`` once let a table narrow any column down to a letter per line; now only
boxes that may hold a long URL opt in (``.wrap-anywhere``). Screenshots:
test-output/screenshots/office-1280-MODE-PAGE.png."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveStack, js_errors, login, safe_name, shot
from tests.browser.test_phone_width import overflow

pytestmark = pytest.mark.browser

#: the office's list and statistics pages (endpoint, query)
PAGES = (
    ("dashboard.index", {}),
    ("registry.ledger", {}),
    ("registry.matrix", {}),
    ("findings.workbench", {}),
    ("workorders.board", {}),
    ("inspection.coverage_page", {}),
    ("scoring.index", {}),
    ("reports.index", {}),
    ("jobs.index", {}),
)

#: per table cell: its text broken into lines of about one character, and words (IDs, dates,
#: numbers: six or more letters, digits, _ - : .) split over two lines
SQUEEZE_JS = """() => {
  const lineTops = (range) => new Set([...range.getClientRects()].filter((r) => r.width > 0)
    .map((r) => Math.round(r.top))).size;
  const narrow = [], broken = [];
  for (const cell of document.querySelectorAll('main table.data td, main table.data th')) {
    if (!cell.getBoundingClientRect().width || cell.closest('.sr-only')) continue;
    const text = cell.textContent.replace(/\\s+/g, '');
    const whole = document.createRange(); whole.selectNodeContents(cell);
    const lines = lineTops(whole);
    if (text.length >= 4 && lines >= 3 && text.length / lines < 2) narrow.push(`${text.slice(0, 12)}: ${lines} 行`);
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[A-Za-z0-9_.:\\-]{6,}/g)) {
        const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        if (lineTops(r) > 1) broken.push(m[0]);
      }
    }
  }
  return [narrow.slice(0, 6), broken.slice(0, 6)];
}"""


@pytest.mark.parametrize("mode", ["normal", "large-font"])
def test_office_tables_keep_their_words_at_desktop_width(page: Any, live_stack: LiveStack, mode: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "auditor")
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
    failures = []
    for endpoint, query in PAGES:
        path = live_stack.url_for(endpoint, **query)
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page_width, viewport, culprits, _ = overflow(page)
        narrow, broken = page.evaluate(SQUEEZE_JS)
        shot(page, f"office-1280-{mode}-{safe_name(path.strip('/') or 'home')}")
        if page_width > viewport:
            failures.append(f"{path}: {page_width} px wide at {viewport} px: {culprits}")
        if narrow:
            failures.append(f"{path}: columns squeezed to a character or two a line: {narrow}")
        if broken:
            failures.append(f"{path}: words broken in the middle: {broken}")
    assert not failures, "\n".join(failures)
    assert not js_errors(page), js_errors(page)


def test_report_tables_scroll_in_their_box_in_large_font(page: Any, live_stack: LiveStack) -> None:
    """报表's 按单位 table in 大字模式: wider than the screen, it scrolls inside its region (which
    takes the keyboard focus to scroll) and each unit name keeps at least six characters a line."""
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "auditor")
    page.get_by_role("button", name="大字模式").click()
    page.goto(live_stack.url_for("reports.index"))
    region = page.get_by_role("region", name="按单位", exact=True)
    assert region.get_attribute("tabindex") == "0"
    widths = region.evaluate("(r) => [r.scrollWidth, r.clientWidth]")
    assert widths[0] > widths[1], widths  # the table scrolls in its box, the page does not
    names = page.locator("#units tbody th").evaluate_all(
        "(ths) => ths.map((th) => th.clientWidth / parseFloat(getComputedStyle(th).fontSize))"
    )
    assert names and min(names) >= 6.5, names
    # a column widened by its content (here a long value put into one column) widens the table;
    # the other columns keep their three characters a line (were squeezed to one or two)
    page.evaluate(
        """() => { for (const td of document.querySelectorAll('#units tbody td:nth-child(6)'))
                     td.textContent = '2026-12-01T08:00:00+08:00'; }"""
    )
    narrow, _ = page.evaluate(SQUEEZE_JS)
    assert not narrow, narrow
