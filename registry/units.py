"""Unit (单位) services."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from audit import service as audit
from auth.models import User
from common.errors import Conflict, Invalid
from extensions import db
from registry.models import Account, AccountStatus, Unit, UnitKind


def unit_dict(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "credit_code": unit.credit_code,
        "parent_id": unit.parent_id,
        "kind": unit.kind.value,
        "region": unit.region,
    }


def create_unit(data: dict[str, Any], actor: User | None = None) -> Unit:
    if db.session.scalar(sa.select(Unit.id).where(Unit.name == data["name"])):
        raise Conflict(f"单位名称已存在：{data['name']}", code="unit_exists")
    if data.get("credit_code") and db.session.scalar(sa.select(Unit.id).where(Unit.credit_code == data["credit_code"])):
        raise Conflict("统一社会信用代码已被其他单位使用", code="credit_code_exists")
    if data.get("parent_id") is not None:
        parent = db.session.get(Unit, data["parent_id"])
        if parent is None:
            raise Invalid("上级单位不存在", details={"parent_id": ["上级单位不存在"]})
        if not parent.is_active:
            raise Invalid("上级单位已停用", details={"parent_id": ["上级单位已停用"]})
    unit = Unit(
        name=data["name"],
        credit_code=data.get("credit_code"),
        parent_id=data.get("parent_id"),
        kind=UnitKind(data.get("kind") or UnitKind.department),
        region=data.get("region"),
    )
    db.session.add(unit)
    db.session.flush()
    audit.record("unit:create", unit, after=unit_dict(unit), actor=actor)
    return unit


def deactivate_unit(unit: Unit, actor: User | None = None) -> None:
    """停用 a unit: refused while it still has active sub-units, active users or live accounts."""

    if not unit.is_active:
        return
    problems = []
    if db.session.scalar(sa.select(sa.func.count()).where(Unit.parent_id == unit.id, Unit.is_active.is_(True))):
        problems.append("还有在用的下级单位")
    if db.session.scalar(sa.select(sa.func.count()).where(User.unit_id == unit.id, User.is_active.is_(True))):
        problems.append("还有在用的用户")
    closed = (AccountStatus.closed, AccountStatus.rejected)
    if db.session.scalar(sa.select(sa.func.count()).where(Account.unit_id == unit.id, Account.status.not_in(closed))):
        problems.append("还有未关停备案的账号")
    if problems:
        message = f"单位“{unit.name}”不能停用：{'；'.join(problems)}"
        raise Conflict(message, code="unit_in_use", details={"unit": problems})
    unit.is_active = False
    db.session.flush()
    audit.record("unit:deactivate", unit, before={"is_active": True}, after={"is_active": False}, actor=actor)


def reactivate_unit(unit: Unit, actor: User | None = None) -> None:
    if unit.is_active:
        return
    if unit.parent is not None and not unit.parent.is_active:
        raise Conflict("上级单位已停用，请先启用上级单位", code="parent_inactive")
    unit.is_active = True
    db.session.flush()
    audit.record("unit:reactivate", unit, before={"is_active": False}, after={"is_active": True}, actor=actor)
