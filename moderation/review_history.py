"""我审核过的: a reviewer's own decisions, newest first.

Read from the ``Review`` rows the review state machine (``moderation.review``) writes — this
module only reads them. Only approve/reject rows (the submit rows and the stages skipped under a
lighter review are not decisions of the reviewer), only for contents in the reviewer's units
(``auth.scoping.scope_filter``, the same scope as every other content list).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from auth.models import User
from auth.scoping import scope_filter
from common.errors import Forbidden
from moderation.dumps import review_dict
from moderation.models import CONTENT_STATUS_LABELS, REVIEWER_DECISIONS, Content, Review
from moderation.review import reviewer_stages


def require_reviewer(user: User) -> list[int]:
    """The user's review stages; 403 ``wrong_role`` without any."""
    stages = reviewer_stages(user)
    if not stages:
        raise Forbidden("您没有审核角色（初审 / 复审 / 终审），没有审核记录", code="wrong_role")
    return stages


def history_statement(user: User, stage: int | None = None) -> sa.Select[Any]:
    """The user's approve/reject decisions on contents in their scope, newest first."""
    stmt = (
        sa.select(Review)
        .join(Review.content)
        .options(contains_eager(Review.content))
        .where(
            Review.reviewer_id == user.id,
            Review.decision.in_(REVIEWER_DECISIONS),
            scope_filter(user, Content.unit_id),
        )
        .order_by(Review.at.desc(), Review.id.desc())
    )
    if stage is not None:
        stmt = stmt.where(Review.stage == stage)
    return stmt


def history_item(review: Review) -> dict[str, Any]:
    """One decision with what became of the content since."""
    content = review.content
    return {
        **review_dict(review),
        "content_id": content.id,
        "title": content.title,
        "unit_id": content.unit_id,
        "unit_name": content.unit.name if content.unit else None,
        "content_version": content.version,
        "content_status": content.status.value,
        "content_status_label": CONTENT_STATUS_LABELS[content.status],
    }
