"""Douyin 代发 rules (official usage spec, DOMAIN.md R36) and the per-account publish settings.

- A person starts each Douyin post and sees which account it goes to. Content published on
  final approval goes out by that person's action (the approval page lists the targets); a
  *scheduled* Douyin delivery (``publish_at`` set: nobody is there when it fires) waits as
  ``held`` (待人工发起) until an operator starts it (``start``) — unless the unit has recorded,
  audited, that the account is its own or contracted (``own_account``), which allows unattended
  scheduled posting.
- 「是否同步」(``sync_enabled``): off → nothing is posted to the account (the delivery fails with
  ``douyin_sync_off`` before any call).
- 「是否删除」(``delete_enabled``): off → a withdrawal here leaves the Douyin post in place (the
  delivery stays ``sent`` with the reason ``withdraw_kept``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from audit import service as audit
from common.db import utcnow
from common.errors import Conflict, Invalid
from extensions import db
from publishers import lifecycle
from publishers.models import AccountPublishSettings, Delivery, DeliveryStatus
from registry.models import Account, Platform

SYNC_OFF = ("douyin_sync_off", "该抖音账号的“是否同步”设为否，本平台不向其发布")
KEPT_CODE = "withdraw_kept"
KEPT_MESSAGE = "该抖音账号的“是否删除”设为否：撤回不会删除抖音上的作品，作品仍在抖音公开"
HOLD_MESSAGE = "抖音代发须由人发起：请运营人员确认目标账号后点击“发起发送”"
SETTING_FIELDS = ("own_account", "own_account_note", "sync_enabled", "delete_enabled", "mass_per_day", "mass_per_month")


def settings_for(account_id: int) -> AccountPublishSettings | None:
    return db.session.scalar(sa.select(AccountPublishSettings).where(AccountPublishSettings.account_id == account_id))


def as_dict(account: Account) -> dict[str, Any]:
    row = settings_for(account.id)
    return {
        "account_id": account.id,
        "own_account": bool(row and row.own_account),
        "own_account_note": row.own_account_note if row else None,
        "own_account_at": row.own_account_at if row else None,
        "sync_enabled": True if row is None else row.sync_enabled,
        "delete_enabled": True if row is None else row.delete_enabled,
        "mass_per_day": row.mass_per_day if row else None,
        "mass_per_month": row.mass_per_month if row else None,
    }


def update(account: Account, data: dict[str, Any], actor: Any) -> AccountPublishSettings:
    """Change the account's settings; every change audited with before/after. Flushes."""
    unknown = sorted(set(data) - set(SETTING_FIELDS))
    if unknown:
        raise Invalid("不支持的设置项：" + "、".join(unknown), details={"fields": unknown})
    row = settings_for(account.id)
    if row is None:
        row = AccountPublishSettings(account_id=account.id, own_account=False, sync_enabled=True, delete_enabled=True)
        db.session.add(row)
    before = as_dict(account)
    if data.get("own_account") and not (data.get("own_account_note") or row.own_account_note or "").strip():
        raise Invalid("登记“本单位自有/签约账号”须写明依据（如运维合同编号）", details={"own_account_note": ["必填"]})
    for key in ("mass_per_day", "mass_per_month"):
        if key in data and data[key] is not None and (not isinstance(data[key], int) or data[key] < 0):
            raise Invalid("群发次数须为不小于 0 的整数", details={key: ["须为非负整数"]})
    for key, value in data.items():
        setattr(row, key, value)
    if "own_account" in data:
        row.own_account_by_id = getattr(actor, "id", None)
        row.own_account_at = utcnow()
    db.session.flush()
    after = as_dict(account)
    audit.record(
        "account:publish-settings",
        object_type="accounts",
        object_id=account.id,
        before={k: _plain(before[k]) for k in data},
        after={k: _plain(after[k]) for k in data},
        actor=actor,
    )
    return row


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def before_send(delivery: Delivery, account: Account) -> str | tuple[str, str] | None:
    """``"hold"`` (wait for a person), a refusal (code, message), or None."""
    if account.platform is not Platform.douyin:
        return None
    row = settings_for(account.id)
    return decide(
        account.platform,
        scheduled=delivery.content.publish_at is not None,
        started=delivery.started_by_id is not None,
        sync_enabled=True if row is None else row.sync_enabled,
        own_account=bool(row and row.own_account),
    )


def decide(
    platform: Platform, *, scheduled: bool, started: bool, sync_enabled: bool, own_account: bool
) -> str | tuple[str, str] | None:
    """The rule itself, from plain values (the delivery hot path reads them with the row):
    ``"hold"``, a refusal (code, message), or None. Without a settings row: 是否同步 on, not
    the unit's own account."""
    if platform is not Platform.douyin:
        return None
    if not sync_enabled:
        return SYNC_OFF
    if scheduled and not started and not own_account:
        return "hold"
    return None


def start(delivery: Delivery, actor: Any) -> None:
    """An operator starts a held Douyin delivery (having seen its target account). Flushes."""
    if delivery.status is not DeliveryStatus.held:
        raise Conflict("这条发送不在“待人工发起”状态")
    delivery.started_by_id = actor.id
    delivery.enqueued_at = None
    lifecycle.transition(
        delivery,
        DeliveryStatus.pending,
        actor=actor,
        message=f"由 {getattr(actor, 'display_name', None) or actor.username} 发起发送到“{delivery.account.name}”",
        after={"account_id": delivery.account_id, "account_name": delivery.account.name},
    )
    db.session.flush()


def keeps_post(delivery: Delivery) -> bool:
    """Whether a withdrawal must leave this delivery's post on the platform (是否删除 = 否)."""
    if delivery.account.platform is not Platform.douyin:
        return False
    row = settings_for(delivery.account_id)
    return row is not None and not row.delete_enabled
