"""Browser journeys of issue 17 (考评, 整改, 待办), each at 1366 px and at 390 px, on a stack of
their own (they change findings, work orders and the sandbox's timelines):

* the work order's full loop: the office confirms a finding and so issues the order → the unit's
  operator answers with a text and a file → the automatic re-check cannot reach the platform, so
  the office reviews it and returns it → the unit answers again after the account posted → the
  automatic re-check closes it; and an overdue order shows escalated on the board and its page;
* the scores pages: the roll-up, a unit's accounts and an account's score card, with the charts
  drawn by Chart.js and the same figures in tables;
* the 待办中心: the header's count is the page's total, and each person sees their own work.

No page scrolls sideways at either width. Screenshots: test-output/screenshots/oversight-*.png.
The re-checks and the scoring run through the CLI the docs give for "now" (``flask workorders run``,
``flask scoring run``), the same code the scheduler's jobs run.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from auth.models import User
from common.db import utcnow
from demo import _sandbox_credentials
from oversight.findings import today_cn
from oversight.models import Finding, FindingKind
from oversight.scoring import service as scoring
from oversight.workorders.models import WorkOrder
from publishers.credential_admin import set_credentials
from registry.models import Account, AccountStatus, Platform
from tests.browser.conftest import (
    OUTPUT,
    LiveStack,
    axe,
    js_errors,
    login,
    shot,
    signed_in_people,
    sqlite_rows,
    start_live_stack,
    unregistered_findings,
)
from tests.browser.test_journeys import png

pytestmark = pytest.mark.browser

WIDTHS = {"wide": (1366, 900), "narrow": (390, 844)}
WEIBO_DOWN = {"platform": "weibo", "endpoint": "*", "error": "server_error", "count": 200}
CHARTS_DRAWN = """() => [...document.querySelectorAll('canvas[data-chart]')]
    .map(c => [c.dataset.chart, !!window.Chart.getChart(c)])"""


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    workdir = Path(tempfile.mkdtemp(prefix="govmedia-oversight-", dir="/tmp"))
    try:
        # The scheduler's first activity sweep (FIRST_SWEEP_MINUTES after it starts) would read the
        # planted accounts at a moment set by the machine's speed — once it closed the order between
        # the account's new post and the unit's second answer. The journeys run each check
        # themselves, through the CLI, so the scheduler's sweep waits until long after them.
        with start_live_stack(workdir, FIRST_SWEEP_MINUTES="600") as live:
            yield live
    finally:
        keep = OUTPUT / "oversight-stack-logs"
        shutil.rmtree(keep, ignore_errors=True)
        if (workdir / "logs").is_dir():
            shutil.copytree(workdir / "logs", keep)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def people(
    browser: Any, stack: LiveStack, width: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Any]]:
    """``people("auditor")``: a signed-in page of that demo user at the test's width."""
    with signed_in_people(
        browser, stack.url, request, viewport=WIDTHS[width], failed_prefix=f"FAILED-oversight-{width}"
    ) as open_as:
        yield open_as


def step(page: Any, name: str, width: str) -> None:
    """A screenshot, axe, no script errors, and no sideways scrolling of the page."""
    shot(page, f"oversight-{name}-{width}")
    scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{name} at {width}: the page scrolls sideways ({scroll} > {client})"
    axe(page, f"oversight-{name}-{width}")
    assert not js_errors(page), f"script errors or CSP violations at {name}: {js_errors(page)}"


def plant(stack: LiveStack, uid: str, days_ago: list[int], unit_name: str) -> None:
    """The account on the sandbox's Weibo, with posts ``days_ago`` days old."""

    now = utcnow()
    stack.sandbox(
        "POST",
        "/_sandbox/accounts",
        json={
            "platform": "weibo",
            "uid": uid,
            "name": f"教育局整改测试{uid[-4:]}",
            "subject": unit_name,
            "verified": True,
            "posts": [
                {"text": f"第{i}条", "created_at": (now - timedelta(days=d)).isoformat() + "+00:00"}
                for i, d in enumerate(days_ago)
            ],
        },
    )


def silent_account_finding(stack: LiveStack) -> tuple[int, str]:
    """A registered Weibo account of 示范县教育局 that last posted 20 days ago, and the finding
    the activity check makes of it (超14天未更新). Returns (finding id, uid)."""

    uid = f"wbwo{uuid.uuid4().hex[:8]}"
    with stack.db() as session:
        unit = session.scalar(sa.select(User).where(User.username == "edu_operator")).unit
        unit_name = unit.name
        account = Account(
            platform=Platform.weibo,
            platform_uid=uid,
            name=f"教育局整改测试{uid[-4:]}",
            unit_id=unit.id,
            status=AccountStatus.active,
            verified_subject=unit_name,
        )
        session.add(account)
        session.flush()
        set_credentials(account.id, _sandbox_credentials(Platform.weibo, uid))
        account_id = account.id
    plant(stack, uid, [20], unit_name)
    stack.flask("monitoring", "activity", "--account", str(account_id))
    with stack.db() as session:
        finding_id = session.scalar(
            sa.select(Finding.id).where(Finding.account_id == account_id, Finding.kind == FindingKind.inactive_14d)
        )
    assert finding_id, "the activity check made no 超14天未更新 finding"
    return finding_id, uid


def order_of(stack: LiveStack, finding_id: int) -> tuple[int, str]:

    rows = sqlite_rows(stack, "SELECT id, status FROM work_orders WHERE finding_id = ?", finding_id)
    assert rows, "no work order for the finding"
    return rows[0][0], rows[0][1]


def status_text(page: Any) -> str:
    return page.locator("#wo-status").inner_text().strip()


def test_work_order_full_loop(stack: LiveStack, people: Callable[[str], Any], width: str) -> None:
    finding_id, uid = silent_account_finding(stack)
    office, unit = people("auditor"), people("edu_operator")

    # 1) The office confirms the finding: the unit's work order is issued with a deadline.
    office.goto(f"/findings/{finding_id}")
    office.get_by_role("button", name="确认并下发整改").click()
    office.wait_for_load_state()
    assert status_text(office) == "待整改"
    order_id, status = order_of(stack, finding_id)
    assert status == "issued"
    step(office, "wo-1-issued", width)

    # 2) The unit's operator answers with a text and a screenshot.
    unit.goto(f"/workorders/{order_id}")
    unit.get_by_label("整改情况说明（必填）").fill("已安排专人每周更新，附排班表截图")
    unit.locator("#wo-files").set_input_files(files=[{"name": "排班表.png", "mimeType": "image/png", "buffer": png()}])
    step(unit, "wo-2-feedback-form", width)
    unit.get_by_role("button", name="提交反馈").click()
    unit.wait_for_load_state()
    assert status_text(unit) == "自动复查中"
    assert unit.locator("#wo-history a", has_text="排班表.png").count() == 1

    # 3) The re-check cannot reach Weibo now: the order goes to the office, which returns it.
    stack.sandbox(
        "POST", "/_sandbox/faults", json={"platform": "weibo", "endpoint": "*", "error": "server_error", "count": 200}
    )
    try:
        out = stack.flask("workorders", "run")
    finally:
        stack.sandbox("DELETE", "/_sandbox/faults")
    assert f"#{order_id}→submitted" in out, out
    office.goto(f"/workorders/{order_id}")
    assert status_text(office) == "已反馈，待审核"
    assert "请网信办人工审核" in office.locator("#wo-history").inner_text()
    office.get_by_label("意见（退回时必填）").fill("截图看不出已恢复更新，请在账号发布后再反馈")
    step(office, "wo-3-office-review", width)
    office.get_by_role("button", name="退回整改").click()
    office.wait_for_load_state()
    assert status_text(office) == "退回整改"

    # 4) The account posts again; the unit answers a second time; the re-check closes the order.
    with stack.db() as session:
        unit_name = session.scalar(select(User).where(User.username == "edu_operator")).unit.name
    plant(stack, uid, [0, 20], unit_name)
    unit.goto("/todo/")  # the returned order waits for the unit again
    assert unit.locator(f'section[id^=section-] a[href$="/workorders/{order_id}"]').count() == 1
    unit.goto(f"/workorders/{order_id}")
    assert "截图看不出已恢复更新" in unit.locator("#wo-history").inner_text()
    unit.get_by_label("整改情况说明（必填）").fill("账号已于今日恢复更新")
    unit.get_by_role("button", name="提交反馈").click()
    unit.wait_for_load_state()
    assert status_text(unit) == "自动复查中"
    out = stack.flask("workorders", "run")
    # the re-check (or the scheduler's activity check, if it read the account first) closed it
    assert f"#{order_id}→verified" in out or order_of(stack, finding_id)[1] == "verified", out
    unit.goto(f"/workorders/{order_id}")
    assert status_text(unit) == "复查通过，已办结"
    kinds = unit.locator("#wo-history > li").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds[0] == "issue" and kinds.count("feedback") == 2 and "return" in kinds and kinds[-1] == "verify"
    step(unit, "wo-4-closed", width)
    office.goto(f"/findings/{finding_id}")
    assert "已解决" in office.locator("main").inner_text() or "已办结" in office.locator("main").inner_text()


@pytest.fixture
def people_at_both_widths(
    browser: Any, stack: LiveStack, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Any]]:
    """For the tests that arrange their world once and then look at it at each width
    (``at_width``): signed-in pages that start wide."""
    with signed_in_people(
        browser, stack.url, request, viewport=WIDTHS["wide"], failed_prefix="FAILED-oversight-both"
    ) as open_as:
        yield open_as


def at_width(page: Any, width: str, path: str) -> None:
    """Open ``path`` with the page's viewport at ``width`` (a fresh load, so the page lays itself
    out for that width from the start)."""
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})
    page.goto(path)


def test_overdue_work_order_shows_escalated(stack: LiveStack, people_at_both_widths: Callable[[str], Any]) -> None:
    """One overdue order, its board, page and the unit's 待办 seen at both widths (confirming a
    finding at 390 px is in test_work_order_full_loop[narrow])."""
    finding_id, _ = silent_account_finding(stack)
    office = people_at_both_widths("auditor")
    office.goto(f"/findings/{finding_id}")
    office.get_by_role("button", name="确认并下发整改").click()
    office.wait_for_load_state()
    order_id, _ = order_of(stack, finding_id)
    with stack.db() as session:
        session.get(WorkOrder, order_id).due_on = today_cn() - timedelta(days=3)
    out = stack.flask("workorders", "run")
    assert "逾期升级" in out and "逾期升级 0 个" not in out, out

    unit = people_at_both_widths("edu_operator")
    for width in WIDTHS:
        at_width(office, width, "/workorders/?overdue=1")
        row = office.locator("#workorders tbody tr").filter(has=office.locator(f'a[href="/workorders/{order_id}"]'))
        assert row.count() == 1
        assert "已升级督办" in row.inner_text() and "已逾期" in row.inner_text()
        step(office, "wo-overdue-board", width)
        at_width(office, width, f"/workorders/{order_id}")
        panel = office.locator("#workorder").inner_text()
        assert "已逾期" in panel and "已升级督办" in panel
        assert office.locator('#wo-history li[data-kind="escalate"]').count() == 1
        step(office, "wo-overdue-detail", width)

        # the unit sees it as overdue in its 待办
        at_width(unit, width, "/todo/")
        item = unit.locator("li").filter(has=unit.locator(f'a[href$="/workorders/{order_id}"]'))
        assert item.count() >= 1 and "已逾期" in item.first.inner_text()


def _header_count(page: Any) -> int:
    text = page.locator('nav[aria-label="主导航"] a', has_text="待办").first.inner_text()
    m = re.search(r"待办（(\d+)）", text)
    assert m, text
    return int(m.group(1))


def _todo_counts(page: Any, width: str) -> int:
    """The 待办 page at ``width``: the header's count is the page's total and the sections' sum."""
    at_width(page, width, "/todo/")
    total = int(page.locator("#todo-total").inner_text())
    assert _header_count(page) == total, width
    sections = page.locator("section[id^=section-] h2").all_inner_texts()
    counted = sum(int(re.search(r"（(\d+)）$", s).group(1)) for s in sections)
    assert counted == total, (width, sections)
    return total


def test_todo_centre_with_header_counts(stack: LiveStack, people_at_both_widths: Callable[[str], Any]) -> None:
    """One new order; each person's 待办 at both widths; the unit's answer moves one item from the
    unit's count to the office's, at both widths (answering at 390 px: test_work_order_full_loop)."""
    finding_id, _ = silent_account_finding(stack)
    office = people_at_both_widths("auditor")
    office.goto(f"/findings/{finding_id}")
    office.get_by_role("button", name="确认并下发整改").click()
    office.wait_for_load_state()
    order_id, _ = order_of(stack, finding_id)
    pages = {"edu_operator": people_at_both_widths("edu_operator"), "auditor": office}
    pages["reviewer1"] = people_at_both_widths("reviewer1")

    before: dict[tuple[str, str], int] = {}
    for width in WIDTHS:
        for username, page in pages.items():
            before[username, width] = _todo_counts(page, width)
            if username == "edu_operator":
                assert page.locator(f'a[href$="/workorders/{order_id}"]').count() >= 1
            step(page, f"todo-{username}", width)

    # the unit answers: its count goes down by one, the office's goes up when it is for review
    unit = pages["edu_operator"]
    at_width(unit, "wide", f"/workorders/{order_id}")
    unit.get_by_label("整改情况说明（必填）").fill("已安排专人更新")
    stack.sandbox(
        "POST", "/_sandbox/faults", json={"platform": "weibo", "endpoint": "*", "error": "server_error", "count": 200}
    )
    try:
        unit.get_by_role("button", name="提交反馈").click()
        unit.wait_for_load_state()
        stack.flask("workorders", "run")  # the re-check cannot run: the office decides
    finally:
        stack.sandbox("DELETE", "/_sandbox/faults")
    for width in WIDTHS:
        assert _todo_counts(unit, width) == before["edu_operator", width] - 1
        assert _todo_counts(office, width) == before["auditor", width] + 1
        assert office.locator(f'a[href$="/workorders/{order_id}"]').count() >= 1


def test_scores_pages_with_charts(stack: LiveStack, people: Callable[[str], Any], width: str) -> None:
    out = stack.flask("scoring", "run")
    assert "本期暂计分" in out, out
    office = people("auditor")
    office.goto("/scoring/")
    # Chart.js drew every chart of the page; each has its table
    office.wait_for_function("() => document.querySelectorAll('.chart-box:not([hidden]) canvas').length >= 2")
    drawn = office.evaluate(CHARTS_DRAWN)
    assert drawn and all(ok for _, ok in drawn), drawn
    assert office.locator("#trend-table tbody tr").count() == 4
    assert office.locator("#distribution-table tbody tr").count() == 6
    accounts = int(office.locator("#county-accounts").inner_text())
    counts = [int(t) for t in office.locator("#distribution-table tbody td").all_inner_texts()]
    assert sum(counts) == accounts > 0
    step(office, "scores-rollup", width)

    unit_link = office.locator("#rollup tbody th a").first
    unit_name = unit_link.inner_text()
    unit_link.click()
    office.wait_for_load_state()
    assert f"{unit_name}：趋势、分布与否决原因" in office.locator("#score-charts h2").inner_text()
    office.wait_for_function("() => document.querySelectorAll('.chart-box:not([hidden]) canvas').length >= 2")
    step(office, "scores-unit", width)

    office.locator("#scores tbody th a").first.click()
    office.wait_for_load_state()
    assert office.locator("#account-charts").count() == 1
    office.wait_for_function("() => document.querySelectorAll('.chart-box:not([hidden]) canvas').length >= 2")
    assert office.locator("#account-trend-table tbody tr").count() >= 1
    step(office, "scores-card", width)

    # a unit's operator sees the figures of their own units only
    unit = people("edu_operator")
    unit.goto("/scoring/")
    assert "本单位及下级单位：趋势、分布与否决原因" in unit.locator("#score-charts h2").inner_text()
    mine = [int(t) for t in unit.locator("#distribution-table tbody td").all_inner_texts()]
    assert 0 < sum(mine) < accounts
    step(unit, "scores-unit-operator", width)

    # the 考评期间 is chosen from a list in words; the address keeps the code
    month = scoring.parse_period(scoring.current_month())
    unit.get_by_label("考评期间", exact=True).select_option(label=f"{month.label}（本月）")
    unit.get_by_role("button", name="查看").click()
    unit.wait_for_load_state()
    assert f"period={month.key}" in unit.url and unit.locator("h1").inner_text() == f"考评汇总（{month.label}）"


def test_confirming_a_finding_without_a_unit_names_the_unit(
    stack: LiveStack, people: Callable[[str], Any], width: str
) -> None:
    """An unregistered account discovery found belongs to no unit: confirming it, the office picks
    the 责任单位 (at 390 px also in 大字模式), and that unit's operator gets the work order. Another
    is confirmed without a unit (the button then reads 仅确认（不下发整改）): its page says no order
    exists yet, and the office names the unit later (指定责任单位并下发整改)."""
    (finding_id, later_id), unit_name = unregistered_findings(stack, 2)
    office = people("auditor")
    office.goto(f"/findings/{finding_id}")
    if width == "narrow":
        office.get_by_role("button", name="大字模式").click()
    office.get_by_role("combobox", name=re.compile("^责任单位")).select_option(label=unit_name)
    step(office, "confirm-no-unit", width)
    office.get_by_role("button", name="确认并下发整改").click()
    office.wait_for_load_state()
    assert f"整改工单已发给“{unit_name}”" in office.locator(".flashes").inner_text()
    order_id, status = order_of(stack, finding_id)
    assert status == "issued"
    step(office, "confirm-no-unit-issued", width)
    operator = people("edu_operator")
    operator.goto(f"/workorders/{order_id}")
    assert status_text(operator) == "待整改"

    office.goto(f"/findings/{later_id}")
    # no unit chosen: the button says it only confirms
    office.get_by_role("button", name="仅确认（不下发整改）").click()
    office.wait_for_load_state()
    assert "尚未生成整改工单" in office.locator("#no-workorder").inner_text()
    office.get_by_role("combobox", name=re.compile("^责任单位")).select_option(label=unit_name)
    step(office, "assign-unit-later", width)
    office.get_by_role("button", name="指定责任单位并下发整改").click()
    office.wait_for_load_state()
    assert f"整改工单已发给“{unit_name}”" in office.locator(".flashes").inner_text()
    assert order_of(stack, later_id)[1] == "issued" and office.locator("#no-workorder").count() == 0
    step(office, "assign-unit-later-issued", width)


def test_scores_without_javascript_show_the_tables(browser: Any, stack: LiveStack) -> None:
    context = browser.new_context(
        base_url=stack.url, locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        page = context.new_page()
        login(page, "auditor")
        page.goto("/scoring/")
        assert page.locator(".chart-box[hidden]").count() >= 2  # no empty chart boxes
        assert page.locator("#distribution-table").is_visible() and page.locator("#trend-table").is_visible()
        shot(page, "oversight-scores-nojs-narrow")
    finally:
        context.close()
