"""Keyboard use and the 适老化 switches: Tab through the login form and submit with Enter, the
skip link, and 大字模式 / 高对比度 (aria-pressed, the class on <html>, kept across a reload); on
each main page, Tab alone reaches every visible control, in page order, with a visible focus."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DEMO_PASSWORD, LiveStack, js_errors, login, shot
from tests.browser.test_accessibility import PAGES, open_page

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
    # an operator lands on their own work, the contents list (issue 20: each role lands on its work)
    assert page.get_by_role("heading", level=1).inner_text() == "稿件"
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
    # following an in-page link updates the URL a moment later; wait for it rather than race it
    page.wait_for_url("**#main", timeout=5000)
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
    page.goto("/")  # the auditor lands on findings; the dashboard is one click away
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


# ----------------------------------------------------------------------------- every control by Tab

#: the main pages (names in test_accessibility.PAGES): 台账, account, editor, review, delivery
#: status, findings and the dashboards
KEYBOARD_PAGES = (
    "dashboard-auditor",
    "dashboard-operator",
    "registry",
    "account",
    "editor",
    "review-queue",
    "review-page",
    "delivery-status",
    "findings",
)

#: every visible, enabled control on the page, in DOM order, each tagged data-kbd="N"; radios
#: carry their group (Tab stops once per group, the arrow keys move inside it)
CONTROLS = """() => {
  const selector = 'a[href], area[href], button, input:not([type=hidden]), select, textarea, summary,'
    + ' [tabindex]:not([tabindex="-1"]), [contenteditable]:not([contenteditable=false])';
  const visible = (el) => el.getClientRects().length > 0
    && el.checkVisibility({checkVisibilityCSS: true, contentVisibilityAuto: true});
  const label = (el) => {
    const text = (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].innerText)
                  || el.innerText || el.value || el.name || el.id || '').trim().replace(/\\s+/g, ' ');
    return `${el.tagName.toLowerCase()}${el.type ? '[' + el.type + ']' : ''} “${text.slice(0, 40)}”`;
  };
  const controls = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.matches(':disabled') || el.closest('[inert]') || !visible(el)) continue;
    const id = String(controls.length);
    el.setAttribute('data-kbd', id);
    const form = el.form ? el.form.id || el.form.action : '';
    const group = el.type === 'radio' && el.name ? `radio:${form}:${el.name}` : null;
    controls.push({id: id, label: label(el), group: group, tabindex: el.getAttribute('tabindex')});
  }
  return controls;
}"""

#: the focused element: its data-kbd, whether its focus indicator shows, whether it is on screen
ACTIVE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
  const r = el.getBoundingClientRect();
  const onScreen = r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
  return {id: el.getAttribute('data-kbd'), visible: outline || shadow, onScreen: onScreen,
          label: `${el.tagName.toLowerCase()}#${el.id} “${(el.innerText || el.value || '').trim().slice(0, 40)}”`};
}"""


@pytest.mark.parametrize("name", KEYBOARD_PAGES)
def test_tab_reaches_every_control(page: Any, live_stack: LiveStack, a11y_world: dict[str, int], name: str) -> None:
    """From the top of the page, Tab alone visits every visible link, button and form field (a
    radio group once), in the order they are on the page, each with a visible focus indicator."""
    spec = {p.name: p for p in PAGES}[name]
    open_page(page, live_stack, a11y_world, spec)
    controls = page.evaluate(CONTROLS)
    assert controls, f"{name}: no controls found"
    by_id = {c["id"]: c for c in controls}
    removed = [c["label"] for c in controls if c["tabindex"] is not None and c["tabindex"].strip() not in ("0", "")]
    assert not removed, f"{name}: controls with a tabindex other than 0 change the Tab order: {removed}"

    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    stops: list[dict[str, Any]] = []
    for _ in range(3 * len(controls) + 20):  # a date field takes a Tab stop per part
        page.keyboard.press("Tab")
        el = page.evaluate(ACTIVE)
        if el is None:  # left the document after the last control
            break
        if stops and el["id"] is not None and el["id"] == stops[0]["id"]:
            break  # wrapped round to the first control
        stops.append(el)

    reached = {s["id"] for s in stops if s["id"] is not None}
    reached_groups = {by_id[i]["group"] for i in reached if by_id[i]["group"]}
    unreached = [c["label"] for c in controls if c["id"] not in reached and c["group"] not in reached_groups]
    order = [int(s["id"]) for s in stops if s["id"] is not None]
    trail = " → ".join(s["label"] for s in stops)
    shot(page, f"keyboard-{name}-last-stop")
    assert not unreached, f"{name}: Tab never reaches {unreached}\nTab went: {trail}"
    assert order == sorted(order), f"{name}: Tab order does not follow the page order: {trail}"
    no_ring = [s["label"] for s in stops if not s["visible"]]
    assert not no_ring, f"{name}: no visible focus indicator (outline or box-shadow) on {no_ring}"
    off_screen = [s["label"] for s in stops if not s["onScreen"]]
    assert not off_screen, f"{name}: focused but off screen: {off_screen}"
    assert not js_errors(page), f"script errors or CSP violations on {name}: {js_errors(page)}"
