"""The publishing pipeline's units of work, each with its own transactions: the only place in
``publishers`` that commits. The Celery tasks (``tasks.publishing``) and the tests call these,
so both run the same transactions; the tasks add only the broker (enqueueing, countdowns).

- ``run_claim``: claim due content, write its deliveries (outbox), commit; the deliveries to
  queue now (the first of each account).
- ``run_delivery``: (A) load, guards, lease, mark ``sending``, render, read credentials —
  commit; the adapter call with no transaction open; (B) record the result or the retry
  policy's decision, hand the account on to its next delivery — commit. Both transactions on
  one pooled connection (``shared.one_connection``), as the poll's.
- ``run_poll``: read the account's posts awaiting the platform — commit (nothing written); ask
  the platform; record — commit.
- ``run_withdraw``: prepare — commit; delete on the platform; record — commit.
- ``run_sweep``: what the sweeper finds to send and to delete (reads only).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from extensions import db
from publishers import attempt, claim, poll, sweeper, withdraw
from publishers.shared import NextStep, one_connection


def run_claim() -> list[int]:
    """Claim due content and commit; returns the deliveries to enqueue now (the rest follow
    by hand-off, or by the sweeper)."""
    ids = claim.claim_due()
    db.session.commit()
    now, _later = claim.first_per_account(ids)
    return now


def run_delivery(delivery_id: int) -> NextStep:
    """One delivery's attempt in two short transactions around the platform call. The
    outcome's ``follower`` is the account's next delivery, marked queued: enqueue it."""
    with one_connection() as kept:
        step = attempt.begin_attempt(delivery_id)
        if isinstance(step, NextStep):
            # Refused, or found accepted earlier: the account is free. A skip (someone else has or
            # had it) or a wait hands nothing on: that would queue the next delivery a second time.
            follower = claim.hand_on(delivery_id) if step.action in ("done", "poll") else None
            db.session.commit()
            return replace(step, follower=follower)
        db.session.commit()
        result, error = attempt.send(step)
        kept.check()
        outcome = attempt.finish_attempt(step, result, error)
        db.session.commit()
        return outcome


def run_poll(delivery_id: int) -> NextStep:
    """One round of the poll of ``delivery_id``'s account: every post of it the platform
    accepted and has not finished (publishers.poll). ``poll``: ask again after ``delay``."""
    with one_connection() as kept:
        questions = poll.read(delivery_id)
        db.session.commit()  # nothing written: no transaction stays open over the network calls
        if isinstance(questions, NextStep):
            return questions
        answers = poll.ask(questions)
        kept.check()
        outcome = poll.record(questions, answers)
        db.session.commit()
        return outcome


def run_withdraw(delivery_id: int) -> NextStep:
    removal = withdraw.prepare(delivery_id)
    db.session.commit()
    if isinstance(removal, NextStep):
        return removal
    error = withdraw.ask(removal)
    outcome = withdraw.record(removal, error)
    db.session.commit()
    return outcome


def run_sweep(queue_waiting_since: datetime | None = None) -> tuple[list[int], list[int]]:
    """(deliveries to send, deliveries to delete on their platforms); ends the read.
    ``queue_waiting_since``: see ``sweeper.sweep``."""
    to_send, to_withdraw = sweeper.sweep(queue_waiting_since=queue_waiting_since)
    db.session.commit()
    return to_send, to_withdraw
