"""The one helper every service calls for every state change, and chain verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import Session, SessionTransaction

from audit.models import AuditEntry
from common.db import utcnow
from extensions import db

GENESIS = "0" * 64
# The PostgreSQL advisory lock that serialises appends (audit_append takes it); any constant
# works, it only has to be the same in every process.
_CHAIN_LOCK_KEY = 7_310_421


def _jsonable(value: Any) -> Any:
    """Normalise to what the JSON column will give back, so the hash is reproducible."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def canonical_prefix(entry: AuditEntry | PlainEntry) -> str:
    """The canonical JSON that is hashed, up to where ``prev_hash`` goes.

    The JSON has sorted keys and ``prev_hash`` sorts last, so the whole text is this prefix +
    ``"prev_hash":"<hex>"}``: PostgreSQL's ``audit_append()`` completes it with the head it
    reads under the chain lock, and ``compute_hash`` here (which verification uses) does the same.
    """
    payload = {
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
    }
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return raw[:-1] + ","


def compute_hash(entry: AuditEntry, prev_hash: str) -> str:
    raw = canonical_prefix(entry) + f'"prev_hash":"{prev_hash}"}}'
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    entry: AuditEntry
    # The session transactions (innermost first) the entry was recorded in: rolling back any
    # of them drops it.
    scopes: tuple[SessionTransaction, ...]


@dataclass(frozen=True, slots=True)
class PlainEntry:
    """An entry's values without the ORM object, for a statement that appends the entry itself
    (``append_sql``): building an ``AuditEntry`` costs the delivery hot path more than the
    values do."""

    at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def plain_entry(
    action: str,
    *,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str,
) -> PlainEntry:
    """``new_entry`` as plain values, for ``append_sql`` (the same actor: a request's user, if any)."""
    actor = getattr(g, "user", None) if has_request_context() else None
    return PlainEntry(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )


def new_entry(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: Any = None,
    actor_label: str | None = None,
) -> AuditEntry:
    """An entry, not yet chained nor queued: ``record`` queues it for the commit; a hot path on
    PostgreSQL appends it in its own statement (``append_sql``)."""
    if actor is None and has_request_context():
        actor = getattr(g, "user", None)
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    return AuditEntry(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "username", None) or "system",
        action=action,
        object_type=object_type or "system",
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: Any = None,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one entry when the caller's transaction commits. ``action`` is a tag like
    ``account:status:close``. Never commits.

    The entry is chained (and gets its id) in the transaction's own commit: the chain lock is
    then held for one INSERT and the COMMIT, not for the whole unit of work, so transactions
    of many workers do not queue behind each other. A rolled-back transaction (or savepoint)
    drops the entries recorded in it, as it drops its other changes.
    """
    entry = new_entry(
        action,
        obj,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        actor=actor,
        actor_label=actor_label,
    )
    return queue(entry)


def queue(entry: AuditEntry) -> AuditEntry:
    """Queue an entry made by ``new_entry`` for the current transaction's commit (see ``record``)."""
    session = db.session()
    scopes: list[SessionTransaction] = []
    # begin one if none is open, so that ending it (commit, rollback or close) settles the entry
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    while transaction is not None:
        scopes.append(transaction)
        transaction = transaction.parent
    session.info.setdefault(_PENDING_KEY, []).append(_Pending(entry, tuple(scopes)))
    return entry


def pending() -> list[AuditEntry]:
    """Entries recorded in the current transaction and not yet committed."""
    return [p.entry for p in db.session().info.get(_PENDING_KEY, [])]


_PENDING_KEY = "audit.pending"


@sa.event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's entries wait for the outer commit
    queue: list[_Pending] = session.info.pop(_PENDING_KEY, [])
    if not queue:
        return
    session.flush()  # the unit of work's own writes first, outside the chain lock
    entries = [item.entry for item in queue]
    if session.get_bind().dialect.name == "postgresql":
        _append_in_postgres(session, entries)  # takes the chain lock itself
        return
    # SQLite: FOR UPDATE takes the one write lock before the head is read (common/sqlite.py).
    head = sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1).with_for_update()
    prev = session.scalar(head) or GENESIS
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = prev = compute_hash(entry, prev)
    session.add_all(entries)
    session.flush()


_APPEND = sa.text(
    "SELECT entry_id, entry_prev_hash, entry_hash FROM audit_append(:lock, CAST(:prefix AS text[]), "
    "CAST(:at AS timestamp[]), CAST(:actor_id AS integer[]), CAST(:actor_label AS text[]), "
    "CAST(:action AS text[]), CAST(:object_type AS text[]), CAST(:object_id AS text[]), "
    "CAST(:before AS text[]), CAST(:after AS text[]))"
)


def append_sql(entry: AuditEntry | PlainEntry, object_id_sql: str | None = None) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: ``audit_append(…)`` for one entry, to call inside a statement that makes the
    change it records (its id and hash come back as ``entry_id``/``entry_hash``), so the change
    and its entry take one round trip. ``object_id_sql``: an SQL expression for the object id
    (e.g. ``upd.id::text`` from a ``LATERAL`` join, so no entry is written when nothing changed)."""
    # one-element arrays built in SQL from plain values: psycopg adapts a scalar for a fraction
    # of what a Python list costs it, and this runs once per delivery
    params = {
        "a_lock": _CHAIN_LOCK_KEY,
        "a_prefix": canonical_prefix(entry),
        "a_at": entry.at,
        "a_actor_id": entry.actor_id,
        "a_actor_label": entry.actor_label,
        "a_action": entry.action,
        "a_object_type": entry.object_type,
        "a_before": _dumped(entry.before),
        "a_after": _dumped(entry.after),
    }
    if object_id_sql is None:
        params["a_object_id"] = entry.object_id
        object_id = "ARRAY[CAST(:a_object_id AS text)]"
    else:
        object_id = f"ARRAY[{object_id_sql}]"
    sql = (
        "audit_append(:a_lock, ARRAY[CAST(:a_prefix AS text)], ARRAY[CAST(:a_at AS timestamp)], "
        "ARRAY[CAST(:a_actor_id AS integer)], ARRAY[CAST(:a_actor_label AS text)], "
        "ARRAY[CAST(:a_action AS text)], ARRAY[CAST(:a_object_type AS text)], "
        f"{object_id}, ARRAY[CAST(:a_before AS text)], ARRAY[CAST(:a_after AS text)])"
    )
    return sql, params


def _dumped(value: dict[str, Any] | None) -> str:
    # JSON null for None, as the ORM's JSON type stores it (SQLite path)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _append_in_postgres(session: Session, entries: list[AuditEntry]) -> None:
    """One round trip: lock, read the head, hash and insert (migration d4_audit_append). One
    entry (a commit's usual count) goes as scalars in one-element arrays built in SQL
    (:func:`append_sql`): psycopg escapes every quote of a text in a list parameter through a
    regular expression, which for one large entry (a batch's JSON of thousands of ids) costs
    more than the rest of its commit."""

    if len(entries) == 1:
        sql, params = append_sql(entries[0])
        row = session.execute(
            sa.text(f"SELECT entry_id, entry_prev_hash, entry_hash FROM {sql}"),  # noqa: S608  fixed SQL
            params,
        ).one()
        entries[0].id, entries[0].prev_hash, entries[0].hash = row
        return
    rows = session.execute(
        _APPEND,
        {
            "lock": _CHAIN_LOCK_KEY,
            "prefix": [canonical_prefix(e) for e in entries],
            "at": [e.at for e in entries],
            "actor_id": [e.actor_id for e in entries],
            "actor_label": [e.actor_label for e in entries],
            "action": [e.action for e in entries],
            "object_type": [e.object_type for e in entries],
            "object_id": [e.object_id for e in entries],
            "before": [_dumped(e.before) for e in entries],
            "after": [_dumped(e.after) for e in entries],
        },
    ).all()
    for entry, (entry_id, prev_hash, entry_hash) in zip(entries, rows, strict=True):
        entry.id, entry.prev_hash, entry.hash = entry_id, prev_hash, entry_hash


@sa.event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Drop the entries of what was rolled back: the transaction reported and the enclosing ones
    it took down with it (a failed flush inside a savepoint reports only the flush's own inner
    transaction, while the savepoint is left inactive)."""
    queue: list[_Pending] = session.info.get(_PENDING_KEY, [])
    undone = [previous_transaction]
    parent = previous_transaction.parent
    while parent is not None and not parent.is_active:
        undone.append(parent)
        parent = parent.parent
    if undone[-1].parent is None:
        queue.clear()
    else:
        queue[:] = [p for p in queue if not any(t is u for t in p.scopes for u in undone)]


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_with_the_transaction(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended: its entries were appended (commit) or are void
    (rollback, close) — none may wait for the session's next transaction."""
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    reason: str


def iter_problems() -> Iterator[ChainProblem]:
    prev_hash = GENESIS
    last_id = 0
    while True:
        # Keyset pages: bounded memory, and no cursor left open if the caller stops early.
        batch = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(1000)
        ).all()
        if not batch:
            return
        for entry in batch:
            if entry.prev_hash != prev_hash:
                yield ChainProblem(entry.id, "前序哈希不连续（前一条记录被删除、插入或篡改）")
            elif compute_hash(entry, entry.prev_hash) != entry.hash:
                yield ChainProblem(entry.id, "记录内容与哈希不符（记录被篡改）")
            prev_hash = entry.hash
        last_id = batch[-1].id


def verify() -> tuple[int, ChainProblem | None, str]:
    """Return (entries checked, first problem or None, head hash)."""
    count = 0
    head = GENESIS
    for problem in iter_problems():
        return count, problem, head
    count = db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) or 0
    head = db.session.scalar(sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    return count, None, head
