"""Details of the phone layout (390 px, and 360 px in 大字模式) that a user notices:

* a wide table's caption stays on the screen: it wraps within the table's box and stays put while
  the table scrolls under it (考评's 各季度合格率与平均分… used to scroll away with its table);
* a first column of short IDs (后台任务's #12, an import's 行号) is as narrow as its content, while
  a first column of words (单位, 季度) keeps its five characters;
* the 考评 pages with computed scores (a11y_world scores this quarter through the scoring service):
  the roll-up, the accounts' scores and a score card have rows, fit the screen and lose nothing in
  their boxes;
* the footer keeps its margin and breaks between its two parts, not inside the name.

Screenshots: test-output/screenshots/phone-details-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveStack, js_errors, login, shot
from tests.browser.test_phone_width import CAPTIONS, PHONE, page_failures

pytestmark = pytest.mark.browser

DISPLAYS = [("normal", 390), ("large-font", 390), ("large-font", 360)]

#: a column's width in its font's em, by a cell of it
EM_WIDTH = "(cell) => cell.getBoundingClientRect().width / parseFloat(getComputedStyle(cell).fontSize)"


def phone(page: Any, role: str, mode: str, width: int) -> None:
    page.set_viewport_size({**PHONE, "width": width})
    login(page, role)
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
        assert page.get_by_role("button", name="大字模式").get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize(("mode", "width"), DISPLAYS)
def test_scores_pages_with_rows_fit_a_phone(
    page: Any, live_stack: LiveStack, a11y_world: dict[str, int], mode: str, width: int
) -> None:
    """考评汇总, 账号得分 and an account's 计分卡, with this quarter's scores: each table has rows,
    the page fits the screen and the captions of the wide tables (各季度合格率与平均分…) stay on it
    while their tables scroll."""
    phone(page, "auditor", mode, width)
    failures = []

    page.goto(live_stack.url_for("scoring.index"))
    assert page.locator("#rollup tbody tr[data-unit]").count() >= 1  # units with scores, not 本期尚未计算得分
    assert int(page.locator("#county-accounts").inner_text()) >= 1
    failures += page_failures(page, "scoring.index")
    _, scrolling = page.evaluate(CAPTIONS)
    assert scrolling >= 2, scrolling  # the trend and the units' tables are wider than the phone
    trend = page.locator("#trend-table").locator("xpath=..")
    trend.scroll_into_view_if_needed()
    trend.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
    shot(page, f"phone-details-{width}-{mode}-scores-trend-scrolled", full_page=False)
    trend.evaluate("(box) => { box.scrollLeft = 0; }")
    # a first column of words (季度, 单位) keeps its five characters
    firsts = page.locator("#trend-table tbody th, #rollup tbody th").evaluate_all(f"(cs) => cs.map({EM_WIDTH})")
    assert firsts and min(firsts) >= 6.4, firsts

    page.goto(live_stack.url_for("scoring.scores_page"))
    assert page.locator("#scores tbody tr[data-id]").count() >= 1
    failures += page_failures(page, "scoring.scores_page")
    shot(page, f"phone-details-{width}-{mode}-scores-accounts")

    page.goto(live_stack.url_for("scoring.card", score_id=a11y_world["score"]))
    assert page.locator("#deductions tbody tr").count() >= 1
    assert page.locator("#account-trend-table tbody th a").count() >= 1  # this quarter's score
    failures += page_failures(page, "scoring.card")
    shot(page, f"phone-details-{width}-{mode}-score-card")

    assert not failures, "\n".join(failures)
    assert not js_errors(page), js_errors(page)


@pytest.mark.parametrize(("mode", "width"), [("normal", 390), ("large-font", 360)])
def test_id_columns_are_narrow(
    page: Any, live_stack: LiveStack, a11y_world: dict[str, int], mode: str, width: int
) -> None:
    """后台任务's #12 and an import's 行号, the first column of their tables, are no longer held to
    five characters (6.5 em): each is narrower, the ID on one line."""
    phone(page, "auditor", mode, width)
    failures = []
    for endpoint, values, cells in (
        ("jobs.index", {}, "#jobs tr > :first-child"),
        ("jobs.detail", {"job_id": a11y_world["job_failed"]}, "#import-errors tr > :first-child"),
    ):
        page.goto(live_stack.url_for(endpoint, **values))
        widths = page.locator(cells).evaluate_all(f"(cs) => cs.map({EM_WIDTH})")
        assert len(widths) >= 3, (endpoint, widths)  # the heading and at least two rows
        if max(widths) > 5.5:
            failures.append(f"{endpoint}: its ID column is {max(widths):.1f} em wide")
        lines = page.locator(cells).evaluate_all(
            """(cs) => cs.map((c) => { const r = document.createRange(); r.selectNodeContents(c);
                 return new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size; })"""
        )
        assert max(lines) == 1, (endpoint, lines)
        failures += page_failures(page, endpoint)
        shot(page, f"phone-details-{width}-{mode}-{endpoint}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("mode", "width"), [("normal", 390), ("large-font", 360)])
def test_footer_keeps_its_margin(page: Any, live_stack: LiveStack, mode: str, width: int) -> None:
    """The footer's text keeps at least 16 px from both edges of the screen (at 360 px in 大字模式
    it reached them) and the platform's name is not broken over two lines; signed in or not."""
    page.set_viewport_size({**PHONE, "width": width})
    page.goto("/login")
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
    where = []
    for signed_in in (False, True):
        if signed_in:
            login(page, "operator")
        footer = page.locator("footer.footer")
        left, right, vw, name_lines = footer.evaluate(
            """(f) => { const r = document.createRange(); r.selectNodeContents(f);
                 const rects = [...r.getClientRects()].filter((q) => q.width > 0);
                 const name = '政务新媒体台账与多渠道发布平台';
                 const walk = document.createTreeWalker(f, NodeFilter.SHOW_TEXT);
                 let node = walk.nextNode();
                 while (node && !node.data.includes(name)) node = walk.nextNode();
                 const n = document.createRange();
                 n.setStart(node, node.data.indexOf(name)); n.setEnd(node, node.data.indexOf(name) + name.length);
                 return [Math.min(...rects.map((q) => q.left)), Math.max(...rects.map((q) => q.right)),
                         document.documentElement.clientWidth,
                         new Set([...n.getClientRects()].map((q) => Math.round(q.top))).size]; }"""
        )
        if left < 16 or right > vw - 16:
            where.append(f"signed in {signed_in}: the footer's text at {left:.0f}–{right:.0f} px of {vw}")
        assert name_lines == 1, name_lines
        assert "政务新媒体台账与多渠道发布平台" in footer.inner_text()
        shot(page, f"phone-details-{width}-{mode}-footer-{'in' if signed_in else 'out'}")
    assert not where, where
