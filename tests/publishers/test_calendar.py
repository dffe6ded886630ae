"""The publishing calendar (/publishing/calendar): Beijing days, a week or one day, by unit."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from auth.models import Role
from common.timefmt import CN_TZ, today_cn
from moderation.models import Content, ContentStatus
from publishers.models import Delivery, DeliveryStatus
from tests.conftest import PASSWORD


@pytest.fixture
def world(db_session, make_unit, make_user, make_account):
    county = make_unit("历县人民政府")
    other = make_unit("邻县人民政府")
    author = make_user(Role.operator, unit=county)
    users = {
        "operator": author,
        "other_operator": make_user(Role.operator, unit=other),
        "auditor": make_user(Role.auditor),
    }

    def content(title: str, unit, publish_at: datetime, status=ContentStatus.scheduled) -> Content:
        item = Content(
            unit_id=unit.id,
            author_id=author.id,
            title=title,
            body_html="<p>正文</p>",
            body_text="正文",
            status=status,
            publish_at=publish_at,
        )
        db_session.add(item)
        db_session.flush()
        return item

    # Monday 2026-12-07 00:30 Beijing is Sunday 16:30 UTC (stored naive UTC)
    early = content("周一凌晨发布", county, datetime(2026, 12, 6, 16, 30))
    late = content("周日深夜发布", county, datetime(2026, 12, 6, 15, 30))  # Sunday 23:30 Beijing
    neighbour = content("邻县周三稿件", other, datetime(2026, 12, 9, 2, 0), ContentStatus.published)
    account = make_account(county, "weibo", credentials=False)
    db_session.add(
        Delivery(
            content_id=early.id,
            version=1,
            account_id=account.id,
            idempotency_key="cal-1",
            content_hash="x" * 64,
            status=DeliveryStatus.sent,
        )
    )
    db_session.commit()
    return {"users": users, "county": county, "other": other, "early": early, "late": late, "neighbour": neighbour}


def page(client, user, **query) -> str:
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    response = client.get("/publishing/calendar", query_string=query)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def week_rows(html: str) -> dict[str, str]:
    """Day (YYYY-MM-DD) → that day cell's HTML."""
    rows = {}
    for chunk in html.split('<section class="cal-day')[1:]:
        label = chunk.split('data-date="', 1)[1].split('"', 1)[0]
        rows[label] = chunk.split("</section>", 1)[0]
    return rows


def test_week_is_counted_in_beijing_days(client, world):
    html = page(client, world["users"]["operator"], date="2026-12-08")
    assert "2026-12-07 起一周" in html
    rows = week_rows(html)
    assert "周一凌晨发布" in rows["2026-12-07"] and "00:30" in rows["2026-12-07"]
    assert "周日深夜发布" not in html  # Sunday 23:30 Beijing belongs to the week before
    assert "微博：已发布" in rows["2026-12-07"]  # each channel's state
    assert "邻县周三稿件" not in html  # another unit's content stays out of the operator's view
    before = page(client, world["users"]["operator"], week="2026-12-06")  # the older parameter
    assert "周日深夜发布" in week_rows(before)["2026-12-06"]


def test_day_view_shows_one_day(client, world):
    html = page(client, world["users"]["auditor"], view="day", date="2026-12-09")
    assert "2026-12-09（三）" in html and "邻县周三稿件" in html and "邻县人民政府" in html
    assert "周一凌晨发布" not in html
    assert "前一天" in html and "按周查看" in html


def test_unit_filter_for_those_who_see_several_units(client, world):
    html = page(client, world["users"]["auditor"], date="2026-12-08", unit_id=world["other"].id)
    assert "邻县周三稿件" in html and "周一凌晨发布" not in html
    assert 'id="unit_id"' in html
    client.post("/logout")
    assert (
        client.post(
            "/login", data={"username": world["users"]["other_operator"].username, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert client.get("/publishing/calendar", query_string={"unit_id": world["county"].id}).status_code == 404


def test_dates_at_the_ends_of_time_show_this_week(client, world):
    for odd in ("0001-01-01", "9999-12-31", "不是日期"):
        assert "起一周" in page(client, world["users"]["operator"], date=odd)
        client.post("/logout")


def test_month_grid_marks_holidays_and_adjusted_workdays(client, world):
    html = page(client, world["users"]["operator"], view="month", date="2026-10-15")
    assert "2026年10月" in html
    days = week_rows(html)
    assert "2026-09-28" in days and "2026-11-01" in days  # whole weeks, Monday to Sunday
    assert "休 国庆节" in days["2026-10-01"] and "休 国庆节" in days["2026-10-04"]
    assert "班 调休上班" in days["2026-10-10"]  # a Saturday worked for the National Day holiday
    assert "cal-mark" not in days["2026-10-13"]  # an ordinary Tuesday
    assert "上个月" in html and "date=2026-09-01" in html and "date=2026-11-01" in html


def test_month_grid_places_posts_and_offers_moves_and_new_posts(client, world):
    html = page(client, world["users"]["operator"], view="month", date="2026-12-01")
    days = week_rows(html)
    monday = days["2026-12-07"]
    assert "周一凌晨发布" in monday and 'draggable="true"' in monday and "改期" in monday
    assert "/contents/new?publish_at=2026-12-07T09:00" in monday
    assert "周日深夜发布" in days["2026-12-06"]


def test_filters_by_platform_and_status(client, world, db_session, make_account):
    world["early"].targets = [make_account(world["county"], "wechat", credentials=False)]
    db_session.commit()
    operator = world["users"]["operator"]
    html = page(client, operator, date="2026-12-08", platform="wechat")
    assert "周一凌晨发布" in html and 'value="wechat" selected' in html
    client.post("/logout")
    assert "周一凌晨发布" not in page(client, operator, date="2026-12-08", platform="weibo")
    client.post("/logout")
    assert "周一凌晨发布" not in page(client, operator, date="2026-12-08", status="published")
    client.post("/logout")
    assert "周一凌晨发布" in page(client, operator, date="2026-12-08", status="scheduled")


def test_auditors_see_posts_but_cannot_move_or_create(client, world):
    html = page(client, world["users"]["auditor"], view="month", date="2026-12-01")
    assert "周一凌晨发布" in html
    assert 'draggable="true"' not in html and "/contents/new" not in html


def test_new_from_a_slot_fills_the_editors_publish_time(client, world):
    page(client, world["users"]["operator"])
    html = client.get("/contents/new", query_string={"publish_at": "2026-12-07T09:00"}).get_data(as_text=True)
    assert 'value="2026-12-07T09:00"' in html
    odd = client.get("/contents/new", query_string={"publish_at": "不是时间"})
    assert odd.status_code == 200


def test_week_grid_offers_new_only_on_its_hours(client, world):
    """The week grid's day heading has no 新建 of its own (it opened 09:00, beside the 09:00 hour's
    own 新建, and on today even after 9 o'clock): each hour ahead is the one place to create."""
    ahead = today_cn() + timedelta(days=9)
    html = page(client, world["users"]["operator"], view="week", date=ahead.isoformat())
    cell = week_rows(html)[ahead.isoformat()]
    heading = cell.split("</h2>", 1)[0]
    assert "cal-new" not in heading and "/contents/new" not in heading
    hours = cell.count('class="cal-slot cal-wslot')
    assert hours == 16 and cell.count('class="cal-new"') == hours
    assert f"/contents/new?publish_at={ahead.isoformat()}T09:00" in cell  # once: the 09:00 hour's


def test_month_cell_new_never_opens_a_time_already_past(client, world):
    """The month cell's 新建: 09:00 of a day ahead; today, never a time already past."""
    today = today_cn()
    html = page(client, world["users"]["operator"], view="month", date=today.isoformat())
    days = week_rows(html)
    tomorrow = (today + timedelta(days=1)).isoformat()
    if tomorrow in days:
        assert f"/contents/new?publish_at={tomorrow}T09:00" in days[tomorrow]
    offered = re.findall(r"/contents/new\?publish_at=([0-9-]+T[0-9:]+)", days[today.isoformat()])
    now = datetime.now(CN_TZ).replace(tzinfo=None)
    assert all(datetime.fromisoformat(at) > now for at in offered), offered
    if now.hour < 22:
        assert len(offered) == 1  # while the day's hours last, today has its 新建
    yesterday = (today - timedelta(days=1)).isoformat()
    if yesterday in days:
        assert "/contents/new" not in days[yesterday]
