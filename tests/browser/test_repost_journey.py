"""The repost-task journey (issue 18), through the pages on a live stack of its own.

The office (网信办-刘审计) issues a 转载任务 to 示范县教育局 on Weibo with a 中国政府网 article;
the bureau's operator (运营-教育局小陈) finds it under 本单位转载任务, turns it into a content with
one click (the 来源 statement is in it) and submits it; the county's three reviewers approve it; the
scheduler and the worker send it to the sandbox; the office presses 立即核对完成情况 and the
board shows 示范县教育局 · 微博 已完成; then the office's task list and settings page, and an edit
of the issued task (a new note, 示范县城关镇人民政府 added), which is then removed and added back
(its 已撤销 row reopens as 待完成, audited ``repost:readded``). Every step gets a screenshot
(test-output/screenshots/repost-*.png) and axe; the unit's and the office's pages are checked at
390 px too.
Run: CI=true .venv/bin/pytest -q -m browser tests/browser/test_repost_journey.py -n 0
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    OUTPUT,
    LiveStack,
    axe,
    js_errors,
    shot,
    signed_in_people,
    sqlite_rows,
    start_live_stack,
    wait_until,
)

pytestmark = pytest.mark.browser

SOURCE_URL = "https://www.gov.cn/zhengce/2026-12/03/content_7002468.htm"
SOURCE_TITLE = "国务院关于做好2027年元旦春节期间有关工作的通知"
UNIT = "示范县教育局"
ADDED = "示范县城关镇人民政府"
PUBLISH_WAIT = 180


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    workdir = Path(tempfile.mkdtemp(prefix="govmedia-reposts-", dir="/tmp"))
    try:
        with start_live_stack(workdir) as live:
            yield live
    finally:
        keep = OUTPUT / "repost-journey-stack-logs"
        shutil.rmtree(keep, ignore_errors=True)
        if (workdir / "logs").is_dir():
            shutil.copytree(workdir / "logs", keep)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def people(browser: Any, stack: LiveStack, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Any]]:
    with signed_in_people(browser, stack.url, request) as open_as:
        yield open_as


def step(page: Any, name: str) -> None:
    shot(page, f"repost-{name}")
    axe(page, f"repost-{name}")
    assert not js_errors(page), f"script errors or CSP violations at {name}: {js_errors(page)}"


def narrow(page: Any, name: str) -> None:
    """The same page at 390 px: nothing wider than the screen but the tables that scroll by themselves."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 392, f"{name} is {width}px wide at 390px"
    shot(page, f"repost-{name}-390px")
    axe(page, f"repost-{name}-390px")
    page.set_viewport_size({"width": 1280, "height": 900})


def flash(page: Any) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def target_state(stack: LiveStack, task_id: int) -> dict[str, str]:
    rows = sqlite_rows(
        stack,
        "SELECT u.name, t.platform, t.status FROM repost_targets t JOIN units u ON u.id = t.unit_id"
        " WHERE t.task_id = ?",
        task_id,
    )
    return {f"{name}:{platform}": status for name, platform, status in rows}


def review(stack: LiveStack, people: Callable[[str], Any], content_id: int) -> None:
    buttons = {1: "初审通过，转复审", 2: "复审通过，转终审", 3: "终审通过"}
    for stage in (1, 2, 3):
        reviewer = people(f"reviewer{stage}")
        reviewer.goto(f"/review?stage={stage}")
        row = reviewer.locator(f'#queue tr[data-id="{content_id}"]')
        assert row.count() == 1, f"the repost is not in the stage-{stage} queue"
        row.get_by_role("link", name="审核").click()
        reviewer.wait_for_load_state()
        step(reviewer, f"05-reviewer{stage}")
        acknowledge = reviewer.locator('input[name="acknowledge_warnings"]')
        if acknowledge.count():
            acknowledge.check()
        reviewer.get_by_role("button", name=buttons[stage]).click()
        reviewer.wait_for_load_state()
        assert "通过" in flash(reviewer), flash(reviewer)


def test_office_issues_unit_completes_board_shows_done(stack: LiveStack, people: Callable[[str], Any]) -> None:
    # 1. the office issues the task
    office = people("auditor")
    office.goto("/reposts/new")
    step(office, "01-office-new-task")
    office.get_by_label("原文或帖子链接", exact=True).fill(SOURCE_URL)
    office.get_by_label("原文标题", exact=True).fill(SOURCE_TITLE)
    office.get_by_label("来源（稿源单位或账号，稿件中写作“来源：…”）").fill("中国政府网")
    office.get_by_label("指定单位（可多选）").select_option(label=UNIT)
    office.locator("#platforms").get_by_label("微博", exact=True).check()
    office.get_by_label("说明", exact=True).fill("请于期限前在官方微博转载，注明来源。")
    office.get_by_role("button", name="下达任务").click()
    office.wait_for_load_state()
    assert "已下达转载任务，共 1 个单位" in flash(office), flash(office)
    match = re.search(r"/reposts/(\d+)$", office.url)
    assert match, office.url
    task_id = int(match.group(1))
    cell = office.locator('#board td[data-platform="weibo"] .badge')
    assert cell.inner_text() == "待完成"
    step(office, "02-office-board-issued")
    assert target_state(stack, task_id) == {f"{UNIT}:weibo": "pending"}

    # 2. the bureau's operator sees it in 待办 and under 本单位转载任务, turns it into a content
    operator = people("edu_operator")
    operator.goto("/todo/")
    assert SOURCE_TITLE in operator.locator("main").inner_text()
    operator.goto("/reposts/mine")
    section = operator.locator(f'section.repost-task[data-task="{task_id}"]')
    assert "待完成" in section.inner_text() and "中国政府网" in section.inner_text()
    # said in advance: a 中国政府网 article is not a superior's approved content → three reviews
    assert "转为稿件后需完整三审" in section.locator(".review-path").inner_text()
    step(operator, "03-unit-my-tasks")
    narrow(operator, "03-unit-my-tasks")
    section.get_by_role("button", name="一键转为稿件").click()
    operator.wait_for_load_state()
    assert "已转为稿件草稿" in flash(operator), flash(operator)
    assert "来源：中国政府网" in operator.get_by_label("正文", exact=True).inner_text()  # the rich-text editor
    assert operator.get_by_role("group", name="微博", exact=True).get_by_label("示范县教育", exact=True).is_checked()
    step(operator, "04-unit-editor-prefilled")
    operator.get_by_role("button", name="保存并提交审核").click()
    operator.wait_for_load_state()
    found = re.search(r"/contents/(\d+)$", operator.url)
    assert found, f"{operator.url} {flash(operator)}"
    content_id = int(found.group(1))
    assert "等待初审" in flash(operator), flash(operator)

    # 3. three reviews (the county's reviewers decide for the bureau), then the scheduler sends it
    review(stack, people, content_id)

    def sent() -> bool:
        rows = sqlite_rows(stack, "SELECT status FROM deliveries WHERE content_id = ?", content_id)
        return bool(rows) and all(r[0] == "sent" for r in rows)

    wait_until(sent, timeout=PUBLISH_WAIT, message="the repost to reach the sandbox", stack=stack)
    assert any(SOURCE_TITLE in p["text"] for p in stack.sandbox_posts("weibo"))

    # 4. the office checks now: the board shows it done
    office.goto(f"/reposts/{task_id}")
    office.get_by_role("button", name="立即核对完成情况").click()
    office.wait_for_load_state()
    assert "新发现完成 1 项" in flash(office), flash(office)
    cell = office.locator('#board td[data-platform="weibo"]')
    assert cell.locator(".badge").inner_text() == "已完成" and "经本平台发布" in cell.inner_text()
    assert office.locator('#board-counts [data-key="done"]').inner_text() == "1"
    step(office, "06-office-board-done")
    narrow(office, "06-office-board-done")
    with office.expect_download() as download:
        office.get_by_role("link", name="导出 XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert target_state(stack, task_id) == {f"{UNIT}:weibo": "done"}

    operator.goto("/reposts/mine")
    assert "已完成" in operator.locator(f'section.repost-task[data-task="{task_id}"]').inner_text()
    step(operator, "07-unit-sees-done")

    # 5. the office's list and the lighter-review settings page
    office.goto("/reposts/")
    row = office.locator(f'#repost-tasks tr[data-id="{task_id}"]')
    assert SOURCE_TITLE in row.inner_text() and re.search(r"\d{4}-\d{2}-\d{2} 18:00", row.inner_text())
    step(office, "08-office-task-list")
    narrow(office, "08-office-task-list")
    office.goto("/reposts/settings")
    assert UNIT in office.locator("#settings").inner_text()
    step(office, "09-office-settings")

    # 6. the office edits the issued task: a new note and one more unit, which then has it to do
    office.goto(f"/reposts/{task_id}")
    office.get_by_text("修改截止时间、名称、说明，增加或移除单位").click()
    form = office.locator("#edit-form")
    form.get_by_label("说明（对各单位的要求）").fill("请于期限前在官方微博转载并置顶一天，注明来源。")
    form.get_by_label(ADDED, exact=True).check()
    step(office, "10-office-edit-form")
    form.get_by_role("button", name="保存修改").click()
    office.wait_for_load_state()
    assert "已修改转载任务，增加 1 个单位" in flash(office), flash(office)
    assert "置顶一天" in office.locator("main").inner_text()
    assert target_state(stack, task_id) == {f"{UNIT}:weibo": "done", f"{ADDED}:weibo": "pending"}
    step(office, "11-office-board-edited")
    narrow(office, "11-office-board-edited")

    # 7. the office removes the added unit (with a reason), then adds it back: the same row reopens
    office.get_by_text("修改截止时间、名称、说明，增加或移除单位").click()
    form = office.locator("#edit-form")
    form.locator("fieldset", has_text="移除接收单位").get_by_label(ADDED, exact=True).check()
    form.get_by_label("修改理由（移除单位时必填）").fill("城关镇不在本次范围")
    form.get_by_role("button", name="保存修改").click()
    office.wait_for_load_state()
    assert "移除 1 个单位" in flash(office), flash(office)
    assert target_state(stack, task_id) == {f"{UNIT}:weibo": "done", f"{ADDED}:weibo": "cancelled"}
    office.get_by_text("修改截止时间、名称、说明，增加或移除单位").click()
    form = office.locator("#edit-form")
    back = form.locator("fieldset", has_text="增加接收单位").get_by_label(re.compile(ADDED))
    assert "此前移除，可重新加入" in form.locator("fieldset", has_text="增加接收单位").inner_text()
    back.check()
    form.get_by_label("修改理由（移除单位时必填）").fill("核实后仍需转载")
    step(office, "12-office-readd-form")
    form.get_by_role("button", name="保存修改").click()
    office.wait_for_load_state()
    assert "已修改转载任务，增加 1 个单位" in flash(office), flash(office)
    row = office.locator("#board tr", has_text=ADDED)
    assert row.count() == 1 and row.locator(".badge").inner_text() == "待完成"
    assert target_state(stack, task_id) == {f"{UNIT}:weibo": "done", f"{ADDED}:weibo": "pending"}
    readded = sqlite_rows(stack, "SELECT count(*) FROM audit_entries WHERE action = 'repost:readded'")
    assert readded[0][0] == 1
    step(office, "13-office-board-readded")
