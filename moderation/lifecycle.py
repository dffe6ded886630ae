"""The content lifecycle: every change of ``Content.status`` goes through this module.

``TRANSITIONS`` is the one table of allowed moves — the three reviews, editing, and the
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
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from common.errors import Conflict
from extensions import db
from moderation.models import CONTENT_STATUS_LABELS, Content, ContentStatus

S = ContentStatus


@dataclass(frozen=True)
class Edge:
    source: ContentStatus
    target: ContentStatus
    event: str  # what makes the move: a review action, edit, claim, roll_up, retry, withdraw
    audit: str  # the audit tag recorded with it
    by: str  # who or what makes it (for the docs)


def _edges() -> tuple[Edge, ...]:
    review = (S.review_1, S.review_2, S.review_3)
    editable = (S.draft, S.rejected, *review, S.approved, S.scheduled)
    withdrawable = (S.approved, S.scheduled, S.publishing, S.published, S.partly_failed, S.failed)
    return (
        Edge(S.draft, S.review_1, "submit", "content:submit", "运营人员提交"),
        Edge(S.rejected, S.review_1, "submit", "content:submit", "运营人员提交"),
        Edge(S.review_1, S.review_2, "approve_1", "content:review:approve_1", "初审通过"),
        Edge(S.review_2, S.review_3, "approve_2", "content:review:approve_2", "复审通过"),
        Edge(S.review_3, S.approved, "approve_3", "content:review:approve_3", "终审通过"),
        Edge(S.review_3, S.scheduled, "approve_3", "content:review:approve_3", "终审通过（发布时间在将来）"),
        *(Edge(s, S.rejected, "reject", "content:review:reject", "审核退回") for s in review),
        *(Edge(s, S.draft, "edit", "content:edit", "运营人员修改") for s in editable),
        Edge(S.approved, S.publishing, "claim", "content:publish:claim", "调度器认领"),
        Edge(S.scheduled, S.publishing, "claim", "content:publish:claim", "调度器认领"),
        *(
            Edge(S.publishing, s, "roll_up", f"content:publish:{s.value}", "各渠道发送结束（汇总）")
            for s in (S.published, S.partly_failed, S.failed)
        ),
        Edge(S.partly_failed, S.publishing, "retry", "content:publish:retry", "运营人员重试失败的发送"),
        Edge(S.failed, S.publishing, "retry", "content:publish:retry", "运营人员重试失败的发送"),
        *(Edge(s, S.withdrawn, "withdraw", "content:status:withdraw", "一键撤回") for s in withdrawable),
    )


TRANSITIONS: dict[tuple[ContentStatus, ContentStatus], Edge] = {(e.source, e.target): e for e in _edges()}
INITIAL = ContentStatus.draft


class IllegalTransition(Conflict):
    """A move the table does not have (HTTP 409 where a request caused it)."""

    def __init__(self, current: ContentStatus, to: ContentStatus) -> None:
        super().__init__(
            f"稿件处于“{CONTENT_STATUS_LABELS[current]}”状态，不能变为“{CONTENT_STATUS_LABELS[to]}”",
            code="invalid_state",
            details={"status": current.value, "to": to.value},
        )
        self.current = current
        self.to = to


def allowed(current: ContentStatus, to: ContentStatus) -> bool:
    return (current, to) in TRANSITIONS


def edge(current: ContentStatus, to: ContentStatus) -> Edge:
    found = TRANSITIONS.get((current, to))
    if found is None:
        raise IllegalTransition(current, to)
    return found


def by_event(event: str) -> dict[ContentStatus, ContentStatus]:
    """source → target of an event's moves (for an event with two targets from one source —
    approve_3 → approved | scheduled — the first listed)."""
    out: dict[ContentStatus, ContentStatus] = {}
    for e in TRANSITIONS.values():
        if e.event == event:
            out.setdefault(e.source, e.target)
    return out


def sources(to: ContentStatus, event: str | None = None) -> tuple[ContentStatus, ...]:
    return tuple(e.source for e in TRANSITIONS.values() if e.target is to and event in (None, e.event))


def transition(
    content: Content,
    to: ContentStatus,
    *,
    actor: Any = None,
    actor_label: str | None = None,
    reason: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> Edge:
    """Move ``content`` to ``to``: check the table, assign, record the audit entry (with
    ``before``/``after`` extras and ``reason``). Raises ``IllegalTransition`` before changing
    anything."""
    current = content.status
    move = edge(current, to)
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
    move = edge(current, to)
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


def table_markdown() -> str:
    """The table as Markdown (docs/review.md embeds it; tests keep the doc in step)."""
    lines = ["| 从 from | 到 to | 事件 event | 审计 audit | 谁/什么 |", "|---|---|---|---|---|"]
    for e in TRANSITIONS.values():
        lines.append(f"| `{e.source.value}` | `{e.target.value}` | `{e.event}` | `{e.audit}` | {e.by} |")
    return "\n".join(lines)
