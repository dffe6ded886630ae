"""What operators do to a delivery by hand: retry a failed one, and confirm the manual
publication or deletion on a platform without an API. Requests call these and commit."""

from __future__ import annotations

from typing import Any

from common.db import utcnow
from common.errors import Conflict, Invalid
from common.validation import URL_MESSAGE, http_url
from extensions import db
from publishers import lifecycle
from publishers.attempt import guard
from publishers.models import Delivery, DeliveryStatus


def retry_delivery(delivery: Delivery, actor: Any) -> Delivery:
    """Back to ``pending`` (the sweeper queues it within seconds); the content rolls back up
    to ``publishing``."""
    if delivery.status is not DeliveryStatus.failed:
        raise Conflict("只有失败的发送可以重试")
    refusal = guard(delivery, delivery.content, delivery.account)
    if refusal is not None:
        raise Conflict(refusal[1], code=refusal[0])
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.enqueued_at = None
    lifecycle.transition(delivery, DeliveryStatus.pending, actor=actor)
    db.session.flush()
    return delivery


def mark_manual_done(delivery: Delivery, actor: Any, url: str | None = None) -> Delivery:
    if delivery.status is not DeliveryStatus.manual:
        raise Conflict("该发送不需要人工处理")
    if url and http_url(url) is None:  # the page form reaches here without the API schema
        raise Invalid(URL_MESSAGE, details={"url": [URL_MESSAGE]})
    if delivery.last_error_code == "manual_withdraw":
        delivery.withdrawn_at = utcnow()
        new = DeliveryStatus.withdrawn
    else:
        delivery.sent_at = utcnow()
        delivery.platform_url = url or delivery.platform_url
        new = DeliveryStatus.sent
    delivery.manual_done_by_id = getattr(actor, "id", None)
    lifecycle.transition(delivery, new, actor=actor)
    return delivery
