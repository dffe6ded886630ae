"""Changes to a unit that reach its accounts: edit (admin) and, on a rename, the proposals to
rename its accounts and their 认证主体 (R20)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from audit import service as audit
from auth.models import User
from auth.scoping import unit_subtree_ids
from common.errors import Conflict, Invalid
from extensions import db
from registry import hooks
from registry.models import (
    Account,
    Unit,
    UnitKind,
)
from registry.service import EVENT_UNIT_RENAMED, LIVE_STATUSES, _write_event
from registry.units import unit_dict


def update_unit(unit: Unit, data: dict[str, Any], actor: User | None) -> list[dict[str, Any]]:
    """PATCH a unit (admin). A new name proposes renaming its accounts; returns the proposals."""
    before = unit_dict(unit)
    if "name" in data and data["name"] != unit.name:
        if db.session.scalar(sa.select(Unit.id).where(Unit.name == data["name"], Unit.id != unit.id)):
            raise Conflict(f"单位名称已存在：{data['name']}", code="unit_exists")
        unit.name = data["name"]
    if "credit_code" in data and data["credit_code"] != unit.credit_code:
        taken = sa.select(Unit.id).where(Unit.credit_code == data["credit_code"], Unit.id != unit.id)
        if data["credit_code"] and db.session.scalar(taken):
            raise Conflict("统一社会信用代码已被其他单位使用", code="credit_code_exists")
        unit.credit_code = data["credit_code"]
    if "parent_id" in data:
        _check_parent(unit, data["parent_id"])
        unit.parent_id = data["parent_id"]
    if data.get("kind"):
        unit.kind = UnitKind(data["kind"])
    if "region" in data:
        unit.region = data["region"]
    after = unit_dict(unit)
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        return []
    db.session.flush()
    audit.record(
        "unit:update",
        unit,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        actor=actor,
    )
    if "name" in changed:
        return propose_account_renames(unit, before["name"], actor)
    return []


def _check_parent(unit: Unit, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if db.session.get(Unit, parent_id) is None:
        raise Invalid("上级单位不存在", details={"parent_id": ["上级单位不存在"]})

    if parent_id in unit_subtree_ids(unit.id):
        raise Invalid("上级单位不能是本单位或其下级单位", details={"parent_id": ["上级单位不能是本单位或其下级单位"]})


def propose_account_renames(unit: Unit, old_name: str, actor: User | None) -> list[dict[str, Any]]:
    """After a unit rename, each live account gets an event and a subject finding with a proposal.

    R20: if the unit's name changes, rename the account and change its 认证主体. The operator
    acts on the proposal with request_change (the account page pre-fills the form).
    """
    accounts = db.session.scalars(
        sa.select(Account).where(Account.unit_id == unit.id, Account.status.in_(LIVE_STATUSES)).order_by(Account.id)
    ).all()
    proposals: list[dict[str, Any]] = []
    extra: dict[int, dict[str, Any]] = {}
    for account in accounts:
        proposal = rename_proposal(account, old_name, unit.name)
        proposals.append(proposal)
        extra[account.id] = {
            "reason": "unit_renamed",
            "old_unit_name": old_name,
            "new_unit_name": unit.name,
            "proposed_changes": proposal["proposed_changes"],
            "message": f"主办单位已由“{old_name}”更名为“{unit.name}”，请申请变更账号名称与认证主体",
        }
        _write_event(
            account,
            EVENT_UNIT_RENAMED,
            account.status,
            {"unit_name": [old_name, unit.name]},
            actor,
            reason="主办单位更名，请申请变更账号名称与认证主体",
            audit_tag="account:unit:renamed",
        )
    hooks.send(hooks.unit_renamed, accounts=accounts, extra=extra)
    return proposals


def rename_proposal(account: Account, old_name: str, new_name: str) -> dict[str, Any]:
    proposed: dict[str, Any] = {"verified_subject": new_name}
    if old_name and old_name in account.name:
        proposed["name"] = account.name.replace(old_name, new_name)
    proposed = {k: v for k, v in proposed.items() if getattr(account, k) != v}
    return {
        "account_id": account.id,
        "platform": account.platform.value,
        "name": account.name,
        "verified_subject": account.verified_subject,
        "proposed_changes": proposed,
    }
