"""Working-day arithmetic with Chinese public holidays and adjusted workdays (调休).

Uses the chinese-calendar package. For years it has no data for (it ships the State
Council's yearly notice), it falls back to Monday–Friday and says so via ``is_exact``.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def is_exact(day: date) -> bool:
    """True when the holiday calendar covers ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def add_workdays(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def workdays_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current):
            count += 1
    return count
