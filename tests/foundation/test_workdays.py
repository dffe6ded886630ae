"""Working days: the office's EXTRA_HOLIDAYS_FILE on top of chinesecalendar, and the
Monday–Friday estimate (logged, and reported as not exact) for years neither covers."""

from __future__ import annotations

import logging
from datetime import date

import pytest

import config
from common import workdays
from common.workdays import HolidayFileError

# 2031 is far beyond chinesecalendar 1.11.0 (data up to 2026). 2031-01-01 is a Wednesday.
NOTICE_2031 = """\ufeffdate,kind,note
# 元旦 2031（an invented notice for the test）
2031-01-01,holiday,元旦
2031-01-02,休,元旦调休
2031-01-03,holiday
2031-01-04,workday,周六上班

2031-01-05,班
"""


@pytest.fixture
def holidays_file(app, tmp_path, monkeypatch):
    """Write ``text`` to a fresh file and make it the app's EXTRA_HOLIDAYS_FILE, in an app context
    (config.py reads the setting from the environment; workdays reads the app config)."""

    def write(text: str, name: str = "holidays.csv") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        monkeypatch.setitem(app.config, "EXTRA_HOLIDAYS_FILE", str(path))
        return str(path)

    with app.app_context():
        yield write


def test_file_covers_a_year_the_package_does_not(holidays_file):
    holidays_file(NOTICE_2031)
    assert [workdays.is_workday(date(2031, 1, d)) for d in range(1, 8)] == [
        False,  # Wed 元旦
        False,  # Thu 休
        False,  # Fri
        True,  # Sat 上班
        True,  # Sun 上班
        True,  # Mon
        True,  # Tue
    ]
    assert workdays.is_exact(date(2031, 7, 1))  # any row for 2031 makes the whole year count as covered
    # Monday–Friday would give 2031-01-03; the file's holidays and workdays give 2031-01-05.
    assert workdays.add_workdays(date(2031, 1, 1), 2) == date(2031, 1, 5)
    assert workdays.deadline(date(2031, 1, 1), 2) == (date(2031, 1, 5), True)
    assert workdays.workdays_between(date(2030, 12, 31), date(2031, 1, 7)) == 4


def test_file_rows_override_the_package(holidays_file):
    assert workdays.is_workday(date(2025, 10, 9))  # a Thursday after National Day 2025
    holidays_file("2025-10-09,holiday,本地加休\n2025-10-12,workday\n")
    assert not workdays.is_workday(date(2025, 10, 9))
    assert workdays.is_workday(date(2025, 10, 12))  # a Sunday
    assert workdays.is_workday(date(2025, 10, 10))  # days not listed keep the package's answer


def test_uncovered_year_is_estimated_logged_and_not_exact(holidays_file, caplog):
    path = holidays_file(NOTICE_2031)
    assert not workdays.is_exact(date(2032, 3, 1))
    with caplog.at_level(logging.WARNING, logger="common.workdays"):
        result = workdays.deadline(date(2031, 12, 29), 5)
        workdays.add_workdays(date(2032, 2, 1), 3)  # the same year again: warned once
    assert result == (date(2032, 1, 5), False)  # Monday–Friday across 2032-01-01
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2032" in warnings[0].getMessage() and path in warnings[0].getMessage()
    assert workdays.ESTIMATE_NOTE in warnings[0].getMessage()
    assert workdays.span_is_exact(date(2031, 1, 1), date(2031, 12, 31))
    assert not workdays.span_is_exact(date(2031, 12, 1), date(2032, 1, 2))


def test_package_years_stay_exact_without_a_file(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "EXTRA_HOLIDAYS_FILE", "")
    with app.app_context(), caplog.at_level(logging.WARNING, logger="common.workdays"):
        assert workdays.deadline(date(2026, 9, 29), 5) == (date(2026, 10, 12), True)  # across National Day
    assert not caplog.records
    assert workdays.is_exact(date(2026, 12, 31)) and not workdays.is_exact(date(2099, 1, 1))


def test_the_app_setting_wins_over_the_environment(app, tmp_path, monkeypatch):
    env_file = tmp_path / "env.csv"
    env_file.write_text("2031-01-06,holiday\n", encoding="utf-8")
    monkeypatch.setenv("EXTRA_HOLIDAYS_FILE", str(env_file))
    office = tmp_path / "office.csv"
    office.write_text("2031-01-07,holiday\n", encoding="utf-8")
    monkeypatch.setitem(app.config, "EXTRA_HOLIDAYS_FILE", str(office))
    with app.app_context():
        assert workdays.is_workday(date(2031, 1, 6)) and not workdays.is_workday(date(2031, 1, 7))
    # The environment is read by config.py only (into a new app's config), never by workdays:
    # outside an app the shipped file applies.
    assert config.from_env()["EXTRA_HOLIDAYS_FILE"] == str(env_file)
    assert workdays.is_workday(date(2031, 1, 6)) and workdays.is_workday(date(2031, 1, 7))


def test_the_shipped_file_is_valid_and_holds_no_invented_dates():
    assert workdays.load_extra(str(workdays.DEFAULT_EXTRA_FILE)) == workdays.NO_EXTRA


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2031-13-01,holiday\n", "第 1 行：日期“2031-13-01”须为 YYYY-MM-DD"),
        ("date,kind\n2031-01-01,day off\n", "第 2 行：类型“day off”须为 holiday（休）或 workday（班）"),
        ("2031-01-01\n", "第 1 行：类型“”"),
        ("2031-01-01,holiday\n2031-01-01,workday\n", "第 2 行：2031-01-01 同时被列为放假日和上班日"),
    ],
)
def test_bad_rows_name_file_and_line(text, message):
    with pytest.raises(HolidayFileError) as err:
        workdays.parse_extra(text, "holidays.csv")
    assert str(err.value).startswith(f"holidays.csv {message}")


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(HolidayFileError, match="找不到节假日文件"):
        workdays.load_extra(str(tmp_path / "nope.csv"))


def test_day_marks_for_the_calendar(app):
    """The calendar's 休/班 marks come from the same sources as the working-day arithmetic."""
    with app.app_context():
        national_day = workdays.day_mark(date(2026, 10, 1))
        assert national_day.kind == "holiday" and national_day.label == "休 国庆节" and national_day.exact
        assert workdays.day_mark(date(2026, 10, 10)) == workdays.DayMark("adjusted", "班 调休上班", True)
        assert workdays.day_mark(date(2026, 12, 5)).kind == "weekend"  # an ordinary Saturday: no mark
        assert workdays.day_mark(date(2026, 12, 7)) == workdays.DayMark("workday", "", True)
        assert workdays.day_mark(date(2031, 1, 1)).exact is False  # no data: Monday–Friday estimate


def test_day_marks_follow_the_extra_file(holidays_file):
    holidays_file(NOTICE_2031)
    assert workdays.day_mark(date(2031, 1, 1)) == workdays.DayMark("holiday", "休 节假日", True)
    assert workdays.day_mark(date(2031, 1, 4)) == workdays.DayMark("adjusted", "班 调休上班", True)
