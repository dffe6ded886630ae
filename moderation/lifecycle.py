"""The content lifecycle: every change of ``Content.status`` goes through this module.

``TABLE`` is the one table of allowed moves — the three reviews, editing, and the
publishing states the deliveries drive. ``transition(content, to, …)`` checks the move against
the table, assigns the status and records the audit entry; ``transition_rows(ids, current,
to, …)`` does the same for rows not loaded as objects (one UPDATE, guarded by the current
status). Nothing else assigns ``Content.status`` (tests/test_state_owners.py scans the code).

Who decides *whether* a move may happen (roles, checks, the hash, 三同步) stays with the caller:
``moderation.review`` for the reviews, ``moderation.service.update_content`` for edits, the
``publishers`` modules for claiming, rolling up and withdrawing. This module only knows which
moves exist. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key

from audit import service as audit
from common import rawsql
from common.statemachine import Edge, IllegalTransition, TransitionTable
from extensions import db
from moderation.models import CONTENT_STATUS_LABELS, Content, ContentStatus

__all__ = [
    "TABLE",
    "Edge",
    "IllegalTransition",
    "allowed",
    "by_event",
    "sources",
    "transition",
    "transition_row_now",
    "transition_rows",
]

S = ContentStatus


def _edges() -> tuple[Edge[ContentStatus], ...]:
    review = (S.review_1, S.review_2, S.review_3)
    editable = (S.draft, S.rejected, *review, S.approved, S.scheduled)
    withdrawable = (S.approved, S.scheduled, S.publishing, S.published, S.partly_failed, S.failed)
    return (
        Edge(S.draft, S.review_1, "content:submit", "运营人员提交", "submit"),
        Edge(S.rejected, S.review_1, "content:submit", "运营人员提交", "submit"),
        Edge(S.draft, S.review_3, "content:submit:light", "简化审核提交（经允许的转载上级已终审稿件）", "submit_light"),
        Edge(
            S.rejected, S.review_3, "content:submit:light", "简化审核提交（经允许的转载上级已终审稿件）", "submit_light"
        ),
        Edge(S.review_1, S.review_2, "content:review:approve_1", "初审通过", "approve_1"),
        Edge(S.review_2, S.review_3, "content:review:approve_2", "复审通过", "approve_2"),
        Edge(S.review_3, S.approved, "content:review:approve_3", "终审通过", "approve_3"),
        Edge(S.review_3, S.scheduled, "content:review:approve_3", "终审通过（发布时间在将来）", "approve_3"),
        *(Edge(s, S.rejected, "content:review:reject", "审核退回", "reject") for s in review),
        *(Edge(s, S.draft, "content:edit", "运营人员修改", "edit") for s in editable),
        Edge(S.approved, S.scheduled, "content:reschedule", "改期到将来（终审通过、尚未发布）", "reschedule"),
        Edge(S.approved, S.publishing, "content:publish:claim", "调度器认领", "claim"),
        Edge(S.scheduled, S.publishing, "content:publish:claim", "调度器认领", "claim"),
        Edge(S.publishing, S.published, "content:publish:published", "各渠道都已发布（汇总）", "roll_up"),
        Edge(S.publishing, S.partly_failed, "content:publish:partly_failed", "部分渠道失败（汇总）", "roll_up"),
        Edge(S.publishing, S.failed, "content:publish:failed", "全部渠道失败（汇总），或没有发布账号", "roll_up"),
        Edge(S.partly_failed, S.publishing, "content:publish:retry", "运营人员重试失败的发送（汇总）", "retry"),
        Edge(S.failed, S.publishing, "content:publish:retry", "运营人员重试失败的发送（汇总）", "retry"),
        *(Edge(s, S.withdrawn, "content:status:withdraw", "一键撤回", "withdraw") for s in withdrawable),
    )


TABLE: TransitionTable[ContentStatus] = TransitionTable("稿件", CONTENT_STATUS_LABELS, _edges())
INITIAL = ContentStatus.draft
allowed = TABLE.allowed
sources = TABLE.sources


def by_event(event: str) -> dict[ContentStatus, ContentStatus]:
    """source → target of an event's moves (for an event with two targets from one source —
    approve_3 → approved | scheduled — the first listed)."""
    out: dict[ContentStatus, ContentStatus] = {}
    for e in TABLE.edges.values():
        if e.event == event:
            out.setdefault(e.source, e.target)
    return out


def transition(
    content: Content,
    to: ContentStatus,
    *,
    actor: Any = None,
    actor_label: str | None = None,
    reason: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> Edge[ContentStatus]:
    """Move ``content`` to ``to``: check the table, assign, record the audit entry (with
    ``before``/``after`` extras and ``reason``). Raises ``IllegalTransition`` before changing
    anything."""
    current = content.status
    move = TABLE.edge(current, to)
    content.status = to
    after_data = {**(after or {}), "status": to.value}
    if reason:
        after_data["reason"] = reason
    audit.record(
        move.audit,
        content,
        before={**(before or {}), "status": current.value},
        after=after_data,
        actor=actor,
        actor_label=actor_label,
    )
    return move


def transition_rows(
    content_ids: Iterable[int],
    current: ContentStatus,
    to: ContentStatus,
    *,
    actor: Any = None,
    actor_label: str | None = None,
    reason: str | None = None,
) -> list[int]:
    """Set-based ``transition``: move the contents among ``content_ids`` that are in
    ``current`` to ``to`` with one UPDATE (contents loaded in this session see it too) and
    record an audit entry for each; returns the ids moved. Raises ``IllegalTransition`` if the
    table has no such move."""
    move = TABLE.edge(current, to)
    ids = sorted(set(content_ids))
    if not ids:
        return []
    moved = list(
        db.session.scalars(
            sa.update(Content)
            .where(Content.id.in_(ids), Content.status == current)
            .values(status=to)
            .returning(Content.id)
            .execution_options(synchronize_session="fetch")
        )
    )
    after = {"status": to.value, **({"reason": reason} if reason else {})}
    for content_id in moved:
        audit.record(
            move.audit,
            object_type=Content.__tablename__,
            object_id=content_id,
            before={"status": current.value},
            after=after,
            actor=actor,
            actor_label=actor_label,
        )
    return moved


def transition_row_now(content_id: int, current: ContentStatus, to: ContentStatus, *, actor_label: str) -> bool:
    """``transition_rows`` for one content, for a caller that holds no object of it (the
    delivery hot path's roll-up, ``publishers.lifecycle``): on PostgreSQL the move and its audit
    entry in one statement, the entry appended at once instead of at the commit. Returns whether
    the content was moved (it was still ``current``). Anywhere else, or with the content loaded
    in this session (its object must see the move), it is ``transition_rows``."""
    move = TABLE.edge(current, to)
    conn = db.session.connection()
    if conn.dialect.name != "postgresql" or identity_key(Content, content_id) in db.session.identity_map:
        return bool(transition_rows([content_id], current, to, actor_label=actor_label))
    entry = audit.plain_entry(
        move.audit,
        object_type=Content.__tablename__,
        object_id=content_id,
        before={"status": current.value},
        after={"status": to.value},
        actor_label=actor_label,
    )
    append, params = audit.append_sql(entry, object_id_sql="upd.id::text")
    sql = (
        "WITH upd AS (UPDATE contents SET status = :c_to, updated_at = :c_now"  # noqa: S608  fixed SQL
        " WHERE id = :c_id AND status = :c_current RETURNING id)"
        f" SELECT upd.id FROM upd CROSS JOIN LATERAL {append} AS a"
    )
    params.update(c_id=content_id, c_current=current.value, c_to=to.value, c_now=entry.at)
    return rawsql.first(conn, sql, params) is not None


if __name__ == "__main__":  # python -m moderation.lifecycle: the table for docs/review.md
    print(TABLE.markdown())  # noqa: T201
