"""Small pieces the delivery modules share: row locks, keys, settings, the task outcome, and
what makes a delivery "unresolved" (possibly on the platform without us knowing its id)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from common import pgpool
from extensions import db
from moderation.models import Content
from moderation.service import content_hash
from moderation.service import linked_group as group
from publishers.models import Delivery, DeliveryStatus

AMBIGUOUS_CODES = frozenset({"timeout", "connection_error", "read_timeout"})


@dataclass(frozen=True)
class NextStep:
    """What the task should do next: nothing, retry after ``delay`` seconds, or poll status."""

    action: str  # "done" | "retry" | "poll" | "skip"
    delay: float = 0.0
    reason: str = ""
    #: the account's next delivery, handed on by this one and marked queued: enqueue it
    follower: int | None = None


class KeptConnection:
    """What ``one_connection`` yields: ``check`` before a transaction that follows a platform call."""

    def __init__(self, conn: sa.Connection | None) -> None:
        self.conn = conn

    def check(self) -> None:
        """The connection sat idle while the platform answered: if PostgreSQL ended it meanwhile
        (a restart), drop it now, and the next statement takes a new one from the pool — what the
        pool's check at checkout (``common.pgpool``) would have done."""
        conn = self.conn
        if conn is None or conn.invalidated or conn.dialect.name != "postgresql":
            return
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None and pgpool.ended(dbapi):
            conn.invalidate()


@contextmanager
def one_connection() -> Iterator[KeptConnection]:
    """A task's transactions on one pooled connection: the session is bound to it for the task,
    so each commit ends the transaction but keeps the connection (idle, no transaction open,
    during the platform call) instead of giving it back to the pool and taking it out again for
    the next transaction. A session bound already (the tests' rolled-back session) is left as is."""
    session = db.session()
    if session.bind is not None or session.in_transaction():
        yield KeptConnection(None)
        return
    with db.engine.connect() as conn:
        session.bind = conn
        try:
            yield KeptConnection(conn)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.bind = None


def get(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise LookupError(f"delivery {delivery_id} does not exist")
    return delivery


def for_update(stmt: sa.Select[Any], *, skip_locked: bool = False, of: Any = None) -> sa.Select[Any]:
    """Row locks on PostgreSQL; on SQLite, FOR UPDATE takes the one write lock (common/sqlite.py).

    Locked rows are always read afresh, also when the session keeps objects across commits
    (the publishing tasks turn ``expire_on_commit`` off to save reloads).
    """
    stmt = stmt.execution_options(populate_existing=True)
    return stmt.with_for_update(skip_locked=skip_locked, of=of)


def idempotency_key(content_id: int, version: int, account_id: int) -> str:
    return hashlib.sha256(f"govmedia:{content_id}:{version}:{account_id}".encode()).hexdigest()


def canonical_url(delivery: Delivery | Any) -> str:
    """The public link of a post; it carries the delivery's key so recovery can find the post."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/c/{delivery.content_id}/{delivery.idempotency_key[:12]}"


def setting(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def content_hash_now(content: Content) -> str:
    return content_hash(content)


def linked_group(content: Content) -> list[Content]:
    """三同步: a policy and its 解读 go out together."""

    return group(content)


def not_queued_since(stale: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < stale)


def unresolved(columns: Any = Delivery) -> sa.ColumnElement[bool]:
    """A post that may be on the platform without us knowing its id: a ``sending`` attempt
    (live or abandoned by a dead worker) or a retry after a lost answer. ``columns``: the
    mapped class, or a Core table's (or alias's) ``.c``."""
    d = columns
    return sa.and_(
        d.platform_post_id.is_(None),
        sa.or_(
            d.status == DeliveryStatus.sending,
            sa.and_(d.status == DeliveryStatus.retrying, d.last_error_code.in_(AMBIGUOUS_CODES)),
        ),
    )


def is_unresolved(delivery: Delivery | Any) -> bool:
    """``unresolved()`` for a loaded row."""
    return delivery.platform_post_id is None and (
        delivery.status is DeliveryStatus.sending
        or (delivery.status is DeliveryStatus.retrying and delivery.last_error_code in AMBIGUOUS_CODES)
    )
