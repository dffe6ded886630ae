"""Withdraw (撤回): one request cancels what has not gone out and marks the content withdrawn;
the posts already on platforms are deleted one by one by ``publishers.pipeline.run_withdraw``
(queued by the sweeper — an outbox), in three steps: ``prepare`` (short transaction), ``ask``
(the platform call, no transaction, no database), ``record`` (under the row lock)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from common.db import utcnow
from common.errors import Conflict, Invalid
from extensions import db
from moderation import lifecycle as content_lifecycle
from moderation.models import Content, ContentStatus
from platforms import channels, wechat_mass
from platforms.errors import AdapterError
from platforms.types import Credentials
from publishers import douyin_rules, lifecycle, retry_policy
from publishers.attempt import load_creds
from publishers.models import Delivery, DeliveryStatus
from publishers.shared import NextStep, for_update

CANCELLED_MESSAGE = "稿件撤回，已取消发送"
MANUAL_WITHDRAW_CODE = "manual_withdraw"  # a manual delivery that is a deletion, not a publication
MANUAL_CANCELLED_MESSAGE = "稿件撤回，已取消人工发布；如已在平台手工发布，请在平台后台手工删除"
NO_DELETE_API_MESSAGE = "该平台不支持接口删除，请在平台后台手工删除后，点击本行的“已人工处理：已在平台删除”"


def withdraw_content(content: Content, reason: str, actor: Any) -> list[int]:
    """Cancel open deliveries; return the ids of sent deliveries to delete on their platforms."""
    if not reason or not reason.strip():
        raise Invalid("撤回必须填写原因", details={"reason": ["必填"]})
    if content.status is ContentStatus.withdrawn:
        raise Conflict("稿件已撤回")
    if not content_lifecycle.allowed(content.status, ContentStatus.withdrawn):
        raise Conflict("稿件尚未发布，无需撤回；可直接修改或退回")
    content.withdraw_reason = reason.strip()
    content_lifecycle.transition(content, ContentStatus.withdrawn, actor=actor, reason=content.withdraw_reason)
    to_delete = []
    for delivery in db.session.scalars(for_update(sa.select(Delivery).where(Delivery.content_id == content.id))):
        if delivery.status in (DeliveryStatus.pending, DeliveryStatus.retrying, DeliveryStatus.held):
            lifecycle.transition(delivery, DeliveryStatus.cancelled, code="withdrawn", message=CANCELLED_MESSAGE)
        elif delivery.status is DeliveryStatus.manual and delivery.last_error_code != MANUAL_WITHDRAW_CODE:
            # never published by hand as far as we know: nobody should now be asked to publish it
            lifecycle.transition(
                delivery, DeliveryStatus.cancelled, code="withdrawn", message=MANUAL_CANCELLED_MESSAGE, actor=actor
            )
        elif delivery.status in (DeliveryStatus.sent, DeliveryStatus.sending):
            # Outbox: the sweeper queues the platform deletion (a running attempt finishes first).
            delivery.enqueued_at = None
            to_delete.append(delivery.id)
    db.session.flush()
    return to_delete


@dataclass(frozen=True)
class Removal:
    delivery_id: int
    platform: str
    post_id: str
    creds: Credentials


def prepare(delivery_id: int) -> NextStep | Removal:
    """What to delete where, or the outcome when there is no platform call to make (the
    delivery never got out: cancelled; the platform has no delete API: manual)."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status in (DeliveryStatus.withdrawn, DeliveryStatus.cancelled):
        return NextStep("skip")
    if delivery.status is DeliveryStatus.sending and not delivery.platform_post_id:
        return NextStep("retry", delay=5, reason="attempt still running")
    if not delivery.platform_post_id:
        return _move(delivery, DeliveryStatus.cancelled, "withdrawn", CANCELLED_MESSAGE)
    if douyin_rules.keeps_post(delivery):
        delivery.last_error_code = douyin_rules.KEPT_CODE
        delivery.last_error_message = douyin_rules.KEPT_MESSAGE
        audit.record(
            "delivery:withdraw:kept", delivery, after={"reason": "delete_disabled"}, actor_label="system:worker"
        )
        return NextStep("done", reason="kept by the account's setting")
    adapter = channels.adapter_for(delivery.account.platform.value)
    if not adapter.supports("withdraw"):
        return _move(delivery, DeliveryStatus.manual, MANUAL_WITHDRAW_CODE, NO_DELETE_API_MESSAGE)
    if not lifecycle.allowed(delivery.status, DeliveryStatus.withdrawn):
        return NextStep("skip", reason=f"nothing to delete while {delivery.status.value}")
    return Removal(
        delivery.id, delivery.account.platform.value, delivery.platform_post_id, load_creds(delivery.account)
    )


def _move(delivery: Delivery, to: DeliveryStatus, code: str, message: str) -> NextStep:
    if not lifecycle.allowed(delivery.status, to):
        return NextStep("skip", reason=f"cannot go from {delivery.status.value} to {to.value}")
    lifecycle.transition(delivery, to, code=code, message=message)
    return NextStep("done")


def ask(removal: Removal) -> AdapterError | None:
    """The platform call; no transaction is open and nothing here reads the database."""
    try:
        wechat_mass.withdraw_of(channels.adapter_for(removal.platform), removal.creds, removal.post_id)
    except AdapterError as exc:
        return exc
    return None


def record(removal: Removal, error: AdapterError | None) -> NextStep:
    delivery = db.session.scalar(for_update(sa.select(Delivery).where(Delivery.id == removal.delivery_id)))
    if (
        delivery is None
        or delivery.platform_post_id != removal.post_id
        or not lifecycle.allowed(delivery.status, DeliveryStatus.withdrawn)
    ):
        return NextStep("skip", reason="settled while the platform was asked")
    if error is None:
        delivery.withdrawn_at = utcnow()
        message = wechat_mass.WITHDRAW_DETAIL if wechat_mass.is_mass(removal.post_id) else "已从平台删除"
        lifecycle.transition(delivery, DeliveryStatus.withdrawn, message=message)
        return NextStep("done")
    decision = retry_policy.after_withdraw_error(error, retry_policy.Policy.from_config())
    if decision.action == retry_policy.MANUAL:
        lifecycle.transition(delivery, DeliveryStatus.manual, code=decision.code, message=decision.message)
        return NextStep("done")
    delivery.last_error_code = decision.code
    delivery.last_error_message = decision.message
    if decision.action == retry_policy.RETRY:
        return NextStep("retry", delay=decision.delay)
    audit.record("delivery:withdraw:failed", delivery, after={"code": error.code}, actor_label="system:worker")
    return NextStep("done")
