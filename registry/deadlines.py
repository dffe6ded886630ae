"""Deadline arithmetic of the 台账: 备案时限 and 停更公告期 in working days, and whether a stored date
was counted Monday–Friday (a year without holiday data)."""

from __future__ import annotations

import functools
from datetime import date, timedelta

from flask import current_app

from common.workdays import add_workdays, configured_path, is_workday, span_is_exact


@functools.lru_cache(maxsize=8192)
def workdays_after(start: date, days: int) -> date:
    """add_workdays, cached: the holiday calendar is fixed for the life of the process."""
    return add_workdays(start, days)


def filing_workdays() -> int:
    return int(current_app.config["FILING_DEADLINE_WORKDAYS"])


def notice_workdays() -> int:
    return int(current_app.config["CLOSURE_NOTICE_WORKDAYS"])


def due_is_estimated(due: date | None, days: int) -> bool:
    """Whether a stored deadline ``due`` (``days`` working days after a start that is not stored)
    was counted Monday–Friday: a year its count may have crossed is in neither chinesecalendar
    nor EXTRA_HOLIDAYS_FILE (``common.workdays.span_is_exact``, as ``deadline()`` reports it).

    The earliest start that gives ``due`` is ``days`` + 1 working days back, so a deadline early
    in January also looks at December's year. Answers for the calendar loaded now: a date counted
    before the office added the year's holidays stays until ``recount_filing_deadlines`` runs.
    """
    if due is None:
        return False
    return _due_is_estimated(configured_path(), due, days)


@functools.lru_cache(maxsize=8192)
def _due_is_estimated(path: str, due: date, days: int) -> bool:
    start, counted = due, 0
    while True:
        if is_workday(start):
            counted += 1
            if counted > days:
                break
        start -= timedelta(days=1)
    return not span_is_exact(start, due)
