"""Beijing time: the date today, a day's start as the database stores times, the `bj`
Jinja filter that shows stored naive-UTC datetimes on pages, and `keep_dates`, which keeps the
dates written in a message on one line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

CN_TZ = ZoneInfo("Asia/Shanghai")


def parse_instant(value: datetime | str | None) -> datetime | None:
    """A stored instant: a datetime (naive = UTC) or an ISO string from JSON (``…Z``, ``+00:00``)."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None


def bj(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Beijing time as a person reads it: the one formatter for pages, exports, messages, diffs
    and evidence. ``value``: a naive-UTC or aware datetime, or an ISO string from JSON (a string
    that is not a time comes back unchanged)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        parsed = parse_instant(value)
        if parsed is None or ("T" not in value and ":" not in value):
            return value  # not a time (a date alone stays as it is)
        value = parsed
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


def waited(hours: float) -> str:
    """How long something has waited, as a person says it: 不到 1 小时, 5 小时, 3 天, 1 天 16 小时
    (whole hours; not "0.0 小时" or "120 小时")."""
    if hours < 1:
        return "不到 1 小时"
    whole = int(hours)
    if whole < 24:
        return f"{whole} 小时"
    days, rest = divmod(whole, 24)
    return f"{days} 天 {rest} 小时" if rest else f"{days} 天"


#: A date (and time) as pages write them: 2026-12-07, 2026-12-07 09:30.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?")


def keep_dates(text: str | None) -> Markup:
    """``text`` (escaped) with each date and time held on one line: in running text a browser
    breaks a date at its hyphens (2026- / 12-07). The ``keep_dates`` Jinja filter."""
    escaped = str(escape(text or ""))
    return Markup(_DATE_TIME.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>', escaped))  # noqa: S704 - escaped above
