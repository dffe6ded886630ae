"""Unit (单位) services."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from audit import service as audit
from auth.models import User
from common.errors import Conflict, Invalid
from extensions import db
from registry.models import Unit, UnitKind


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
    if data.get("parent_id") is not None and db.session.get(Unit, data["parent_id"]) is None:
        raise Invalid("上级单位不存在", details={"parent_id": ["上级单位不存在"]})
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
