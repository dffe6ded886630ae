"""The report page's Word 通报 form with 份号, 密级 and 紧急程度 (GB/T 9704-2012), and what its reminder
counts cover, in a browser: the office fills 份号 12, 密级 秘密, 保密期限 1年 and 紧急程度 特急, downloads
the document and finds them at its top left, in that order, and the seal's place in its 落款;
the page says the office counts every reminder (the unit-less ones split out) and an operator
only their units'. Also at 390 px.
Screenshots: test-output/screenshots/bulletin-form-*.png."""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document

from tests.browser.conftest import LiveStack, axe, js_errors, login, shot

pytestmark = pytest.mark.browser


def test_bulletin_form_copy_number_secrecy_and_reminder_scope(page: Any, live_stack: LiveStack) -> None:
    login(page, "auditor")
    page.goto("/reports/")
    scope = page.locator("#reminder-scope")
    assert "全部单位，含未归属具体单位的提醒" in scope.inner_text() and "两项分列" in scope.inner_text()
    form = page.locator("#bulletin-docx-form")
    assert form.get_by_label("密级", exact=True).input_value() == "无"  # 不标注 unless chosen
    assert form.get_by_label("紧急程度").input_value() == "无"
    form.get_by_label("份号（6 位数字，如 000001）").fill("12")
    form.get_by_label("密级", exact=True).select_option("秘密")
    form.get_by_label("保密期限（标注密级时填，如 1年、6个月、长期）").fill("1年")
    form.get_by_label("紧急程度").select_option("特急")
    shot(page, "bulletin-form-1-filled")
    axe(page, "bulletin-form-1-filled")
    with page.expect_download() as download_info:
        form.get_by_role("button", name="生成通报（Word）").click()
    data = download_info.value.path().read_bytes()
    lines = [p.text for p in Document(io.BytesIO(data)).paragraphs]
    assert lines[:3] == ["000012", "秘密★1年", "特急"]
    assert "（盖章）" in lines
    # a 密级 without a 份号 comes back to the page with the reason, no file
    page.goto("/reports/")
    form.get_by_label("密级", exact=True).select_option("机密")
    form.get_by_role("button", name="生成通报（Word）").click()
    page.wait_for_load_state()
    assert "标注密级的公文须同时标注份号" in page.locator(".flash").inner_text()
    shot(page, "bulletin-form-2-refused")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shot(page, "bulletin-form-3-390px")
    assert not js_errors(page), js_errors(page)


def test_an_operator_is_told_the_counts_are_their_units(page: Any, live_stack: LiveStack) -> None:
    login(page, "operator")
    page.goto("/reports/")
    text = page.locator("#reminder-scope").inner_text()
    assert "本单位及下级单位（不含其他单位和未归属具体单位的提醒）" in text and "两项分列" not in text
