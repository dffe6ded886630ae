"""The lighter review (简化审核) for reposts of a superior's approved content — the rule.

moderation owns the review and knows nothing of repost tasks (reposts is above it); it asks the
deciders registered with ``moderation.light_review.register_light_review`` at every submit.
``decide`` grants the lighter review — straight to 终审, 初审 and 复审 recorded as omitted — only
when all of these hold at the moment of the submit:

1. the content was made by 一键转为稿件 from a repost task (``RepostTarget.content_id``) whose
   source is a govmedia content (``source_kind`` ``content``);
2. that source belongs to an **ancestor** unit of the content's unit and is still past 终审
   (``service.APPROVED_SOURCE``: approved, scheduled, publishing, published, partly failed);
3. the unit's ``repost_unit_settings`` row has both ``light_review_allowed`` (the office, with
   its recorded note) and ``light_review_enabled`` (the unit) on — withdrawn permission between
   the conversion and the submit means the three reviews;
4. the content's hash (moderation.payload.content_hash: title, summary, body, media, overrides,
   targets, 公开属性, kind) equals ``RepostTarget.converted_hash``, the hash right after the
   conversion — any edit loses the lighter path.

The grant's basis (task, source, setting, who allowed it and the note) goes into the
``content:submit:light`` audit entry.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from auth.scoping import unit_subtree_ids
from extensions import db
from moderation.light_review import LightReviewDecider, LightReviewGrant
from moderation.models import Content
from moderation.payload import content_hash
from reposts.models import RepostSourceKind, RepostTarget, RepostUnitSetting
from reposts.service import APPROVED_SOURCE


def decide(content: Content, actor: Any) -> LightReviewGrant | None:
    """A grant when the content is an unedited, allowed repost of an ancestor's approved content."""
    if content.id is None:
        return None
    target = db.session.scalars(
        sa.select(RepostTarget)
        .where(RepostTarget.content_id == content.id, RepostTarget.converted_hash.is_not(None))
        .order_by(RepostTarget.id)
        .limit(1)
    ).first()
    if target is None:
        return None
    task = target.task
    source = task.source_content
    if task.source_kind is not RepostSourceKind.content or source is None:
        return None
    if source.status not in APPROVED_SOURCE or source.unit_id == content.unit_id:
        return None
    if content.unit_id not in unit_subtree_ids(source.unit_id):
        return None
    row = db.session.get(RepostUnitSetting, content.unit_id)
    if row is None or not (row.light_review_allowed and row.light_review_enabled):
        return None
    if content_hash(content) != target.converted_hash:
        return None
    return LightReviewGrant(
        basis={
            "rule": "repost_of_superior_approved",
            "repost_task_id": task.id,
            "source_content_id": source.id,
            "source_unit_id": source.unit_id,
            "converted_hash": target.converted_hash,
            "allowed_by_id": row.allowed_by_id,
            "allowed_note": row.allowed_note,
            "enabled_by_id": row.enabled_by_id,
        }
    )


DECIDER = LightReviewDecider("reposts", decide)
