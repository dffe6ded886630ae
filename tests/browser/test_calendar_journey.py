"""发布日历 journey: an operator drags a scheduled post to another day on the month grid, sees it
on that day with the same time, the approvals standing (same version) and the 改期 in the
record; a past day is refused with a Chinese message; the keyboard 改期 form does the same.
Screenshots of each step: test-output/screenshots/calendar-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from auth.models import User
from common.timefmt import CN_TZ, bj, today_cn
from moderation import review, service
from moderation.models import Content
from registry.models import Account
from tests.browser.conftest import LiveStack, js_errors, login, shot

pytestmark = pytest.mark.browser


def _scheduled(stack: LiveStack, title: str, day: Any) -> tuple[int, int]:
    """A post through all three reviews, due at 10:00 Beijing on ``day``: (id, version)."""

    when = datetime.combine(day, time(10, 0), tzinfo=CN_TZ)
    with stack.db() as session:
        users = {u.username: u for u in session.scalars(sa.select(User))}
        operator = users["operator"]
        weibo = session.scalar(
            sa.select(Account).where(Account.unit_id == operator.unit_id, Account.platform == "weibo")
        )
        content = service.create_content(
            {
                "title": title,
                "body": "<p>本县冬季供暖工作安排已经部署完毕。</p>",
                "target_ids": [weibo.id],
                "publish_at": when,
            },
            operator,
        )
        review.submit(content, operator)
        for stage in (1, 2, 3):
            review.advance(content, f"approve_{stage}", users[f"reviewer{stage}"], acknowledge_warnings=True)
        assert content.status.value == "scheduled", content.status
        return content.id, content.version


def _stored(stack: LiveStack, content_id: int) -> tuple[datetime, int, str]:

    with stack.db() as session:
        content = session.get(Content, content_id)
        return bj(content.publish_at), content.version, content.status.value


def test_drag_a_post_to_another_day_on_the_month_grid(page: Any, live_stack: LiveStack) -> None:
    day = today_cn() + timedelta(days=5)
    content_id, version = _scheduled(live_stack, "日历拖动测试：冬季供暖安排", day)
    page.set_viewport_size({"width": 1280, "height": 2400})  # the whole month in view: no scrolling mid-drag
    login(page, "operator")
    page.goto(f"/publishing/calendar?view=month&date={day.isoformat()}")
    item = page.locator(f'.cal-item[data-content-id="{content_id}"]')
    source = page.locator(f'section.cal-day[data-date="{day.isoformat()}"]')
    assert source.locator(f'[data-content-id="{content_id}"]').count() == 1
    assert "10:00" in item.inner_text()
    shot(page, "calendar-1-month-grid")

    target_day = day + timedelta(days=1)
    if page.locator(f'section.cal-day[data-date="{target_day.isoformat()}"]').count() == 0:
        target_day = day - timedelta(days=1)  # the grid's last day: move it back a day instead
    target = page.locator(f'section.cal-day[data-date="{target_day.isoformat()}"]')
    item.drag_to(target)
    page.wait_for_selector(f'section.cal-day[data-date="{target_day.isoformat()}"] [data-content-id="{content_id}"]')
    moved = page.locator(f'section.cal-day[data-date="{target_day.isoformat()}"] [data-content-id="{content_id}"]')
    assert "10:00" in moved.inner_text()  # the time of day is kept
    assert source.locator(f'[data-content-id="{content_id}"]').count() == 0
    status = page.locator("#cal-status")
    assert "已记录改期，未生成新版本" in status.inner_text()
    history = page.locator("#history-title + ul").inner_text()
    assert "日历拖动测试：冬季供暖安排" in history and f"{target_day.isoformat()} 10:00" in history
    assert "运营-王敏" in history
    shot(page, "calendar-2-dragged")
    assert _stored(live_stack, content_id) == (f"{target_day.isoformat()} 10:00", version, "scheduled")

    # a day in the past is refused, in Chinese, and nothing moves
    past = today_cn() - timedelta(days=1)
    page.goto(f"/publishing/calendar?view=month&date={target_day.isoformat()}")
    past_cell = page.locator(f'section.cal-day[data-date="{past.isoformat()}"]')
    if past_cell.count():
        page.locator(f'.cal-item[data-content-id="{content_id}"]').drag_to(past_cell)
        page.wait_for_function("() => document.getElementById('cal-status').textContent.includes('未改期')")
        assert "已经过去" in page.locator("#cal-status").inner_text()
        shot(page, "calendar-3-past-refused")
        assert _stored(live_stack, content_id)[0] == f"{target_day.isoformat()} 10:00"

    # the keyboard alternative: 改期 → a time field → 确定改期
    page.goto(f"/publishing/calendar?view=month&date={target_day.isoformat()}")
    entry = page.locator(f'.cal-item[data-content-id="{content_id}"]')
    entry.locator("summary").focus()
    page.keyboard.press("Enter")
    later = target_day + timedelta(days=1)
    entry.get_by_label("新发布时间").fill(f"{later.isoformat()}T15:30")
    shot(page, "calendar-4-keyboard-form")
    entry.get_by_role("button", name="确定改期").press("Enter")
    page.wait_for_load_state()
    assert "已记录改期，未生成新版本" in page.locator(".flash-success").inner_text()
    shot(page, "calendar-5-keyboard-moved")
    assert _stored(live_stack, content_id) == (f"{later.isoformat()} 15:30", version, "scheduled")
    assert not js_errors(page), js_errors(page)


def test_new_post_from_an_empty_slot(page: Any, live_stack: LiveStack) -> None:
    day = today_cn() + timedelta(days=9)
    login(page, "operator")
    page.goto(f"/publishing/calendar?view=day&date={day.isoformat()}")
    shot(page, "calendar-6-day-slots")
    page.locator('.cal-slot[data-hour="14"] .cal-new').click()
    page.wait_for_load_state()
    assert "/contents/new" in page.url
    assert page.locator('input[name="publish_at"]').input_value() == f"{day.isoformat()}T14:00"
    shot(page, "calendar-7-editor-prefilled")


def _other_day_same_week(day: Any) -> Any:
    return day + timedelta(days=1) if day.weekday() < 6 else day - timedelta(days=1)


def test_drag_a_post_to_another_hour_in_the_week_grid(page: Any, live_stack: LiveStack) -> None:
    """The week is a time grid (days across, hours down, the rows lined up); dropping a post on
    an hour of another day moves it to that day and hour."""
    day = today_cn() + timedelta(days=8)
    content_id, version = _scheduled(live_stack, "周视图拖动测试：按小时改期", day)
    page.set_viewport_size({"width": 1280, "height": 1600})
    login(page, "operator")
    page.goto(f"/publishing/calendar?view=week&date={day.isoformat()}")
    start = page.locator(f'.cal-wslot[data-date="{day.isoformat()}"][data-hour="10"]')
    assert start.locator(f'[data-content-id="{content_id}"]').count() == 1
    target_day = _other_day_same_week(day)
    target = page.locator(f'.cal-wslot[data-date="{target_day.isoformat()}"][data-hour="15"]')
    # the hour rows line up across the days, below a column of hours
    assert (
        abs(
            target.bounding_box()["y"]
            - page.locator(f'.cal-wslot[data-date="{day.isoformat()}"][data-hour="15"]').bounding_box()["y"]
        )
        < 1
    )
    assert "15:00" in page.locator(".cal-whours").inner_text()
    shot(page, "calendar-8-week-grid")

    page.locator(f'.cal-item[data-content-id="{content_id}"]').drag_to(target)
    moved = f'.cal-wslot[data-date="{target_day.isoformat()}"][data-hour="15"] [data-content-id="{content_id}"]'
    page.wait_for_selector(moved)
    assert "15:00" in page.locator(moved).inner_text()
    assert "已记录改期，未生成新版本" in page.locator("#cal-status").inner_text()
    shot(page, "calendar-9-week-moved-hour")
    assert _stored(live_stack, content_id) == (f"{target_day.isoformat()} 15:00", version, "scheduled")
    assert not js_errors(page), js_errors(page)


def _touch_drag(phone: Any, source: Any, target: Any, steps: int = 8) -> None:
    """A finger on ``source`` moving to ``target`` and lifted (CDP touch events → pointer events)."""
    cdp = phone.context.new_cdp_session(phone)
    a, b = source.bounding_box(), target.bounding_box()
    x0, y0 = a["x"] + a["width"] / 2, a["y"] + a["height"] / 2
    x1, y1 = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for i in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


@contextmanager
def _phone(browser: Any, live_stack: LiveStack, *, large_font: bool = False) -> Iterator[tuple[Any, list[str]]]:
    """A 390 px touch-screen phone signed in as the operator (optionally in 大字模式): (page, its
    script errors)."""
    context = browser.new_context(
        base_url=live_stack.url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        timezone_id=CN_TZ.key,
        has_touch=True,
        is_mobile=True,
    )
    context.set_default_timeout(15_000)
    if large_font:
        context.add_init_script("window.localStorage.setItem('gm-large-font', '1')")
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(phone, "operator")
        yield phone, errors
    finally:
        context.close()


def test_touch_drag_on_a_phone(browser: Any, live_stack: LiveStack) -> None:
    """At 390 px with a touch screen: the week stacks day after day with its hours; the post is
    dragged by its handle “⠿” with a finger to another hour; the page does not scroll sideways."""
    day = today_cn() + timedelta(days=10)
    content_id, version = _scheduled(live_stack, "手机拖动测试：按小时改期", day)
    with _phone(browser, live_stack) as (phone, errors):
        phone.goto(f"/publishing/calendar?view=week&date={day.isoformat()}")
        item = phone.locator(f'.cal-item[data-content-id="{content_id}"]')
        grip = item.locator(".cal-grip")
        item.scroll_into_view_if_needed()
        phone.evaluate("() => window.scrollBy(0, 200)")  # the post in the upper part of the screen
        assert grip.is_visible()
        box = grip.bounding_box()
        assert box["width"] >= 20 and box["height"] >= 20  # big enough for a finger
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(phone, "calendar-10-phone-week", full_page=False)
        target = phone.locator(f'.cal-wslot[data-date="{day.isoformat()}"][data-hour="13"]')
        assert target.bounding_box()["y"] + 20 < 844
        _touch_drag(phone, grip, target)
        moved = f'.cal-wslot[data-date="{day.isoformat()}"][data-hour="13"] [data-content-id="{content_id}"]'
        phone.wait_for_selector(moved)
        assert "13:00" in phone.locator(moved).inner_text()
        assert "已记录改期，未生成新版本" in phone.locator("#cal-status").inner_text()
        shot(phone, "calendar-11-phone-moved", full_page=False)
        assert _stored(live_stack, content_id) == (f"{day.isoformat()} 13:00", version, "scheduled")
        assert not errors, errors


def _hold_at_edge(phone: Any, grip: Any, y: float, scrolled: str) -> dict[str, str]:
    """A finger on ``grip`` moved to height ``y`` and held there until ``scrolled`` (a JS
    condition on the page) holds; then, as a person does once the page has come far enough, moved
    back to the middle of the screen (the page stops scrolling), onto the hour slot there, and lifted.
    Returns that hour slot (date and hour)."""
    cdp = phone.context.new_cdp_session(phone)
    a = grip.bounding_box()
    x0, y0 = a["x"] + a["width"] / 2, a["y"] + a["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for i in range(1, 7):
        point = {"x": x0, "y": y0 + (y - y0) * i / 6}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    phone.wait_for_function(scrolled)  # the finger stays still; the page scrolls on its own
    middle = phone.evaluate("() => window.innerHeight / 2")
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0, "y": middle}]})
    # away from the edges the page stands still: two quiet frames, then the hour slot nearest the middle
    phone.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    still = phone.evaluate("() => window.scrollY")
    phone.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert phone.evaluate("() => window.scrollY") == still, "the page kept scrolling with the finger mid-screen"
    slot = phone.evaluate(
        """([x, y]) => {
             for (let d = 0; d < 200; d += 4) {
               for (const at of [y + d, y - d]) {
                 const el = document.elementFromPoint(x, at);
                 const s = el && el.closest(".cal-wslot");
                 if (s) {
                   const r = s.getBoundingClientRect();
                   return {date: s.dataset.date, hour: s.dataset.hour, y: (r.top + r.bottom) / 2};
                 }
               }
             }
             return null;
           }""",
        [x0, middle],
    )
    assert slot, "no hour slot near the middle of the screen"
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0, "y": slot["y"]}]})
    outlined = f'.cal-wslot.drop-over[data-date="{slot["date"]}"][data-hour="{slot["hour"]}"]'
    phone.wait_for_selector(outlined)  # the hour under the finger is outlined before it lifts
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    return {"date": slot["date"], "hour": slot["hour"]}


def test_touch_drag_scrolls_the_page_near_the_screen_edges(browser: Any, live_stack: LiveStack) -> None:
    """At 390 px the week is longer than the screen: a post held by its handle near the bottom
    edge scrolls the page down by itself, and near the top edge up, so it can be dropped on an
    hour that was off screen when the drag began; it lands on the hour under the finger as it lifts."""
    day = today_cn() + timedelta(days=12)
    content_id, version = _scheduled(live_stack, "手机拖动测试：拖到屏幕边缘自动滚动", day)
    with _phone(browser, live_stack) as (phone, errors):
        phone.goto(f"/publishing/calendar?view=week&date={day.isoformat()}")
        item = phone.locator(f'.cal-item[data-content-id="{content_id}"]')
        item.scroll_into_view_if_needed()
        phone.evaluate("(el) => window.scrollBy(0, el.getBoundingClientRect().top - 120)", item.element_handle())
        start = phone.evaluate("() => window.scrollY")
        # down: the finger 20 px above the bottom edge, held until the page has scrolled 400 px
        over = _hold_at_edge(phone, item.locator(".cal-grip"), 824, f"() => window.scrollY > {start + 400}")
        assert (over["date"], int(over["hour"])) > (day.isoformat(), 10)  # an hour further down the week
        moved = f'.cal-wslot[data-date="{over["date"]}"][data-hour="{over["hour"]}"] [data-content-id="{content_id}"]'
        phone.wait_for_selector(moved)
        assert "已记录改期，未生成新版本" in phone.locator("#cal-status").inner_text()
        stored = f"{over['date']} {int(over['hour']):02d}:00"
        assert _stored(live_stack, content_id) == (stored, version, "scheduled")
        shot(phone, "calendar-12-phone-edge-scrolled-down", full_page=False)

        # up: from the top of the screen's lower half to 20 px below the top edge
        item = phone.locator(moved.rsplit(" ", 1)[1])
        item.scroll_into_view_if_needed()
        phone.evaluate("(el) => window.scrollBy(0, el.getBoundingClientRect().top - 500)", item.element_handle())
        start = phone.evaluate("() => window.scrollY")
        back = _hold_at_edge(phone, item.locator(".cal-grip"), 20, f"() => window.scrollY < {start - 300}")
        assert (back["date"], int(back["hour"])) < (over["date"], int(over["hour"]))  # further up
        phone.wait_for_selector(
            f'.cal-wslot[data-date="{back["date"]}"][data-hour="{back["hour"]}"] [data-content-id="{content_id}"]'
        )
        assert _stored(live_stack, content_id)[0] == f"{back['date']} {int(back['hour']):02d}:00"
        assert not errors, errors


def test_new_post_from_an_hour_of_the_week_grid(page: Any, live_stack: LiveStack) -> None:
    """Each hour still ahead in the week grid has its 新建 (by keyboard too): the editor opens with
    that day and hour, Beijing time, as the publishing time; hours already past have none."""
    day = today_cn() + timedelta(days=9)
    page.set_viewport_size({"width": 1280, "height": 1600})
    login(page, "operator")
    page.goto(f"/publishing/calendar?view=week&date={day.isoformat()}")
    new = page.locator(f'.cal-wslot[data-date="{day.isoformat()}"][data-hour="16"] .cal-new')
    assert new.is_visible()
    # one 新建 per hour and none in the day's heading (it duplicated the 09:00 hour's)
    heading = page.locator(f'.cal-wday[data-date="{day.isoformat()}"] h2')
    assert heading.is_visible() and heading.locator(".cal-new").count() == 0
    assert page.locator(f'.cal-wday[data-date="{day.isoformat()}"] .cal-new').count() == 16
    assert "16:00" in new.text_content()  # its accessible name says which day and hour
    shot(page, "calendar-13-week-hour-new")
    new.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/contents/new**")
    assert page.locator('input[name="publish_at"]').input_value() == f"{day.isoformat()}T16:00"
    shot(page, "calendar-14-week-hour-editor")

    # this week: today's hours up to the present one are past and have no 新建
    hour_now = datetime.now(CN_TZ).hour
    page.goto("/publishing/calendar?view=week")
    today = today_cn().isoformat()
    for hour in range(7, min(hour_now, 22) + 1):
        assert page.locator(f'.cal-wslot[data-date="{today}"][data-hour="{hour}"] .cal-new').count() == 0
    assert not js_errors(page), js_errors(page)


def test_new_post_from_an_hour_at_390px_in_large_font(browser: Any, live_stack: LiveStack) -> None:
    """At 390 px in 大字模式 each hour's 新建 sits beside its hour, big enough for a finger, nothing
    wider than the screen; a tap opens the editor with that day and hour."""
    day = today_cn() + timedelta(days=9)
    with _phone(browser, live_stack, large_font=True) as (phone, errors):
        phone.goto(f"/publishing/calendar?view=week&date={day.isoformat()}")
        assert phone.evaluate("() => document.documentElement.classList.contains('gm-large-font')")
        slot = phone.locator(f'.cal-wslot[data-date="{day.isoformat()}"][data-hour="20"]')
        new = slot.locator(".cal-new")
        new.scroll_into_view_if_needed()
        assert new.is_visible()
        box, hour = new.bounding_box(), slot.locator(".cal-hour").bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24  # a finger's target (WCAG 2.5.8)
        assert box["x"] + box["width"] <= 390 and abs(box["y"] - hour["y"]) < box["height"]  # same row
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(phone, "calendar-15-phone-large-font-new", full_page=False)
        new.tap()
        phone.wait_for_url("**/contents/new**")
        assert phone.locator('input[name="publish_at"]').input_value() == f"{day.isoformat()}T20:00"
        assert not errors, errors
