"""Show stored naive-UTC datetimes in Beijing time on pages (the `bj` Jinja filter)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CN_TZ = ZoneInfo("Asia/Shanghai")


def bj(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CN_TZ).strftime(fmt)
