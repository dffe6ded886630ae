"""Working-day arithmetic with Chinese public holidays and adjusted workdays (调休).

Three sources, first match wins:

1. the office's file ``EXTRA_HOLIDAYS_FILE`` (default the shipped, empty
   ``common/data/holidays_extra.csv``): rows ``date,kind`` with kind ``holiday``/``休`` or
   ``workday``/``班``. A year counts as covered once the file has a row for it, so enter the
   State Council's whole notice for that year. Rows also override the package (corrections).
2. the chinese-calendar package (it ships the State Council's yearly notices);
3. Monday–Friday, for a year neither covers. Such a deadline is an estimate: ``add_workdays``
   logs a warning, and ``is_exact`` / ``span_is_exact`` / ``deadline`` say so, so pages can mark
   it ``按周一至周五估算``.

The file is read once per process (restart after editing it), like the package's data.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import chinese_calendar
from flask import current_app, has_app_context

log = logging.getLogger(__name__)

DEFAULT_EXTRA_FILE = Path(__file__).resolve().parent / "data" / "holidays_extra.csv"
ESTIMATE_NOTE = "按周一至周五估算"

KINDS = {
    "holiday": True,
    "休": True,
    "假": True,
    "workday": False,
    "班": False,
}


class HolidayFileError(ValueError):
    """The extra holidays file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class ExtraDays:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()


NO_EXTRA = ExtraDays()


def parse_extra(text: str, source: str = "<text>") -> ExtraDays:
    """Rows ``date,kind[,note]``; a ``date,kind`` header, ``#`` comments and blank lines are skipped."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if cells[0].lower().lstrip("\ufeff") == "date":  # the header
            continue
        where = f"{source} 第 {number} 行"
        try:
            day = date.fromisoformat(cells[0].lstrip("\ufeff"))
        except ValueError:
            raise HolidayFileError(f"{where}：日期“{cells[0]}”须为 YYYY-MM-DD") from None
        kind = cells[1].lower() if len(cells) > 1 else ""
        if kind not in KINDS:
            raise HolidayFileError(f"{where}：类型“{kind}”须为 holiday（休）或 workday（班）")
        target, other = (holidays, workdays) if KINDS[kind] else (workdays, holidays)
        if day in other:
            raise HolidayFileError(f"{where}：{day.isoformat()} 同时被列为放假日和上班日")
        target.add(day)
    years = frozenset(d.year for d in holidays | workdays)
    return ExtraDays(frozenset(holidays), frozenset(workdays), years)


@functools.lru_cache(maxsize=16)
def load_extra(path: str) -> ExtraDays:
    """The parsed file (cached per path for the life of the process); empty path = no file."""
    if not path:
        return NO_EXTRA
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise HolidayFileError(f"找不到节假日文件 {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HolidayFileError(f"无法读取节假日文件 {path}：{exc}") from None
    return parse_extra(text, path)


def configured_path() -> str:
    """EXTRA_HOLIDAYS_FILE from the app config (config.py reads the environment), else the shipped file."""
    if has_app_context():
        value = current_app.config.get("EXTRA_HOLIDAYS_FILE")
        if value is not None:
            return str(value)
    return str(DEFAULT_EXTRA_FILE)


def _extra() -> ExtraDays:
    return load_extra(configured_path())


def _package_workday(day: date) -> bool | None:
    """The package's answer, or None when it has no data for ``day``'s year."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def _is_workday(day: date, extra: ExtraDays) -> bool:
    if day in extra.holidays:
        return False
    if day in extra.workdays:
        return True
    answer = _package_workday(day)
    return day.weekday() < 5 if answer is None else answer


def _is_exact(day: date, extra: ExtraDays) -> bool:
    return day.year in extra.years or _package_workday(day) is not None


def is_workday(day: date) -> bool:
    return _is_workday(day, _extra())


def is_exact(day: date) -> bool:
    """True when the package or the extra file covers ``day``'s year (no Monday–Friday guess)."""
    return _is_exact(day, _extra())


def span_is_exact(start: date, end: date) -> bool:
    """True when every day after ``start`` up to and including ``end`` is covered."""
    extra = _extra()
    return all(_is_exact(date(year, 1, 1), extra) for year in range(start.year, end.year + 1))


_warned: set[tuple[str, int]] = set()


def _warn_estimated(start: date, end: date) -> None:
    path = configured_path()
    extra = load_extra(path)
    for year in range(start.year, end.year + 1):
        if _is_exact(date(year, 1, 1), extra) or (path, year) in _warned:
            continue
        _warned.add((path, year))
        log.warning(
            "workdays: %s has no holiday data in chinesecalendar nor in EXTRA_HOLIDAYS_FILE (%s); "
            "deadlines in it are counted Monday–Friday (%s)",
            year,
            path or "unset",
            ESTIMATE_NOTE,
        )


def add_workdays(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    extra = _extra()
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if _is_workday(current, extra):
            remaining -= 1
    if not span_is_exact(start, current):
        _warn_estimated(start, current)
    return current


def add_workdays_as_estimated(start: date, days: int, years: Collection[int]) -> date:
    """``add_workdays`` as it was counted while ``years`` had no holiday data: their days
    Monday–Friday, every other day as now (registry recount of stored deadlines)."""
    extra = _extra()
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if (current.weekday() < 5) if current.year in years else _is_workday(current, extra):
            remaining -= 1
    return current


class Deadline(NamedTuple):
    on: date
    is_exact: bool  # False: some day on the way was counted Monday–Friday (show ESTIMATE_NOTE)


def deadline(start: date, days: int) -> Deadline:
    """``add_workdays`` plus whether the result rests on real holiday data."""
    end = add_workdays(start, days)
    return Deadline(end, span_is_exact(start, end))


def workdays_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    extra = _extra()
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if _is_workday(current, extra):
            count += 1
    return count


class DayMark(NamedTuple):
    """How a calendar shows a day: ``kind`` is ``holiday`` (放假，含节日前后的周末), ``adjusted``
    (调休上班的周末), ``weekend`` or ``workday``; ``label`` the short Chinese mark (休 国庆节 / 班
    调休上班 / ""); ``exact`` False when the year is a Monday–Friday estimate."""

    kind: str
    label: str
    exact: bool


def _holiday_name(day: date) -> str:
    """The package's Chinese festival name for ``day`` (国庆节…), or "" (extra file, no data)."""
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return ""
    if not name:
        return ""
    for holiday in chinese_calendar.Holiday:
        if holiday.value == name:
            return str(getattr(holiday, "chinese", "") or "")
    return ""


def day_mark(day: date) -> DayMark:
    """The calendar's mark for ``day`` from the same sources as ``is_workday``: the extra file
    first, then chinese-calendar, else Monday–Friday (``exact`` False)."""
    extra = _extra()
    workday = _is_workday(day, extra)
    exact = _is_exact(day, extra)
    weekend = day.weekday() >= 5
    if workday:
        return DayMark("adjusted", "班 调休上班", exact) if weekend else DayMark("workday", "", exact)
    name = "" if day in extra.holidays else _holiday_name(day)
    if not weekend or name or day in extra.holidays:
        return DayMark("holiday", f"休 {name}".strip() if name else "休 节假日", exact)
    return DayMark("weekend", "", exact)
