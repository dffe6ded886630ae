"""Browser journey: a production install from an empty database (no seed-demo) — flask bootstrap,
the admin signs in and creates the first unit and an operator in the pages, the operator signs in
and lands on the contents. A screenshot of each step goes to test-output/screenshots/."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveStack, login, shot, start_live_stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def empty_stack() -> Iterator[LiveStack]:
    workdir = Path(tempfile.mkdtemp(prefix="govmedia-first-run-", dir="/tmp"))
    with start_live_stack(workdir, seed=False) as stack:
        yield stack


def _page(browser: Any, stack: LiveStack) -> Any:
    context = browser.new_context(
        base_url=stack.url, locale="zh-CN", viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def test_first_run_bootstrap_then_unit_and_operator_through_the_pages(browser: Any, empty_stack: LiveStack) -> None:
    out = empty_stack.flask(
        "bootstrap", "--unit", "新安县人民政府", "--admin", "sysadmin", "--password", "Admin-pass-1"
    )
    assert "已创建顶层单位" in out

    admin = _page(browser, empty_stack)
    login(admin, "sysadmin", "Admin-pass-1")
    assert admin.url.endswith("/admin/")
    shot(admin, "first-run-01-admin-console")

    admin.get_by_role("link", name="单位", exact=True).first.click()
    admin.get_by_label("单位名称").fill("新安县城关镇人民政府")
    admin.get_by_label("上级单位").select_option(label="新安县人民政府")
    admin.get_by_label("单位类型").select_option(label="乡镇（街道）")
    shot(admin, "first-run-02-new-unit")
    admin.get_by_role("button", name="建立单位").click()
    admin.wait_for_load_state()
    assert "已建立单位“新安县城关镇人民政府”" in admin.locator(".flash").inner_text()
    shot(admin, "first-run-03-unit-tree")

    admin.goto("/users")  # the short address leads to the user administration
    admin.get_by_label("登录名", exact=False).first.fill("zhang")
    admin.locator("#f-display").fill("张小明")
    admin.get_by_label("所属单位").select_option(label="新安县城关镇人民政府")
    admin.get_by_label("运营人员").check()
    admin.get_by_label("初始密码").fill("Operator-pass-1")
    shot(admin, "first-run-04-new-user")
    admin.get_by_role("button", name="建立用户").click()
    admin.wait_for_load_state()
    assert "已建立用户“张小明”" in admin.locator(".flash").inner_text()
    shot(admin, "first-run-05-user-list")

    operator = _page(browser, empty_stack)
    login(operator, "zhang", "Operator-pass-1")
    assert operator.url.endswith("/contents")
    assert "张小明（新安县城关镇人民政府）" in operator.locator(".who").inner_text()
    shot(operator, "first-run-06-operator-lands-on-contents")
    assert operator.goto("/admin/").status == 403
    shot(operator, "first-run-07-operator-refused-admin")
    admin.context.close()
    operator.context.close()
