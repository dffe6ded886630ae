"""发布日历 journey: an operator drags a scheduled post to another day on the month grid, sees it
on that day with the same time, the approvals standing (same version) and the 改期 in the
record; a past day is refused with a Chinese message; the keyboard 改期 form does the same.
Screenshots of each step: test-output/screenshots/calendar-*.png."""

from __future__ import annotations

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
