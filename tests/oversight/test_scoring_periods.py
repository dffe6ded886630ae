"""考评期间 on the pages: a select people read (2026年第四季度, 2026年11月), current first, while
the URL's ``period`` stays the code (2026Q4, 2026-11) as in the API; a period that is not one says
so in Chinese instead of failing."""

from __future__ import annotations

import re
from datetime import date

import pytest

from auth.models import Role
from common.errors import ApiError
from oversight.scoring import service
from tests.conftest import PASSWORD


@pytest.fixture
def late_november(monkeypatch):
    monkeypatch.setattr(service, "today_cn", lambda: date(2026, 11, 20))


def keys(group):
    return [p.key for p in group]


def test_choices_are_the_recent_quarters_and_months_current_first(late_november):
    (q_name, quarters), (m_name, months) = service.period_choices()
    assert (q_name, m_name) == ("季度", "月份")
    assert keys(quarters) == ["2026Q4", "2026Q3", "2026Q2", "2026Q1", "2025Q4", "2025Q3", "2025Q2", "2025Q1"]
    assert [p.label for p in quarters[:2]] == ["2026年第四季度", "2026年第三季度"]
    assert keys(months)[:3] == ["2026-11", "2026-10", "2026-09"] and keys(months)[-1] == "2025-12"
    assert len(months) == service.CHOICE_MONTHS and months[0].label == "2026年11月"


def test_an_older_period_in_the_url_is_kept_at_the_end_of_its_group(late_november):
    old = service.parse_period("2021Q2")
    (_, quarters), (_, months) = service.period_choices(old)
    assert keys(quarters)[-1] == "2021Q2" and "2021Q2" not in keys(months)
    (_, quarters), (_, months) = service.period_choices(service.parse_period("2026-10"))
    assert len(quarters) == service.CHOICE_QUARTERS and len(months) == service.CHOICE_MONTHS


def test_a_period_typed_with_full_width_digits_is_the_same_period(late_november):
    assert service.parse_period("２０２６Ｑ４").key == "2026Q4"
    assert service.parse_period("２０２６－０９").key == "2026-09"
    with pytest.raises(ApiError):  # other scripts' digits are not read as a year
        service.parse_period("\u0662\u0660\u0662\u0666Q4")


def login(client, make_user, db_session, role=Role.auditor):
    user = make_user(role)
    db_session.commit()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def period_select(html):
    return re.search(r'(?s)<select id="f-period" name="period">.*?</select>', html).group(0)


def test_pages_offer_the_periods_in_words_and_keep_the_code_in_the_url(client, make_user, db_session, make_unit):
    login(client, make_user, db_session)
    quarter = service.parse_period(service.current_quarter())
    month = service.parse_period(service.current_month())
    html = client.get(f"/scoring/?period={month.key}").get_data(as_text=True)
    select = period_select(html)
    assert f'<option value="{month.key}" selected>{month.label}（本月）</option>' in select
    assert f'<option value="{quarter.key}">{quarter.label}（本季度）</option>' in select
    assert select.index("按季度") < select.index("按月份") and "季度如" not in html
    assert f"/scoring/export.xlsx?period={month.key}" in html

    unit = make_unit("考评期间测试局")
    db_session.commit()
    accounts = client.get(f"/scoring/accounts?period={quarter.key}&unit_id={unit.id}").get_data(as_text=True)
    assert f'<option value="{quarter.key}" selected>' in period_select(accounts)
    assert f'<input type="hidden" name="unit_id" value="{unit.id}">' in accounts


@pytest.mark.parametrize(("raw", "why"), [("2026Q5", "格式应为"), ("2099Q1", "尚未开始"), ("last", "格式应为")])
def test_a_period_that_is_not_one_is_said_in_chinese(client, make_user, db_session, raw, why):
    login(client, make_user, db_session, Role.operator)
    current = service.parse_period(service.current_quarter())
    for path in ("/scoring/", "/scoring/accounts"):
        r = client.get(f"{path}?period={raw}")
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and f"没有“{raw}”这个考评期间" in html and why in html
        assert f"现在显示的是{current.label}" in html
        assert f'<option value="{current.key}" selected>' in period_select(html)
    download = client.get(f"/scoring/export.xlsx?period={raw}")
    assert download.status_code == 400 and download.mimetype == "text/html"
    assert f"没有“{raw}”这个考评期间" in download.get_data(as_text=True)


def test_control_characters_in_the_url_are_not_echoed(client, make_user, db_session):
    login(client, make_user, db_session)
    html = client.get("/scoring/?period=20%0026Q4").get_data(as_text=True)
    assert "没有“2026Q4”这个考评期间" in html and "\x00" not in html
