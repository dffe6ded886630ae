"""The API's shared marshmallow fields: one date-time format and bounded integers everywhere.

Date-times: the database stores naive UTC. Every date-time the API writes is UTC with a ``Z``
(``2026-12-06T01:39:44.025878Z``); input may carry any offset (``+08:00``) and is converted,
and input without one is read as UTC. Input outside 2000-01-01 … 2099-12-31 is refused (422),
so nothing absurd (``9999-12-31``) is stored; what is already stored is still written out.

Integers: every integer the API reads must fit PostgreSQL's ``integer`` (the id columns), so an
id, a page or a filter of 2**63 answers 422 instead of an overflow deep in the database driver.
Schemas import ``DateTime`` and ``Integer`` from here instead of ``apiflask.fields``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from apiflask import fields
from apiflask.validators import Range

INT_MAX = 2**31 - 1  # PostgreSQL integer; also the largest id a path accepts (common/guards.py)
INT_MIN = -(2**31)
EARLIEST = datetime(2000, 1, 1)  # naive UTC, as stored
LATEST = datetime(2099, 12, 31, 23, 59, 59)


def iso_utc(value: datetime | None) -> str | None:
    """A stored (naive UTC) or aware datetime as RFC 3339 UTC with ``Z``; never overflows."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def to_utc_naive(value: datetime | None) -> datetime | None:
    """Aware input converted to UTC; naive input taken as UTC (the stored form)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class DateTime(fields.DateTime):
    """RFC 3339 date-time, written in UTC with ``Z``; read with any offset, bounded to 2000–2099."""

    default_error_messages: ClassVar[dict[str, str]] = {
        **fields.DateTime.default_error_messages,
        "invalid": "日期时间格式应为 ISO 8601，如 2026-12-06T09:30:00+08:00",
        "out_of_range": "日期时间须在 2000-01-01 与 2099-12-31 之间",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {
            "description": "",
            **kwargs["metadata"],
        }
        description = kwargs["metadata"]["description"]
        suffix = "UTC，带 Z（输入可带任意时区，无时区按 UTC）"
        kwargs["metadata"]["description"] = f"{description}（{suffix}）" if description else suffix
        super().__init__(*args, **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if isinstance(value, str):
            return value
        return iso_utc(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = to_utc_naive(super()._deserialize(value, attr, data, **kwargs))
        assert parsed is not None  # noqa: S101 - marshmallow never deserialises a missing value here
        if not EARLIEST <= parsed <= LATEST:
            raise self.make_error("out_of_range")
        return parsed


class Integer(fields.Integer):
    """An integer that fits PostgreSQL's ``integer``; larger or smaller input is a 422."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        validators = kwargs.pop("validate", None)
        if validators is None:
            validators = []
        elif callable(validators):
            validators = [validators]
        bound = Range(min=INT_MIN, max=INT_MAX, error="数值超出范围")
        super().__init__(*args, validate=[*validators, bound], **kwargs)
