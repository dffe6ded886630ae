"""What the repost targets add up to: the board of a task (units × platforms with the counts, as
the caller may see them), its filed workbook, and per unit the tasks due in a period done late
or not at all (the 通报 of :mod:`reports`). Read-only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from auth.models import User
from common.db import utcnow
from common.formal_sheet import Column, FormalSheet, workbook
from common.timefmt import bj
from extensions import db
from registry.models import Unit
from reposts.models import (
    RepostTarget,
    RepostTargetStatus,
    RepostTask,
)
from reposts.service import S, counts, platform_label, target_dict, visible_targets

# ----------------------------------------------------------------------------- the board


def board(task: RepostTask, user: User) -> dict[str, Any]:
    """Units × platforms: each cell's state, per-unit and per-platform counts, the totals."""
    targets = visible_targets(task, user)
    by_unit: dict[int, dict[str, Any]] = {}
    for t in targets:
        row = by_unit.setdefault(
            t.unit_id, {"unit_id": t.unit_id, "unit_name": t.unit.name, "cells": {}, "content_id": t.content_id}
        )
        row["cells"][t.platform.value] = target_dict(t)
    rows = sorted(by_unit.values(), key=lambda r: r["unit_name"])
    for row in rows:
        row["counts"] = counts(t for t in targets if t.unit_id == row["unit_id"])
    per_platform = {p: counts(t for t in targets if t.platform.value == p) for p in task.platforms}
    return {
        "platforms": [{"value": p, "label": platform_label(p)} for p in task.platforms],
        "rows": rows,
        "per_platform": per_platform,
        "totals": counts(targets),
    }


def board_xlsx(task: RepostTask, user: User, issuer: str = "") -> bytes:
    """The board as a filed workbook (common/formal_sheet): the matrix and the detail rows."""

    data = board(task, user)
    labels = [p["label"] for p in data["platforms"]]
    matrix_cols = [Column("单位", 28), *(Column(label, 12) for label in labels)]
    matrix_cols += [Column(h, 10, "int") for h in ("已完成", "逾期完成", "逾期未完成", "不适用", "待完成")]
    matrix = []
    for row in data["rows"]:
        c = row["counts"]
        cells = [row["cells"].get(p["value"], {}).get("status_label", "—") for p in data["platforms"]]
        matrix.append(
            [row["unit_name"], *cells, c["done"], c["done_late"], c["overdue"], c["not_applicable"], c["pending"]]
        )
    t = data["totals"]
    matrix.append(
        ["合计", *([""] * len(labels)), t["done"], t["done_late"], t["overdue"], t["not_applicable"], t["pending"]]
    )
    detail_cols = [
        Column("单位", 28),
        Column("平台", 12),
        Column("状态", 12),
        Column("完成时间", 18, "datetime"),
        Column("完成方式", 20),
        Column("链接", 40),
        Column("不适用理由", 30),
    ]
    detail = [
        [
            c["unit_name"],
            c["platform_label"],
            c["status_label"],
            c["completed_at"],
            c["via_label"],
            c["url"] or "",
            c["reason"] or "",
        ]
        for row in data["rows"]
        for c in row["cells"].values()
    ]
    now = utcnow()
    deadline = bj(task.deadline_at)
    notes = [
        f"任务：{task.title}；来源：{task.source_name}；截止时间：{deadline}（北京时间）",
        "已完成：截止前经本平台发布或巡检发现转载；逾期完成：截止后才完成；逾期未完成：截止后仍未发现转载。",
    ]
    if task.cancelled_at is not None:
        notes.append(f"本任务已于 {bj(task.cancelled_at)}（北京时间）撤销，理由：{task.cancel_reason}")
    title = f"转载任务完成情况（{task.title}）"
    return workbook(
        [
            FormalSheet("完成情况", title, matrix_cols, matrix, issuer=issuer, made_at=now, notes=notes),
            FormalSheet("明细", f"{title}·明细", detail_cols, detail, issuer=issuer, made_at=now),
        ]
    )


# ----------------------------------------------------------------------------- the 通报


def late_units(start_utc: datetime, end_utc: datetime, unit_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """Per unit, the tasks due in [start, end) and not cancelled: how many it was given, done on time, done late,
    not done (逾期未完成), not applicable — only units with something late, worst first."""
    stmt = (
        sa.select(RepostTarget.unit_id, RepostTarget.task_id, RepostTarget.status)
        .join(RepostTask, RepostTask.id == RepostTarget.task_id)
        .where(RepostTask.deadline_at >= start_utc, RepostTask.deadline_at < end_utc)
        .where(RepostTask.cancelled_at.is_(None))  # a withdrawn task (撤销) counts against no one
    )
    if unit_ids is not None:
        stmt = stmt.where(RepostTarget.unit_id.in_(unit_ids))
    per: dict[int, dict[int, set[RepostTargetStatus]]] = {}
    for unit_id, task_id, status in db.session.execute(stmt):
        per.setdefault(unit_id, {}).setdefault(task_id, set()).add(status)
    names = dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(list(per)))).all())
    out = []
    for unit_id, tasks in per.items():
        # a task counts once per unit, by its worst platform: not done > late > done > not applicable
        missing = sum(1 for s in tasks.values() if S.overdue in s or S.pending in s)
        late = sum(1 for s in tasks.values() if S.done_late in s and not (s & {S.overdue, S.pending}))
        on_time = sum(1 for s in tasks.values() if s <= {S.done, S.not_applicable} and S.done in s)
        na = sum(1 for s in tasks.values() if s == {S.not_applicable})
        if missing or late:
            out.append(
                {
                    "unit_id": unit_id,
                    "unit_name": names.get(unit_id, ""),
                    "tasks": len(tasks),
                    "on_time": on_time,
                    "late": late,
                    "missing": missing,
                    "not_applicable": na,
                }
            )
    return sorted(out, key=lambda r: (-r["missing"], -r["late"], r["unit_name"]))
