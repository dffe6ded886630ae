"""Asking a platform how an accepted post is doing (WeChat publishes asynchronously).

Three steps, run by ``publishers.pipeline.run_poll``: ``read`` (a short read), ``ask`` (the
platform call, no transaction, no database), ``record`` (the answer, under the row lock; a
delivery settled meanwhile — cancelled by a withdrawal, say — is left as it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from platforms import channels, credentials, wechat_mass
from platforms.errors import AdapterError
from platforms.types import Credentials, PublishResult
from publishers import retry_policy
from publishers.attempt import fail, load_creds, record_result
from publishers.models import Delivery, DeliveryStatus
from publishers.shared import NextStep, for_update


@dataclass(frozen=True)
class Question:
    delivery_id: int
    platform: str
    post_id: str
    creds: Credentials


def read(delivery_id: int) -> NextStep | Question:
    """What to ask the platform, or why there is nothing to ask. Writes nothing."""
    row = db.session.execute(
        sa.select(Delivery, credentials.ciphertext_of(Delivery.account_id))
        .where(Delivery.id == delivery_id)
        .options(joinedload(Delivery.account, innerjoin=True))
    ).first()
    delivery, ciphertext = row if row is not None else (None, None)
    if delivery is None or delivery.status is not DeliveryStatus.sending or not delivery.platform_post_id:
        return NextStep("skip")
    creds = load_creds(delivery.account, ciphertext)
    return Question(delivery.id, delivery.account.platform.value, delivery.platform_post_id, creds)


def ask(question: Question) -> tuple[PublishResult | None, AdapterError | None]:
    """The platform call; no transaction is open and nothing here reads the database."""
    try:
        adapter = channels.adapter_for(question.platform)
        return wechat_mass.status_of(adapter, question.creds, question.post_id), None
    except AdapterError as exc:
        return None, exc


def record(question: Question, result: PublishResult | None, error: AdapterError | None) -> NextStep:
    """Record a final answer under the row lock."""
    decision = retry_policy.after_status_error(error, retry_policy.Policy.from_config()) if error else None
    if decision is not None and decision.action == retry_policy.RETRY:
        return NextStep("poll", delay=decision.delay)
    delivery = db.session.scalar(for_update(sa.select(Delivery).where(Delivery.id == question.delivery_id)))
    if (
        delivery is None
        or delivery.status is not DeliveryStatus.sending
        or delivery.platform_post_id != question.post_id
    ):
        return NextStep("skip", reason="settled while the platform was asked")
    if decision is not None or result is None:
        fail(
            delivery,
            decision.code if decision else "status_error",
            decision.message if decision else "平台未返回状态",
            retryable=False,
        )
        return NextStep("done")
    return record_result(delivery, result)
