"""Asking a platform how accepted posts are doing (WeChat and Douyin publish asynchronously).

One poll reads every post of an account that the platform accepted and has not yet finished,
so an account with several posts in the platform's hands costs one task per round, not one
per post. A delivery accepted while another of its account awaits joins that account's poll
(``lifecycle.move_row(…, awaiting=True)``); a poll that finds nothing pending any more asks
once more, under the account's lock, whether a post joined meanwhile before it stops
(``lifecycle.awaiting_others``). A post whose poll was lost all the same is picked up when its
lease ends (the sweeper).

Three steps, run by ``publishers.pipeline.run_poll``: ``read`` (one short read), ``ask`` (the
platform calls, no transaction, no database), ``record`` (each final answer in one statement
with its audit entry and the content's roll-up; a delivery settled meanwhile — cancelled by a
withdrawal, say — is left as it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from common.db import utcnow
from extensions import db
from platforms import channels, credentials, wechat_mass
from platforms.errors import AdapterError
from platforms.types import Credentials, PublishResult
from publishers import lifecycle, retry_policy
from publishers.attempt import fail, record_result
from publishers.models import Delivery, DeliveryStatus
from publishers.shared import NextStep, for_update, setting
from registry.models import Account


@dataclass(frozen=True)
class Question:
    delivery_id: int
    platform: str
    post_id: str
    creds: Credentials
    content_id: int = 0
    account_id: int = 0
    #: what the delivery's page says now (a 群发's progress is written only when it changes)
    message: str | None = None

    # what lifecycle.move_row reads
    @property
    def id(self) -> int:
        return self.delivery_id

    @property
    def status(self) -> DeliveryStatus:
        return DeliveryStatus.sending

    @property
    def platform_post_id(self) -> str:
        return self.post_id


def _awaiting_of_account(delivery_id: int) -> sa.Select[Any]:
    d = Delivery.__table__
    a = Account.__table__
    account = sa.select(d.c.account_id).where(d.c.id == delivery_id).scalar_subquery()
    return (
        sa.select(
            d.c.id,
            d.c.content_id,
            d.c.account_id,
            d.c.platform_post_id,
            d.c.last_error_message,
            a.c.platform,
            credentials.ciphertext_of(a.c.id).label("ciphertext"),
        )
        .join(a, a.c.id == d.c.account_id)
        .where(d.c.account_id == account, d.c.status == DeliveryStatus.sending, d.c.platform_post_id.is_not(None))
        .order_by(d.c.id)
    )


def read(delivery_id: int) -> NextStep | list[Question]:
    """What to ask the platform: every post of ``delivery_id``'s account accepted and awaiting
    the platform's answer (or why there is nothing to ask). Writes nothing."""
    rows = db.session.connection().execute(_awaiting_of_account(delivery_id)).all()
    if not rows:
        return NextStep("skip")
    first = rows[0]
    creds = Credentials.from_mapping(
        credentials.decrypt(first.account_id, first.ciphertext), account_ref=str(first.account_id)
    )
    return [
        Question(
            row.id,
            row.platform.value,
            row.platform_post_id,
            creds,
            row.content_id,
            row.account_id,
            row.last_error_message,
        )
        for row in rows
    ]


def ask(questions: list[Question]) -> list[tuple[PublishResult | None, AdapterError | None]]:
    """The platform calls; no transaction is open and nothing here reads the database."""
    answers: list[tuple[PublishResult | None, AdapterError | None]] = []
    for question in questions:
        try:
            adapter = channels.adapter_for(question.platform)
            answers.append((wechat_mass.status_of(adapter, question.creds, question.post_id), None))
        except AdapterError as exc:
            answers.append((None, exc))
    return answers


def record(questions: list[Question], answers: list[tuple[PublishResult | None, AdapterError | None]]) -> NextStep:
    """Record the final answers; poll again while any post of the account awaits an answer —
    read once per round, under the account's lock: a post answered "pending" but settled
    meanwhile (cancelled by a withdrawal, say) is left as it is, and a post accepted meanwhile
    joins this poll."""
    outcomes = {
        q.delivery_id: _record_one(q, result, error) for q, (result, error) in zip(questions, answers, strict=True)
    }
    settled = [i for i, o in outcomes.items() if o.action != "poll"]
    awaiting = lifecycle.awaiting_others(questions[0].account_id, settled)
    if awaiting:
        delays = [o.delay for i, o in outcomes.items() if o.action == "poll" and i in awaiting]
        return NextStep("poll", delay=max(delays, default=setting("STATUS_POLL_SECONDS", 3)))
    if any(o.action == "done" for o in outcomes.values()):
        return NextStep("done")
    return NextStep("skip", reason="settled while the platform was asked")


def _record_one(question: Question, result: PublishResult | None, error: AdapterError | None) -> NextStep:
    if error is None and result is not None and result.state == "pending":
        progress = result.detail if wechat_mass.is_mass(result.post_id) and result.detail else None
        if progress is None or progress == question.message:
            return NextStep("poll", delay=setting("STATUS_POLL_SECONDS", 3))  # nothing to write
    if error is None and result is not None and result.state == "published":
        now = utcnow()
        values = {"platform_post_id": result.post_id, "sent_at": now}
        if result.url:
            values["platform_url"] = result.url
        expect = {"platform_post_id": question.post_id}
        moved = lifecycle.move_row(
            question, DeliveryStatus.sent, now=now, values=values, expect=expect, account_success=True
        )
        if moved is not None:
            return NextStep("done")
    return _record_under_lock(question, result, error)


def _record_under_lock(question: Question, result: PublishResult | None, error: AdapterError | None) -> NextStep:
    """Any other answer (or a row changed meanwhile), through the ORM under the row lock."""
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
