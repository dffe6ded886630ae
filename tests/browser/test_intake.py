"""Browser journeys of intake at 390 px: the website feed (an item on the sandbox's sample site
becomes a draft with 立即抓取) and 批量排期 (template, upload with a media zip, the job's progress
page ending in 导入完成), in 简体中文, readable in 大字模式, no sideways scrolling, axe clean."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from playwright.sync_api import Error as PlaywrightError

from common.timefmt import CN_TZ
from intake.bulk import HEADERS
from tests.browser.conftest import LiveStack, axe, js_errors, login, shot, wait_until

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def no_sideways_scroll(page: Any, name: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{name} scrolls sideways at 390 px: content {widths[0]} px wide"


def test_feed_item_becomes_a_draft(page: Any, live_stack: LiveStack) -> None:
    live_stack.sandbox(
        "POST",
        "/_sandbox/site/items",
        json={
            "column": "zcwj",
            "title": "关于印发《示范县冬季供暖管理办法》的通知",
            "category": "政策文件",
            "guid": "B-1",
        },
    )
    live_stack.sandbox(
        "POST",
        "/_sandbox/site/items",
        json={
            "column": "zcwj",
            "title": "关于《示范县冬季供暖管理办法》的解读",
            "category": "政策解读",
            "policy_guid": "B-1",
        },
    )
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "operator")
    page.goto("/intake/feeds")
    page.get_by_role("link", name="政策文件").first.click()
    page.get_by_role("button", name="立即抓取").click()
    page.wait_for_load_state()
    table = page.locator("#feed-items")
    assert "关于《示范县冬季供暖管理办法》的解读" in table.inner_text()
    assert "解读《关于印发《示范县冬季供暖管理办法》的通知》" in table.inner_text()
    # 正常, or 正常（无更新） when the scheduler's own poll took the new items a moment before the button
    assert page.locator("#feed-status").inner_text() in ("正常", "正常（无更新）")
    shot(page, "intake-feed-390")
    no_sideways_scroll(page, "feed page")
    axe(page, "intake-feed")
    page.get_by_role("button", name="大字模式").click()
    no_sideways_scroll(page, "feed page 大字模式")
    assert not js_errors(page)


def test_bulk_import_with_progress(page: Any, live_stack: LiveStack, tmp_path: Path) -> None:

    workbook = Workbook()
    ws = workbook.active
    ws.title = "批量排期"
    ws.append(HEADERS)
    at = (datetime.now(CN_TZ) + timedelta(days=2)).strftime("%Y-%m-%d 09:30")
    for i in range(3):
        row = {
            "标题": f"浏览器批量稿件{i}",
            "正文": "正文",
            "发布账号": "示范县发布（微博）、微信公众号:示范县发布",
            "发布时间（北京时间）": at,
        }
        row["图片/附件文件名"] = "封面.png"
        ws.append([row.get(h) for h in HEADERS])
    sheet_path = tmp_path / "排期.xlsx"
    workbook.save(sheet_path)
    zip_path = tmp_path / "素材.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("封面.png", PNG)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "operator")
    page.goto("/intake/bulk")
    assert page.get_by_role("link", name="Excel 模板（.xlsx）").is_visible()
    no_sideways_scroll(page, "bulk page")
    axe(page, "intake-bulk")
    page.get_by_label("排期表格（.xlsx 或 .csv）").set_input_files(str(sheet_path))
    page.get_by_label("图片/附件压缩包（.zip，可选）").set_input_files(str(zip_path))
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url("**/jobs/*")

    # The page follows the job by itself and reloads once it is done (static/js/jobprogress.js);
    # reloading it from here too raced that reload (net::ERR_ABORTED on a loaded machine).
    def finished() -> bool:
        try:
            return page.locator("#job-status").inner_text(timeout=2000) in ("已完成", "失败")
        except PlaywrightError:  # the element is gone while the page reloads itself
            return False

    wait_until(finished, 90, "the bulk job", live_stack)
    page.wait_for_load_state("load")
    assert page.locator("#job-status").inner_text() == "已完成", page.locator("main").inner_text()
    assert "导入完成：生成 3 篇草稿" in page.locator("#job-message").inner_text()
    shot(page, "intake-bulk-done-390")
    no_sideways_scroll(page, "job page")
