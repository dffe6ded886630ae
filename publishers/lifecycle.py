"""The delivery lifecycle: every change of ``Delivery.status`` goes through this module.

``TABLE`` is the one table of allowed moves; ``transition(delivery, to, …)`` checks a
move against it, assigns the status (and the error code/message that explain it), records the
audit entry, and — when the delivery opens or settles — rolls its content's status up through
``moderation.lifecycle`` (``roll_up``). Nothing else assigns ``Delivery.status``
(tests/test_state_owners.py scans the code). New deliveries start in ``INITIAL``.

Which move happens when is decided elsewhere: the attempt (``publishers.attempt``), the retry
policy (``publishers.retry_policy``), the poll, the withdrawal and the operator's manual steps.
Services flush, never commit.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from audit.models import AuditEntry
from common import rawsql
from common.statemachine import Edge, IllegalTransition, TransitionTable
from extensions import db
from moderation import lifecycle as content_lifecycle
from moderation.models import Content, ContentStatus
from publishers import credential_health
from publishers.models import DELIVERY_STATUS_LABELS, Delivery, DeliveryStatus
from publishers.shared import for_update

__all__ = ["TABLE", "IllegalTransition", "allowed", "content_status_for", "move_row", "roll_up", "transition"]

D = DeliveryStatus
INITIAL = DeliveryStatus.pending
OPEN_STATUSES = (D.pending, D.sending, D.retrying, D.held)
FINAL_STATUSES = (D.sent, D.failed, D.cancelled, D.withdrawn, D.manual)
#: what counts as delivered when the content's status is rolled up
DELIVERED = (D.sent, D.manual)


def _edges() -> tuple[Edge[DeliveryStatus], ...]:
    def status(s: DeliveryStatus) -> str:
        return f"delivery:status:{s.value}"

    return (
        Edge(D.pending, D.sending, status(D.sending), "任务进程开始发送（检查通过，取得租约）"),
        Edge(D.retrying, D.sending, status(D.sending), "任务进程重试发送"),
        Edge(D.sending, D.sending, status(D.sending), "租约过期后接手（先向平台核实），或继续查询平台处理结果"),
        Edge(D.sending, D.sent, status(D.sent), "平台已发布"),
        Edge(D.sending, D.retrying, status(D.retrying), "可重试的错误（按错误类型，见 retry_policy）"),
        Edge(D.sending, D.failed, status(D.failed), "永久错误、重试用尽、平台审核不通过或发送前检查不通过"),
        Edge(D.pending, D.failed, status(D.failed), "发送前检查不通过（账号、指纹、公开属性）"),
        Edge(D.retrying, D.failed, status(D.failed), "发送前检查不通过（账号、指纹、公开属性）"),
        Edge(D.sending, D.manual, status(D.manual), "平台无接口：人工发布或人工删除"),
        Edge(D.sending, D.withdrawn, status(D.withdrawn), "平台上已删除（查询结果或撤回）"),
        Edge(D.pending, D.cancelled, status(D.cancelled), "稿件撤回，取消发送"),
        Edge(D.retrying, D.cancelled, status(D.cancelled), "稿件撤回，取消发送"),
        Edge(D.sending, D.cancelled, status(D.cancelled), "稿件撤回后，接手的发送不再发出"),
        Edge(D.sent, D.withdrawn, status(D.withdrawn), "撤回：已从平台删除"),
        Edge(D.sent, D.manual, status(D.manual), "撤回：平台无删除接口，转人工删除"),
        Edge(D.failed, D.pending, "delivery:status:retry", "运营人员点“重试”"),
        Edge(D.manual, D.sent, "delivery:manual:sent", "运营人员确认已人工发布"),
        Edge(D.manual, D.withdrawn, "delivery:manual:withdrawn", "运营人员确认已人工删除"),
        Edge(D.manual, D.cancelled, status(D.cancelled), "稿件撤回，取消尚未完成的人工发布"),
        Edge(D.pending, D.held, status(D.held), "抖音代发：须由人发起（账号未登记为本单位自有/签约）"),
        Edge(D.retrying, D.held, status(D.held), "抖音代发：须由人发起（账号未登记为本单位自有/签约）"),
        Edge(D.held, D.pending, "delivery:started", "运营人员确认目标账号并发起发送"),
        Edge(D.held, D.cancelled, status(D.cancelled), "稿件撤回，取消发送"),
        Edge(D.held, D.failed, status(D.failed), "发送前检查不通过（如账号设为不同步）"),
    )


TABLE: TransitionTable[DeliveryStatus] = TransitionTable("发送记录", DELIVERY_STATUS_LABELS, _edges())
allowed = TABLE.allowed


def transition(
    delivery: Delivery,
    to: DeliveryStatus,
    *,
    code: str | None = None,
    message: str | None = None,
    actor: Any = None,
    actor_label: str | None = None,
    after: Mapping[str, Any] | None = None,
) -> Edge[DeliveryStatus]:
    """Move ``delivery`` to ``to``: check the table, assign (with ``code``/``message`` as its
    last error, where given), record the audit entry, roll the content up when the delivery
    opens or settles. Raises ``IllegalTransition`` before changing anything."""
    current = delivery.status
    move = TABLE.edge(current, to)
    delivery.status = to
    if code is not None:
        delivery.last_error_code = code
    if message is not None:
        delivery.last_error_message = message
    label = actor_label or (None if actor is not None else "system:worker")
    audit.record(
        move.audit,
        delivery,
        before={"status": current.value},
        after={"status": to.value, "code": code, "post_id": delivery.platform_post_id, **(after or {})},
        actor=actor,
        actor_label=label,
    )
    if current not in OPEN_STATUSES or to not in OPEN_STATUSES:
        roll_up(delivery.content_id, actor=actor, actor_label=label)
    return move


def content_status_for(statuses: list[DeliveryStatus]) -> ContentStatus | None:
    """What a content's deliveries say its status is (None: no deliveries)."""
    if not statuses:
        return None
    if any(s in OPEN_STATUSES for s in statuses):
        return ContentStatus.publishing
    ok = sum(1 for s in statuses if s in DELIVERED)
    if ok == len(statuses):
        return ContentStatus.published
    return ContentStatus.partly_failed if ok else ContentStatus.failed


def roll_up(content_id: int, *, actor: Any = None, actor_label: str | None = None) -> ContentStatus | None:
    """Content status follows its deliveries (a withdrawn content stays withdrawn); returns
    the status moved to, if any. The move goes through ``moderation.lifecycle`` and its table."""
    # Lock the content first: the workers finishing its last two deliveries at the same moment
    # then take turns, and the second sees the first one's result (no content left "publishing").
    status = db.session.scalar(for_update(sa.select(Content.status).where(Content.id == content_id)))
    if status is None or status is ContentStatus.withdrawn:
        return None
    new = content_status_for(
        list(db.session.scalars(sa.select(Delivery.status).where(Delivery.content_id == content_id)))
    )
    if new is None or new is status:
        return None
    content_lifecycle.transition_rows([content_id], status, new, actor=actor, actor_label=actor_label)
    return new


# ----------------------------------------------------------------------------- Core hot path


@dataclass(frozen=True)
class Moved:
    """What ``move_row`` did besides the move: the follower it handed the account on to, and
    (asked for with ``awaiting``) the account's other posts awaiting the platform's answer."""

    follower: int | None = None
    awaiting: tuple[int, ...] = ()


_DELIVERIES = Delivery.__table__
#: the account's next waiting delivery, if not queued recently (``claim._next_waiting``, as SQL)
_NEXT_WAITING_SQL = (
    "id = (SELECT w.id FROM deliveries w WHERE w.account_id = :account AND w.id <> :id"
    " AND (w.status = 'pending' OR (w.status = 'retrying' AND w.next_attempt_at <= :now))"
    " ORDER BY w.id LIMIT 1) AND (enqueued_at IS NULL OR enqueued_at < :stale)"
)


def move_row(
    row: Any,
    to: DeliveryStatus | None,
    *,
    now: datetime,
    values: Mapping[str, Any] | None = None,
    expect: Mapping[str, Any] | None = None,
    code: str | None = None,
    message: str | None = None,
    after: Mapping[str, Any] | None = None,
    hand_on: datetime | None = None,
    awaiting: bool = False,
    account_success: bool = False,
) -> Moved | None:
    """``transition`` for the delivery hot path, without loading the row into the session:
    one UPDATE that checks the row is still ``row.status`` (and each ``expect`` column its
    value), together — on PostgreSQL in the same statement — with the audit entry, the roll-up of
    the content's status (``delivery_siblings``, migration h16_land_delivery_siblings) and, with ``hand_on`` (the
    "queued before" limit: ``ENQUEUE_STALE_SECONDS`` ago), the account's next waiting delivery
    marked queued; with ``awaiting``, the account's other posts awaiting the platform's answer
    (``account_awaiting``, read under the account's lock: see publishers.poll). ``to`` None: only
    ``values`` change (no move, no entry); with ``account_success``, the account's last success
    is noted as ``credential_health.note_platform_answer(ok=True)`` does. ``row``: plain data
    with ``id``, ``content_id``, ``account_id``, ``status`` and ``platform_post_id``. Returns
    None, having written nothing, if the row was no longer as expected: the caller goes the
    ORM way (``transition``) under the row lock."""
    current = row.status
    move = TABLE.edge(current, to) if to is not None else None
    sets: dict[str, Any] = {**(values or {}), "updated_at": now}
    if to is not None:
        sets["status"] = to.value
    if code is not None:
        sets["last_error_code"] = code
    if message is not None:
        sets["last_error_message"] = message
    label = "system:worker"
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    entry: audit.PlainEntry | None = None  # PostgreSQL: appended in the move's own statement
    orm_entry: AuditEntry | None = None  # SQLite: queued for the commit
    if move is not None and to is not None:
        post_id = sets.get("platform_post_id", row.platform_post_id)
        fields: dict[str, Any] = {
            "object_type": _DELIVERIES.name,
            "object_id": row.id,
            "before": {"status": current.value},
            "after": {"status": to.value, "code": code, "post_id": post_id, **(after or {})},
            "actor_label": label,
        }
        if postgres:
            entry = audit.plain_entry(move.audit, **fields)
        else:
            orm_entry = audit.new_entry(move.audit, **fields)
    settles = to is not None and (current not in OPEN_STATUSES or to not in OPEN_STATUSES)
    if postgres:
        siblings = _move_in_one_statement(
            conn,
            row,
            current=current,
            sets=sets,
            expect=expect or {},
            entry=entry,
            settles=settles,
            hand_on=hand_on,
            now=now,
            awaiting=awaiting,
            account_success=account_success,
        )
        if siblings is None:
            return None
        follower, content_status, statuses, others = siblings
        if settles and to is not None:
            _roll_up_from(row.content_id, content_status, [*statuses, to], label)
        return Moved(follower, others)
    # SQLite (serial writers): the same writes, one statement each
    where = [_DELIVERIES.c.id == row.id, _DELIVERIES.c.status == current]
    where += [
        _DELIVERIES.c[col] == value if value is not None else _DELIVERIES.c[col].is_(None)
        for col, value in (expect or {}).items()
    ]
    typed = {col: (DeliveryStatus(value) if col == "status" else value) for col, value in sets.items()}
    if conn.execute(sa.update(_DELIVERIES).where(*where).values(**typed)).rowcount != 1:
        return None
    if orm_entry is not None:
        audit.queue(orm_entry)
    if account_success:
        conn.execute(
            sa.text(credential_health.success_sql("(SELECT 1) AS one")), {"hc_account": row.account_id, "hc_now": now}
        )
    follower = None
    if hand_on is not None:
        follower = conn.execute(
            _sql(f"UPDATE deliveries SET enqueued_at = :now WHERE {_NEXT_WAITING_SQL} RETURNING id"),  # noqa: S608
            {"now": now, "stale": hand_on, "account": row.account_id, "id": row.id},
        ).scalar()
    if settles:
        roll_up(row.content_id, actor_label=label)
    return Moved(follower, awaiting_others(row.account_id, [row.id]) if awaiting else ())


def _move_in_one_statement(
    conn: Any,
    row: Any,
    *,
    current: DeliveryStatus,
    sets: Mapping[str, Any],
    expect: Mapping[str, Any],
    entry: Any,
    settles: bool,
    hand_on: datetime | None,
    now: datetime,
    awaiting: bool,
    account_success: bool,
) -> tuple[int | None, str | None, list[DeliveryStatus], tuple[int, ...]] | None:
    params: dict[str, Any] = {"id": row.id, "current": current.value, "now": now}
    assignments = []
    for col, value in sets.items():
        params[f"v_{col}"] = value
        assignments.append(f"{col} = :v_{col}")
    conditions = ["id = :id", "status = :current"]
    for col, value in expect.items():
        if value is None:
            conditions.append(f"{col} IS NULL")
        else:
            params[f"e_{col}"] = value
            conditions.append(f"{col} = :e_{col}")
    # The SQL is made of this module's fragments and the callers' column names; values are bound.
    update = f"UPDATE deliveries SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"  # noqa: S608
    ctes = [f"upd AS ({update} RETURNING id)"]
    follower = "NULL::integer"
    if hand_on is not None:
        params.update(stale=hand_on, account=row.account_id)
        ctes.append(
            "nxt AS (UPDATE deliveries SET enqueued_at = :now WHERE EXISTS (SELECT 1 FROM upd) AND "  # noqa: S608
            f"{_NEXT_WAITING_SQL} RETURNING id)"
        )
        follower = "(SELECT id FROM nxt)"
    if account_success:
        params.update(hc_account=row.account_id, hc_now=now)
        ctes.append(f"hc AS ({credential_health.success_sql('upd')})")
    joins = ""
    if entry is not None:
        append, audit_params = audit.append_sql(entry, object_id_sql="upd.id::text")
        params.update(audit_params)
        joins += f" CROSS JOIN LATERAL {append} AS a"
    rolled = "NULL::text, NULL::text[]"
    if settles:
        params["content"] = row.content_id
        joins += " CROSS JOIN LATERAL delivery_siblings(:content, upd.id) AS s"
        rolled = "s.content_status, s.statuses"
    others = "NULL::integer[]"
    if awaiting:
        params["account"] = row.account_id
        others = "account_awaiting(:account, ARRAY[upd.id])"
    sql = f"WITH {', '.join(ctes)} SELECT upd.id, {follower}, {rolled}, {others} FROM upd{joins}"  # noqa: S608
    found = rawsql.first(conn, sql, params)
    if found is None:
        return None
    _, follower_id, content_status, statuses, other_ids = found
    return follower_id, content_status, [DeliveryStatus(s) for s in statuses or ()], tuple(other_ids or ())


def awaiting_others(account_id: int, known: list[int]) -> tuple[int, ...]:
    """The account's deliveries accepted by the platform and awaiting its answer, other than
    ``known``; on PostgreSQL read under the account's row lock (``account_awaiting``)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        row = rawsql.first(
            conn,
            "SELECT account_awaiting(:account, CAST(:known AS integer[]))",
            {"account": account_id, "known": known},
        )
        return tuple((row[0] if row else None) or ())
    d = _DELIVERIES.c
    return tuple(
        conn.execute(
            sa.select(d.id)
            .where(
                d.account_id == account_id,
                d.status == DeliveryStatus.sending,
                d.platform_post_id.is_not(None),
                d.id.not_in(known),
            )
            .order_by(d.id)
        ).scalars()
    )


@functools.lru_cache(maxsize=256)
def _sql(text: str) -> sa.TextClause:
    """``sa.text`` once per statement shape: parsing its bind parameters costs more than running
    the hot path's Python."""
    return sa.text(text)


def _roll_up_from(content_id: int, content_status: str | None, statuses: list[DeliveryStatus], label: str) -> None:
    """``roll_up`` with the content's status and its deliveries' already read under its lock."""
    if content_status is None:
        return
    status = ContentStatus(content_status)
    new = content_status_for(statuses)
    if status is ContentStatus.withdrawn or new is None or new is status:
        return
    content_lifecycle.transition_row_now(content_id, status, new, actor_label=label)


if __name__ == "__main__":  # python -m publishers.lifecycle: the table for docs/publishing.md
    print(TABLE.markdown())  # noqa: T201
