"""The 通报's reminder counts. reports may not import notify (layering): notify installs its counter
(``notify.reminders.sent_by_channel``) in ``app.extensions[REMINDER_COUNTER]``; without it every
count is 0.

Scope: a unit-scoped exporter (``unit_ids``) gets only the reminders of their units — a reminder
with no unit belongs to none of them; an office-wide one (``None``) gets every reminder, and
``by_unit`` splits the total into 归属各单位 + 未归属具体单位, which add up to it. ``scope`` says so in
words for the workbook and the Word document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

REMINDER_CHANNELS = (
    ("in_app", "站内提醒"),
    ("email", "电子邮件"),
    ("wecom", "企业微信群机器人"),
    ("dingtalk", "钉钉群机器人"),
)
#: ``app.extensions`` key of the reminder counter notify installs (reports may not import notify):
#: ``(start_utc, end_utc, unit_ids) -> {"in_app": n, "email": n, "wecom": n, "dingtalk": n}`` and, office-wide
#: (``unit_ids`` None), ``"no_unit"``: how many of those belong to no unit.
REMINDER_COUNTER = "govmedia.reminder_counts"


SCOPE_ALL = "全部单位，含未归属具体单位的提醒"
SCOPE_UNITS = "本单位及下级单位（不含其他单位和未归属具体单位的提醒）"


def scope_text(unit_ids: set[int] | None) -> str:
    """What an exporter's 通报 counts of the reminders, in words (the report page says it too)."""
    return SCOPE_ALL if unit_ids is None else SCOPE_UNITS


def reminder_summary(start_utc: datetime, end_utc: datetime, unit_ids: set[int] | None = None) -> dict[str, Any]:
    """Reminders sent in [start, end) by channel (in-app: reminders made; outside: messages sent)."""

    counter = current_app.extensions.get(REMINDER_COUNTER)
    counts = counter(start_utc, end_utc, unit_ids) if counter is not None else {}
    rows = [(label, int(counts.get(key, 0))) for key, label in REMINDER_CHANNELS]
    total = sum(n for _, n in rows)
    if unit_ids is None:
        no_unit = min(int(counts.get("no_unit", 0)), total)
        by_unit = [("归属各单位的提醒", total - no_unit), ("未归属具体单位的提醒", no_unit)]
    else:
        by_unit = []
    return {
        "channels": rows,
        "total": total,
        "enabled": counter is not None,
        "by_unit": by_unit,
        "scope": scope_text(unit_ids),
    }
