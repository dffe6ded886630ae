"""The 责任单位 the office picks when it confirms a finding that has no unit.

A finding found by discovery may belong to no unit in the ledger (an unregistered account, 体外运行,
nobody could attribute). Confirming it then names the unit that has to put it right: the finding
records the unit (the ``finding:status:confirm`` audit entry shows it before and after) and the
unit's 整改 work order is issued exactly as for a finding with a unit
(:func:`oversight.findings.act`). Without a unit the finding is only confirmed: no work order and
no 整改期限 — until the office names the unit later (:func:`oversight.findings.assign_unit`, the
``finding:unit:assign`` audit entry). Refusals (unknown unit, outside the caller's scope, 停用, a
finding that already has a unit) are 422 and change nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from auth.models import User
from auth.scoping import can_see_unit, scope_filter
from common.errors import Invalid
from extensions import db
from oversight.models import Finding
from registry.models import Unit


def choices(user: User) -> list[Unit]:
    """The units ``user`` may name as 责任单位: active units in their scope, by name."""
    stmt = sa.select(Unit).where(scope_filter(user, Unit.id), Unit.is_active.is_(True)).order_by(Unit.name)
    return list(db.session.scalars(stmt))


def _refuse(message: str) -> Invalid:
    return Invalid(message, details={"unit_id": [message]})


def responsible_unit(finding: Finding, user: User, unit_id: int | None) -> Unit | None:
    """The unit to record when confirming ``finding`` (None: nothing to record), or 422."""
    if unit_id is None or unit_id == finding.unit_id:
        return None
    if finding.unit_id is not None:
        raise _refuse(has_unit(finding))
    return named_unit(user, unit_id)


def has_unit(finding: Finding) -> str:
    """Why no other 责任单位 can be named for ``finding``, which has a unit."""
    name = finding.unit.name if finding.unit is not None else f"#{finding.unit_id}"
    return f"该问题线索已对应单位“{name}”，整改工单发给该单位，不能另选责任单位"


def named_unit(user: User, unit_id: int) -> Unit:
    """The unit ``unit_id`` when ``user`` may name it as 责任单位 (in scope, active), or 422."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not can_see_unit(user, unit.id):
        raise _refuse("责任单位不存在或不在您的管辖范围内，请从列表中选择")
    if not unit.is_active:
        raise _refuse(f"“{unit.name}”已停用，不能作为责任单位")
    return unit
