"""Phone width (390 and 360 px) and 大字模式: every main page of each role — its landing page, every link
of its menu and the pages behind them (editor, delivery status, account, admin console, an
account's 考评 score card — a11y_world computes this quarter's scores…) —
fits the screen: ``document.documentElement.scrollWidth`` ≤ the viewport width (wide tables
scroll inside their own box, bare tables become cards) and no table cell is squeezed to a
character per line, in the normal and the 大字模式 display; a wide table's caption stays on the
screen while its table scrolls (CAPTIONS). Inside a wide table's own box
(.table-scroll) everything stays reachable by scrolling the box, nothing is cut off by an
ancestor hiding its overflow and no cell is narrower than two characters (BOXED).
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
        ("inspection.post_page", {"post_id": "live_post"}),
        ("scoring.card", {"score_id": "score"}),
        ("dashboard.index", {}),
    ],
    "auditor": [
        ("registry.account_page", {"account_id": "account"}),
        ("findings.detail", {"finding_id": "finding"}),
        ("inspection.post_page", {"post_id": "live_post"}),
        ("publishers.deliveries_page", {"content_id": "published"}),
        ("jobs.detail", {"job_id": "job_failed"}),
        ("scoring.card", {"score_id": "score"}),
        ("dashboard.index", {}),
    ],
    "admin": [
        ("admin.units", {}),
        ("admin.users", {}),
        ("admin.dictionary_list", {}),
        ("publishers.deliveries_page", {"content_id": "published"}),
        ("registry.account_page", {"account_id": "account"}),
        ("scoring.card", {"score_id": "score"}),
        ("dashboard.index", {}),
    ],
    "reviewer1": [
        ("moderation.review_page", {"content_id": "waiting"}),
        ("dashboard.index", {}),
    ],
}
#: pages with a wide table in its own box (.table-scroll) that only a list leads to: (role, the
#: list's endpoint, the link to follow — its first) and further menu-less pages without ids
FOLLOW: dict[str, list[tuple[str, str]]] = {
    "admin": [
        ("admin.users", "main table a[href*='/admin/users/']"),
        ("admin.units", "main a[href*='/admin/units/']"),
        ("admin.dictionary_list", "main table a"),
        ("intake.feeds_page", "main table th a"),
        ("reposts.index", "#repost-tasks tbody a"),
    ],
    "auditor": [("reposts.index", "#repost-tasks tbody a")],
    "operator": [],
    "reviewer1": [],
}
WIDE_TABLES: dict[str, list[str]] = {
    "admin": ["reposts.settings_page", "scoring.rules_page", "scoring.scores_page", "scoring.spot_page"],
    "auditor": ["reposts.settings_page", "scoring.scores_page", "scoring.spot_page"],
    "operator": ["scoring.scores_page"],
    "reviewer1": [],
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
    for endpoint in WIDE_TABLES[role]:
        path = stack.url_for(endpoint)
        assert path is not None, f"no page {endpoint!r}: the list names a page that does not exist"
        paths.append(path)
    for endpoint, link in FOLLOW[role]:
        page.goto(stack.url_for(endpoint))
        first = page.locator(link).first
        assert first.count(), f"{endpoint}: no link {link!r} to follow"
        paths.append(urlsplit(first.get_attribute("href")).path)
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


#: inside a wide table's own box (.table-scroll) the page check above looks away: the table may be
#: wider than the screen there. What it must not do is lose things: every element and every run of
#: text in the box lies within the box's scroll area (reachable by scrolling it), is not cut off by
#: an ancestor that hides its overflow (a cell, a wrapper, the box), no cell is squeezed below
#: two characters a line and no text (a button's label, a name) breaks to a character a line.
BOXED = """(root) => {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const px = (v) => parseFloat(v) || 0;
  const quote = (text) => '"' + text.trim().slice(0, 12) + '"';
  const lineCount = (rects) => new Set(rects.filter((q) => q.width > 0).map((q) => Math.round(q.top))).size;
  const out = [], squeezed = [];
  // the parts to check: each element and each line of text, as [element, rect, what]
  const parts = (box) => {
    const found = [];
    for (const el of box.querySelectorAll('*')) found.push([el, el.getBoundingClientRect(), name(el)]);
    const walk = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const text = walk.currentNode;
      if (!text.data.trim() || text.parentElement.closest('.sr-only')) continue;
      const range = document.createRange();
      range.selectNodeContents(text);
      const rects = [...range.getClientRects()].filter((q) => q.width > 0);
      for (const r of rects) found.push([text.parentElement, r, quote(text.data)]);
      // a label, a button's text, a name broken to a character a line (审/核)
      const chars = text.data.replace(/\\s+/g, '').length, lines = lineCount(rects);
      if (lines > 1 && chars < 2 * lines) {
        squeezed.push(`${quote(text.data)} in ${name(text.parentElement)}: ${lines} lines for ${chars} characters`);
      }
    }
    return found;
  };
  // where an ancestor lets its content be seen: its padding box (overflow hidden/clip) or its
  // scroll area (auto/scroll); per axis, null where it lets the content out (visible)
  const window_of = (a) => {
    const s = getComputedStyle(a), r = a.getBoundingClientRect();
    const left = r.left + a.clientLeft, top = r.top + a.clientTop;
    const axis = (o, start, size, scroll, whole) => o === 'visible' ? null
      : (o === 'hidden' || o === 'clip') ? [start, start + size] : [start - scroll, start - scroll + whole];
    return [axis(s.overflowX, left, a.clientWidth, a.scrollLeft, a.scrollWidth),
            axis(s.overflowY, top, a.clientHeight, a.scrollTop, a.scrollHeight),
            s.overflowX + '/' + s.overflowY];
  };
  const beyond = (r, x, y) => (x && (r.left < x[0] - 1 || r.right > x[1] + 1)) ||
    (y && (r.top < y[0] - 1 || r.bottom > y[1] + 1));
  for (const box of (root || document).querySelectorAll('.table-scroll')) {
    if (box.getBoundingClientRect().width <= 0) continue;
    for (const [el, r, what] of parts(box)) {
      if (r.width <= 0 || r.height <= 0 || el.closest('.sr-only')) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.position === 'fixed') continue;
      // up from the part's own box (a text line: its element) to the page; the part itself may
      // hide its own overflow without hiding itself
      for (let a = what.startsWith('"') ? el : el.parentElement; a && a !== document.body; a = a.parentElement) {
        const [x, y, how] = window_of(a);
        // a line-clamped block (说明: two lines, the rest in its title) hides its later lines on purpose
        if (beyond(r, x, getComputedStyle(a).webkitLineClamp === 'none' ? y : null)) {
          const seen = x ? `${Math.round(x[0])}–${Math.round(x[1])}` : 'visible';
          out.push(`${what} in ${name(box)}: ${Math.round(r.left)}–${Math.round(r.right)} px, ` +
            `out of ${name(a)} (overflow ${how}, ${seen} px)`);
          break;
        }
      }
    }
    // a cell in the box narrower than two characters whose text breaks onto more lines
    for (const cell of box.querySelectorAll('td, th')) {
      const s = getComputedStyle(cell);
      const inner = cell.clientWidth - px(s.paddingLeft) - px(s.paddingRight);
      const text = cell.textContent.replace(/\\s+/g, '');
      if (cell.getBoundingClientRect().width <= 0 || text.length < 3 || inner >= 2 * px(s.fontSize)) continue;
      const range = document.createRange();
      range.selectNodeContents(cell);
      const lines = lineCount([...range.getClientRects()]);
      if (lines > 1) out.push(`cell ${quote(text)} in ${name(box)}: ${Math.round(inner)} px a line, ${lines} lines`);
    }
  }
  return [...new Set([...out, ...squeezed])].slice(0, 8);
}"""


def boxed_overflow(page: Any) -> list[str]:
    """What is lost inside the pages' .table-scroll boxes (BOXED): parts out of reach or cut off, cells squeezed."""
    return page.evaluate(BOXED, None)


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


#: each shown caption of a table in its own box (.table-scroll): its lines of text that lie outside
#: the box or the screen, with the box scrolled to its start and to its far end (a long caption
#: used to scroll away with its wide table); and how many of those boxes are wider inside than they
#: show (so the check had something to scroll)
CAPTIONS = """() => {
  const vw = document.documentElement.clientWidth, out = [];
  let scrolling = 0;
  for (const box of document.querySelectorAll('.table-scroll')) {
    const caption = box.querySelector(':scope > table > caption:not(.sr-only)');
    if (!caption || box.getBoundingClientRect().width <= 0) continue;
    if (box.scrollWidth > box.clientWidth + 1) scrolling += 1;
    const start = box.scrollLeft;
    for (const to of [0, box.scrollWidth]) {
      box.scrollLeft = to;
      const b = box.getBoundingClientRect();
      const range = document.createRange();
      range.selectNodeContents(caption);
      for (const r of [...range.getClientRects()].filter((q) => q.width > 0)) {
        if (r.left < Math.max(b.left, 0) - 1 || r.right > Math.min(b.right, vw) + 1) {
          out.push(`"${caption.textContent.trim().slice(0, 14)}" (scrolled to ${to ? 'the end' : 'the start'}): ` +
            `${Math.round(r.left)}–${Math.round(r.right)} px, box ${Math.round(b.left)}–${Math.round(b.right)} px`);
        }
      }
    }
    box.scrollLeft = start;
  }
  return [out.slice(0, 6), scrolling];
}"""


def page_failures(page: Any, path: str) -> list[str]:
    """What does not fit on the page shown: wider than the screen, cells squeezed, parts lost in a
    wide table's box, captions off the screen, buttons stacked without a gap."""
    failures = []
    page_width, viewport, culprits, squeezed = overflow(page)
    if page_width > viewport:
        failures.append(f"{path}: {page_width} px wide at {viewport} px; sticking out: {culprits}")
    if squeezed:
        failures.append(f"{path}: table cells squeezed to one character per line: {squeezed}")
    if boxed := boxed_overflow(page):
        failures.append(f"{path}: inside a wide table's box, out of reach or squeezed: {boxed}")
    if off := page.evaluate(CAPTIONS)[0]:
        failures.append(f"{path}: a table's caption off the screen or scrolled away with its table: {off}")
    if touching := touching_buttons(page):
        failures.append(f"{path}: buttons one above the other without a gap: {touching}")
    return failures


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
        shot(page, f"phone-{width}-{role}-{mode}-{safe_name(path.strip('/') or 'home')}")
        failures += page_failures(page, path)
    assert not failures, f"{role} ({mode}) pages do not fit {width} px:\n" + "\n".join(failures)
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


#: a wide table as the pages build one (queue, 转载任务): a long title beside short columns, a
#: heading with its 北京时间 note and a button in the last column
WIDE_TABLE = """<div class="table-scroll" id="t-wide" role="region" aria-label="测试表格（可左右滚动）" tabindex="0">
<table class="data"><thead><tr><th scope="col">标题</th><th scope="col">单位</th><th scope="col">作者</th>
<th scope="col">版本</th><th scope="col">截止时间（北京时间）</th><th scope="col">单位数</th><th scope="col">已完成</th>
<th scope="col">不适用</th><th scope="col">操作</th></tr></thead>
<tbody><tr><td>国务院办公厅关于进一步做好冬季安全生产工作的通知</td><td>示范县人民政府</td><td>运营-王敏</td>
<td>第 1 版</td><td>2026-12-07 23:59</td><td>12</td><td>3</td><td>0</td>
<td><a class="btn primary" id="t-act" href="#">审核</a></td></tr></tbody></table></div>"""

#: what the sweep's BOXED looks for, each put into a wide table's box: a button pushed out of the
#: box's left edge (no scrolling reaches it), a label cut off by a wrapper hiding its overflow, and a
#: cell held to one character a line (wide enough with its padding for the old check)
LOST_IN_THE_BOX = """<div class="table-scroll" id="t-lost"><table class="data" style="table-layout:fixed;width:36rem">
<tbody><tr><td><button type="button" class="btn" style="position:relative;left:-8rem">退回修改</button></td>
<td><div style="overflow:hidden;width:3rem"><span style="white-space:nowrap">整改期限已过三天</span></div></td>
<td style="width:3em">已完成转载</td></tr></tbody></table></div>"""


@pytest.mark.parametrize(("mode", "width"), [("normal", 390), ("large-font", 360)])
def test_wide_table_keeps_its_columns_readable(page: Any, live_stack: LiveStack, mode: str, width: int) -> None:
    """A wide table in its box (WIDE_TABLE, put onto a page): no column squeezed below two
    characters (the short ones beside a long title keep three, headings keep their words whole:
    截止时间 /（北京时间）) and the last column's button reached by scrolling the box."""
    page.set_viewport_size({**PHONE, "width": width})
    login(page, "operator")
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
    page.locator("main").evaluate("(main, html) => main.insertAdjacentHTML('afterbegin', html)", WIDE_TABLE)
    assert boxed_overflow(page) == []
    lines = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#t-wide th')].map((th) => {
             const range = document.createRange(); range.selectNodeContents(th);
             return [th.textContent, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size];
           }))"""
    )
    assert all(n == 1 for text, n in lines.items() if text != "截止时间（北京时间）"), lines
    assert lines["截止时间（北京时间）"] <= 2, lines
    box = page.locator("#t-wide")
    assert box.evaluate("(b) => b.scrollWidth > b.clientWidth")  # wider than the phone: it scrolls
    box.evaluate("(b) => { b.scrollLeft = b.scrollWidth; }")
    inside = page.evaluate(
        """() => { const b = document.querySelector('#t-wide').getBoundingClientRect();
                   const a = document.querySelector('#t-act').getBoundingClientRect();
                   return a.left >= b.left && a.right <= b.right; }"""
    )
    assert inside  # the button at the far end is on screen once the box is scrolled
    shot(page, f"phone-{width}-{mode}-wide-table-scrolled", full_page=False)
    box.evaluate("(b) => { b.scrollLeft = 0; }")
    shot(page, f"phone-{width}-{mode}-wide-table", full_page=False)
    page_width, viewport, _culprits, _squeezed = overflow(page)
    assert page_width <= viewport


def test_the_sweep_finds_what_is_lost_inside_a_wide_tables_box(page: Any, live_stack: LiveStack) -> None:
    """BOXED, on LOST_IN_THE_BOX: the button out of the box's reach, the clipped label and the
    one-character cell are each reported; the page itself still fits (the old check saw nothing)."""
    page.set_viewport_size(PHONE)
    login(page, "operator")
    page.locator("main").evaluate("(main, html) => main.insertAdjacentHTML('afterbegin', html)", LOST_IN_THE_BOX)
    found = boxed_overflow(page)
    assert any(f.startswith("button.btn in div#t-lost.table-scroll") for f in found), found
    clipped = '"整改期限已过三天" in div#t-lost.table-scroll'
    assert any(f.startswith(clipped) and "overflow hidden/hidden" in f for f in found), found
    assert any(f.startswith('cell "已完成转载" in div#t-lost.table-scroll') for f in found), found
    page_width, viewport, _culprits, squeezed = overflow(page)
    assert page_width <= viewport and not squeezed  # what the sweep looked at before: all well
