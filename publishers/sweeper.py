"""The sweeper: find deliveries nobody has queued recently (lost messages, dead workers) and
posts still on a platform although their content was withdrawn. Reads only; the scheduler's
entry point commits and enqueues (``publishers.pipeline.run_sweep``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from common.db import utcnow
from extensions import db
from moderation.models import Content, ContentStatus
from publishers import douyin_rules
from publishers.models import Delivery, DeliveryStatus
from publishers.shared import not_queued_since, setting, unresolved


def sweep(
    now: datetime | None = None, limit: int = 500, queue_waiting_since: datetime | None = None
) -> tuple[list[int], list[int]]:
    """(deliveries to send, deliveries to delete) that nobody has queued recently.

    To send: ``sending`` whose lease expired (a worker died: the task asks the platform before
    any resend); and, per account that has nothing in flight, the oldest delivery that is
    pending and not queued recently or ``retrying`` and due — the rest of an account's queue
    follows by hand-off (``claim.next_for_account``) rather than being queued only to find the
    account busy. To delete: still on a platform although their content was withdrawn.

    "Not queued recently" counts from the broker's progress, not only the clock: with
    ``queue_waiting_since`` (when the oldest message still waiting in the publishing queue was
    queued; ``tasks.publishing.queue_waiting_since``) a delivery is stale only if it was queued
    ``ENQUEUE_STALE_SECONDS`` before that message too. The queue is first in, first out, so a
    message queued well before the one now at its front has been taken (or lost); one queued
    after it is still waiting its turn behind a long backlog, and queuing it again would only
    make a second task find it taken. An empty queue (None) leaves the clock alone.
    """
    now = now or utcnow()
    lease = timedelta(seconds=setting("SENDING_LEASE_SECONDS", 120))
    progress = now if queue_waiting_since is None else min(now, queue_waiting_since)
    stale = progress - timedelta(seconds=setting("ENQUEUE_STALE_SECONDS", 60))
    not_queued = not_queued_since(stale)
    abandoned = sa.and_(Delivery.status == DeliveryStatus.sending, Delivery.sending_started_at < now - lease)
    # The oldest pending delivery of each account, found in one pass over the pending rows (a
    # hashed subplan), not by one probe per pending row: with thousands pending, a correlated
    # NOT EXISTS made every tick's sweep cost 0.1–1.4 s of database CPU (bench/fanout.py).
    ahead = aliased(Delivery)
    head_of_line = Delivery.id.in_(
        sa.select(sa.func.min(ahead.id)).where(ahead.status == DeliveryStatus.pending).group_by(ahead.account_id)
    )
    send_stmt = (
        sa.select(Delivery.id, Delivery.account_id, Delivery.status)
        .where(
            sa.or_(
                sa.and_(Delivery.status == DeliveryStatus.pending, not_queued, head_of_line),
                abandoned,
                sa.and_(Delivery.status == DeliveryStatus.retrying, Delivery.next_attempt_at <= now, not_queued),
            )
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    candidates = db.session.execute(_claimable(send_stmt)).all()
    in_flight = _in_flight({row.account_id for row in candidates}, now, lease, stale)
    taken: set[int] = set()
    to_send: list[int] = []
    for delivery_id, account_id, status in candidates:
        others = in_flight.get(account_id, set()) - {delivery_id}
        if status is DeliveryStatus.sending:
            to_send.append(delivery_id)  # recovery first; it blocks the account's later posts
            taken.add(account_id)
        elif not others and account_id not in taken:
            to_send.append(delivery_id)
            taken.add(account_id)
    withdraw_stmt = (
        sa.select(Delivery.id)
        .join(Content, Content.id == Delivery.content_id)
        .where(
            Content.status == ContentStatus.withdrawn,
            Delivery.status.in_((DeliveryStatus.sent, DeliveryStatus.sending)),
            Delivery.platform_post_id.is_not(None),
            sa.or_(
                Delivery.last_error_code.is_(None),
                sa.and_(
                    ~Delivery.last_error_code.startswith("withdraw_failed"),
                    Delivery.last_error_code != douyin_rules.KEPT_CODE,
                ),
            ),
            not_queued,
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    return to_send, list(db.session.scalars(_claimable(withdraw_stmt)))


def _claimable(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """On PostgreSQL the sweeper takes its many rows in one statement with ``FOR UPDATE SKIP
    LOCKED`` (held until ``run_sweep`` commits, before enqueueing): a row a worker holds right
    now — it is being sent, recorded or withdrawn — is left to that worker, and a second sweeper
    running at the same moment takes other rows. SQLite (one writer) reads them plainly."""
    if db.session.get_bind().dialect.name != "postgresql":
        return stmt
    return stmt.with_for_update(skip_locked=True, of=Delivery)


def _in_flight(accounts: set[int], now: datetime, lease: timedelta, stale: datetime) -> dict[int, set[int]]:
    """Per account of ``accounts``: its deliveries being sent, queued recently, or unresolved."""
    if not accounts:
        return {}
    live = sa.and_(Delivery.status == DeliveryStatus.sending, Delivery.sending_started_at >= now - lease)
    queued = sa.and_(
        Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.retrying)), Delivery.enqueued_at >= stale
    )
    rows = db.session.execute(
        sa.select(Delivery.account_id, Delivery.id).where(
            Delivery.account_id.in_(sorted(accounts)), sa.or_(live, queued, unresolved())
        )
    )
    busy: dict[int, set[int]] = {}
    for account_id, delivery_id in rows:
        busy.setdefault(account_id, set()).add(delivery_id)
    return busy
