"""Phone width (390 and 360 px) and 大字模式: every main page of each role — its landing page, every link
of its menu and the pages behind them (editor, delivery status, account, admin console…) —
fits the screen: ``document.documentElement.scrollWidth`` ≤ the viewport width (wide tables
scroll inside their own box, bare tables become cards) and no table cell is squeezed to a
character per line, in the normal and the 大字模式 display.
The same at 360 px in 大字模式 (the narrowest common phone with the largest text). A screenshot
of each page goes to test-output/screenshots/phone-WIDTH-ROLE-MODE-PAGE.png. Also the
collapsing menu (菜单, aria-expanded) and the switches' visible state (aria-pressed).

`make test` sweeps every page of each role in one display (IN_CI); all twelve role × display
sweeps run in `make test-nightly` (the others are marked ``nightly``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from auth.models import User
from moderation import review, service
from registry.models import Account
from tests.browser.conftest import LiveStack, js_errors, login, safe_name, shot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ROLES = ("admin", "auditor", "operator", "reviewer1")  # 管理员, 网信办, 运营, 初审

#: pages reached from a menu page rather than the menu itself, per role: (endpoint, ids from a11y_world)
EXTRA: dict[str, list[tuple[str, dict[str, str]]]] = {
    "operator": [
        ("moderation.new_content", {}),
        ("moderation.content_detail", {"content_id": "waiting"}),
        ("publishers.deliveries_page", {"content_id": "published"}),
        ("registry.account_page", {"account_id": "account"}),
        ("dashboard.index", {}),
    ],
    "auditor": [
        ("registry.account_page", {"account_id": "account"}),
        ("findings.detail", {"finding_id": "finding"}),
        ("publishers.deliveries_page", {"content_id": "published"}),
        ("jobs.detail", {"job_id": "job_failed"}),
        ("dashboard.index", {}),
    ],
    "admin": [
        ("admin.units", {}),
        ("admin.users", {}),
        ("admin.dictionary_list", {}),
        ("publishers.deliveries_page", {"content_id": "published"}),
        ("registry.account_page", {"account_id": "account"}),
        ("dashboard.index", {}),
    ],
    "reviewer1": [
        ("moderation.review_page", {"content_id": "waiting"}),
        ("dashboard.index", {}),
    ],
}
MONTH = "?view=month"


def page_list(page: Any, stack: LiveStack, world: dict[str, int], role: str) -> list[str]:
    """The landing page, every menu link (the calendar also as its month grid) and the extras."""
    paths = [urlsplit(page.url).path]
    links = page.locator('nav[aria-label="主导航"] a').evaluate_all("(as) => as.map((a) => a.getAttribute('href'))")
    paths.extend(links)
    calendar = stack.url_for("publishers.calendar")
    if calendar in links:
        paths.append(calendar + MONTH)
    for endpoint, ids in EXTRA[role]:
        path = stack.url_for(endpoint, **{arg: world[key] for arg, key in ids.items()})
        assert path is not None, f"no page {endpoint!r}: the list names a page that does not exist"
        paths.append(path)
    return list(dict.fromkeys(paths))


def overflow(page: Any) -> tuple[int, int, list[str], list[str]]:
    """(page width, viewport width, the widest elements sticking out — for a useful message —,
    table cells squeezed to a character or two per line)."""
    return page.evaluate(
        """() => {
          const vw = document.documentElement.clientWidth;
          const out = [];
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > vw + 1 && !el.closest('.table-scroll')) {
              out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                ' → ' + Math.round(r.right));
            }
          }
          // "one character per line": a table cell with some text squeezed below ~2.5 characters
          const squeezed = [];
          for (const cell of document.querySelectorAll('td, th')) {
            const head = cell.closest('thead');
            if (head && head.getBoundingClientRect().width <= 1) continue; // card headers: screen readers only
            const text = cell.textContent.trim();
            const em = parseFloat(getComputedStyle(cell).fontSize);
            if (text.length >= 4 && cell.getBoundingClientRect().width > 0 && cell.clientWidth < 2.5 * em) {
              squeezed.push(text.slice(0, 12) + ' (' + cell.clientWidth + ' px)');
            }
          }
          return [document.documentElement.scrollWidth, vw, out.slice(0, 8), squeezed.slice(0, 5)];
        }"""
    )


def touching_buttons(page: Any) -> list[str]:
    """Buttons stacked without a gap (side by side on a wide screen, wrapped on a phone): the pairs,
    one above the other in the same box, with less than 3 px between them — a finger hits both."""
    return page.evaluate(
        """() => {
          const shown = [...document.querySelectorAll('main .btn, main button')].filter((b) => {
            const r = b.getBoundingClientRect(); return r.width > 0 && r.height > 0 && !b.closest('.sr-only');
          });
          const out = [];
          for (const a of shown) for (const b of shown) {
            if (a === b || a.parentElement !== b.parentElement) continue;
            const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
            const across = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
            const gap = rb.top - ra.bottom;
            if (across > 0 && gap > -1 && gap < 3) out.push(`${a.textContent.trim()} / ${b.textContent.trim()}`);
          }
          return out.slice(0, 5);
        }"""
    )


DISPLAYS = (("normal", 390), ("large-font", 390), ("large-font", 360))
#: what `make test` runs: each role's every page in one display, each display for at least one role
#: (the operator's editor and calendar and the office's tables in the narrowest and largest text);
#: the other eight role × display sweeps are marked ``nightly`` (`make test-nightly`)
IN_CI = {
    ("operator", "large-font", 360),
    ("reviewer1", "large-font", 360),
    ("auditor", "large-font", 390),
    ("admin", "normal", 390),
}
SWEEPS = [
    pytest.param(role, mode, width, marks=() if (role, mode, width) in IN_CI else pytest.mark.nightly)
    for role in ROLES
    for mode, width in DISPLAYS
]


@pytest.mark.parametrize(("role", "mode", "width"), SWEEPS)
def test_main_pages_fit_a_phone(
    page: Any, live_stack: LiveStack, a11y_world: dict[str, int], role: str, mode: str, width: int
) -> None:
    page.set_viewport_size({**PHONE, "width": width})
    login(page, role)
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
        assert page.get_by_role("button", name="大字模式").get_attribute("aria-pressed") == "true"
    failures = []
    paths = page_list(page, live_stack, a11y_world, role)
    assert len(paths) >= 4, paths
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, (
            f"{role}: {path} answered {response and response.status}"
        )
        page.wait_for_load_state("load")
        if mode == "large-font":
            assert page.evaluate("() => document.documentElement.classList.contains('gm-large-font')")
        page_width, viewport, culprits, squeezed = overflow(page)
        shot(page, f"phone-{width}-{role}-{mode}-{safe_name(path.strip('/') or 'home')}")
        if page_width > viewport:
            failures.append(f"{path}: {page_width} px wide at {viewport} px; sticking out: {culprits}")
        if squeezed:
            failures.append(f"{path}: table cells squeezed to one character per line: {squeezed}")
        if touching := touching_buttons(page):
            failures.append(f"{path}: buttons one above the other without a gap: {touching}")
    assert not failures, f"{role} ({mode}) pages scroll sideways at {width} px:\n" + "\n".join(failures)
    assert not js_errors(page), js_errors(page)


def test_menu_collapses_and_switches_show_their_state(page: Any, live_stack: LiveStack) -> None:
    page.set_viewport_size(PHONE)
    login(page, "operator")
    menu = page.get_by_role("button", name="菜单")
    nav = page.locator("#site-nav")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    shot(page, "phone-menu-closed")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true" and nav.is_visible()
    assert nav.get_by_role("link", name="发布日历").is_visible()
    shot(page, "phone-menu-open")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "false" and not nav.is_visible()

    large = page.get_by_role("button", name="大字模式")
    assert large.get_attribute("aria-pressed") == "false"
    before = large.evaluate("(b) => getComputedStyle(b).backgroundColor")
    large.click()
    assert large.get_attribute("aria-pressed") == "true"
    assert large.evaluate("(b) => getComputedStyle(b).backgroundColor") != before  # visibly on
    assert "✓" in large.evaluate("(b) => getComputedStyle(b, '::before').content")
    shot(page, "phone-large-font-on")
    page.reload()
    assert page.get_by_role("button", name="大字模式").get_attribute("aria-pressed") == "true"  # remembered

    page.set_viewport_size({"width": 1280, "height": 900})
    assert not page.get_by_role("button", name="菜单").is_visible()  # wide screens: the menu is always shown
    assert page.locator("#site-nav").is_visible()


def test_review_history_reads_on_a_phone(page: Any, live_stack: LiveStack) -> None:
    """我审核过的 at 390 px, normal and 大字模式: reached from the menu, each decision a card with
    the stage, 通过/退回, the comment, the time and the content's state; nothing wider than the screen."""
    with live_stack.db() as session:
        operator = session.scalar(sa.select(User).where(User.username == "operator"))
        reviewer = session.scalar(sa.select(User).where(User.username == "reviewer1"))
        weibo = session.scalar(
            sa.select(Account).where(Account.unit_id == operator.unit_id, Account.platform == "weibo").limit(1)
        )
        content = service.create_content(
            {"title": "手机测试：退回的稿件", "body": "<p>本县开展冬季消防安全检查。</p>", "target_ids": [weibo.id]},
            operator,
        )
        review.submit(content, operator)
        review.review(content, reviewer, "reject", comment="请补充检查覆盖的乡镇名单和时间安排")
    page.set_viewport_size(PHONE)
    login(page, "reviewer1")
    page.get_by_role("button", name="菜单").click()
    page.locator("#site-nav").get_by_role("link", name="我审核过的").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="我审核过的").is_visible()
    for mode in ("normal", "large-font"):
        if mode == "large-font":
            page.get_by_role("button", name="大字模式").click()
            page.reload()
            assert page.evaluate("() => document.documentElement.classList.contains('gm-large-font')")
        card = page.locator("#review-history tbody tr", has_text="手机测试：退回的稿件").first
        assert card.is_visible()
        text = card.inner_text()
        for seen in ("初审", "退回", "请补充检查覆盖的乡镇名单和时间安排", "已退回"):
            assert seen in text, (seen, text)
        label = card.locator('td[data-label="审核时间"]').evaluate("(td) => getComputedStyle(td, '::before').content")
        assert "审核时间" in label  # a card: each value under its name
        page_width, viewport, culprits, squeezed = overflow(page)
        shot(page, f"phone-390-reviewer1-{mode}-review-history")
        assert page_width <= viewport, culprits
        assert not squeezed, squeezed
    assert not js_errors(page), js_errors(page)
