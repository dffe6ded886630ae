"""Confirming a 问题线索 that has no unit in the ledger (an account discovery found): the button says
what will happen. With no 责任单位 chosen it reads 仅确认（不下发整改） and confirming makes no work
order; with one chosen it reads 确认并下发整改 and the unit gets the order. Without JavaScript the
button says both (确认（选了责任单位即下发整改）)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from oversight.workorders.models import WorkOrder
from tests.browser.conftest import LiveStack, axe, js_errors, login, shot, unregistered_findings
from tests.browser.test_phone_width import PHONE

pytestmark = pytest.mark.browser

CONFIRM_ONLY = "仅确认（不下发整改）"
CONFIRM_AND_ORDER = "确认并下发整改"
NO_SCRIPT = "确认（选了责任单位即下发整改）"
UNIT = re.compile("^责任单位")


def orders(stack: LiveStack, finding_id: int) -> int:
    with stack.db() as session:
        return session.scalar(sa.select(sa.func.count(WorkOrder.id)).where(WorkOrder.finding_id == finding_id))


def flash(page: Any) -> str:
    return page.locator(".flashes").inner_text()


@pytest.mark.parametrize("mode", ["normal", "large-font"])
def test_confirm_button_says_what_happens(page: Any, live_stack: LiveStack, mode: str) -> None:
    (only, ordered), unit_name = unregistered_findings(live_stack, 2, "确认测试")
    page.set_viewport_size(PHONE)
    login(page, "auditor")
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
    page.goto(f"/findings/{only}")
    unit = page.get_by_role("combobox", name=UNIT)
    assert unit.input_value() == ""  # 不选：只确认，不生成整改工单
    assert page.get_by_role("button", name=CONFIRM_ONLY).is_visible()
    assert page.get_by_role("button", name=CONFIRM_AND_ORDER, exact=True).count() == 0
    unit.select_option(label=unit_name)
    assert page.get_by_role("button", name=CONFIRM_AND_ORDER, exact=True).is_visible()
    assert page.get_by_role("button", name=CONFIRM_ONLY).count() == 0
    shot(page, f"finding-confirm-{mode}-unit-chosen")
    unit.select_option(value="")  # changed their mind: back to confirming only
    assert page.get_by_role("button", name=CONFIRM_ONLY).is_visible()
    shot(page, f"finding-confirm-{mode}-no-unit")
    axe(page, f"finding-confirm-{mode}")
    page.get_by_role("button", name=CONFIRM_ONLY).click()
    page.wait_for_load_state()
    assert "已确认。该问题线索没有责任单位，未生成整改工单" in flash(page), flash(page)
    assert "尚未生成整改工单" in page.locator("#no-workorder").inner_text()
    assert orders(live_stack, only) == 0  # what the button said: no work order

    page.goto(f"/findings/{ordered}")
    page.get_by_role("combobox", name=UNIT).select_option(label=unit_name)
    page.get_by_role("button", name=CONFIRM_AND_ORDER, exact=True).click()
    page.wait_for_load_state()
    assert f"整改工单已发给“{unit_name}”" in flash(page), flash(page)
    assert orders(live_stack, ordered) == 1
    assert not js_errors(page), js_errors(page)


def test_confirm_button_without_javascript(browser: Any, live_stack: LiveStack) -> None:
    """No script to rename the button: its label says both outcomes, and confirming without a unit
    only confirms."""
    (only,), _unit_name = unregistered_findings(live_stack, 1, "确认测试")
    context = browser.new_context(base_url=live_stack.url, locale="zh-CN", viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, "auditor")
        page.goto(f"/findings/{only}")
        button = page.get_by_role("button", name=NO_SCRIPT)
        assert button.is_visible()
        assert "不选则只确认线索，不生成整改工单" in page.locator("#resp-unit-help").inner_text()
        shot(page, "finding-confirm-nojs")
        button.click()
        page.wait_for_load_state()
        assert "已确认。该问题线索没有责任单位，未生成整改工单" in flash(page), flash(page)
        assert orders(live_stack, only) == 0
    finally:
        context.close()
