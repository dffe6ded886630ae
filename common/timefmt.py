"""Beijing time: the date today, a day's start as the database stores times, and the `bj`
Jinja filter that shows stored naive-UTC datetimes on pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CN_TZ = ZoneInfo("Asia/Shanghai")


def bj(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(CN_TZ).strftime(fmt)
    except OverflowError:  # 9999-12-31 stored before publish_at was bounded: show it, in UTC
        return value.strftime(fmt) + " UTC"


def today_cn() -> date:
    """Today's date in Beijing, whatever the server's time zone."""
    return datetime.now(CN_TZ).date()


def day_start_utc(day: date) -> datetime:
    """Beijing midnight at the start of ``day`` as the naive UTC the database stores."""
    return datetime.combine(day, datetime.min.time(), tzinfo=CN_TZ).astimezone(UTC).replace(tzinfo=None)
