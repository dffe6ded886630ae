"""Keyboard use and the 适老化 switches: Tab through the login form and submit with Enter, the
skip link, and 大字模式 / 高对比度 (aria-pressed, the class on <html>, kept across a reload)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DEMO_PASSWORD, js_errors, login, shot

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  const el = document.activeElement;
  return el ? {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || '').trim(),
               cls: el.className, outline: getComputedStyle(el).outlineStyle} : null;
}"""


def focused(page: Any) -> dict[str, str]:
    return page.evaluate(FOCUSED)


def tab_to(page: Any, predicate: Any, limit: int = 15) -> dict[str, str]:
    """Press Tab until ``predicate(focused element)`` holds; returns that element."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        el = focused(page)
        seen.append(f"{el['tag']}#{el['id']}:{el['text'][:12]}")
        if predicate(el):
            return el
    raise AssertionError(f"not reached by Tab; focus went through {seen}")


def test_login_with_keyboard_only(page: Any) -> None:
    page.goto("/login")
    first = tab_to(page, lambda el: True, limit=1)
    assert first["text"] == "跳到主要内容", "the skip link must be the first Tab stop"
    user = tab_to(page, lambda el: el["id"] == "username")
    assert user["outline"] != "none", "the focused field needs a visible focus indicator"
    page.keyboard.type("operator")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Tab")
    button = focused(page)
    assert button["tag"] == "button" and button["text"] == "登录"
    page.keyboard.press("Shift+Tab")
    assert focused(page)["id"] == "password"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "工作台"
    shot(page, "keyboard-after-login")


def test_wrong_password_is_announced(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill("not-the-password")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    status = page.get_by_role("status")
    assert "用户名或密码错误" in status.inner_text()


@pytest.mark.parametrize("where", ["/login", "/"])
def test_skip_link_moves_focus_to_main(page: Any, where: str) -> None:
    if where != "/login":
        login(page, "operator")
    page.goto(where)
    page.keyboard.press("Tab")
    link = page.locator(".skip-link")
    assert link.evaluate("(el) => el === document.activeElement")
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "the focused skip link must be on screen"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    assert focused(page)["id"] == "main"
    # the next Tab stop is inside <main>, not back in the header
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")


@pytest.mark.parametrize(
    ("label", "key", "css_class"),
    [("大字模式", "font", "gm-large-font"), ("高对比度", "contrast", "gm-high-contrast")],
)
def test_display_switches_toggle_and_persist(page: Any, label: str, key: str, css_class: str) -> None:
    login(page, "operator")
    button = page.locator(f'[data-a11y="{key}"]')
    has_class = f"() => document.documentElement.classList.contains('{css_class}')"
    assert button.get_attribute("aria-pressed") == "false"
    assert not page.evaluate(has_class)
    font_before = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")

    button.focus()
    page.keyboard.press("Enter")  # a real <button>: Enter and Space both work
    assert button.get_attribute("aria-pressed") == "true"
    assert page.evaluate(has_class)
    if key == "font":
        assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") != font_before
    shot(page, f"switch-{key}-on")

    page.reload()
    assert page.locator(f'[data-a11y="{key}"]').get_attribute("aria-pressed") == "true"
    assert page.evaluate(has_class)
    page.goto("/login")  # other pages too (the login page has the switches as well)
    assert page.evaluate(has_class)

    page.go_back()
    button = page.get_by_role("button", name=label)
    button.focus()
    page.keyboard.press("Space")
    assert button.get_attribute("aria-pressed") == "false"
    assert not page.evaluate(has_class)
    page.reload()
    assert page.locator(f'[data-a11y="{key}"]').get_attribute("aria-pressed") == "false"
    assert not page.evaluate(has_class)
    assert not js_errors(page)


def test_dashboard_draws_charts_and_redraws_on_switch(page: Any) -> None:
    login(page, "auditor")
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() == 7
    # Chart.js has drawn into every canvas (a non-blank bitmap)
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map((c) => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; }
             return false; })"""
    )
    assert all(drawn), drawn
    assert page.locator("table caption").count() == 8
    page.get_by_role("button", name="大字模式").click()
    size = page.evaluate("() => Chart.defaults.font.size")
    assert size == 16  # 20px root × 0.8
    shot(page, "dashboard-large-font")
    assert not js_errors(page)
