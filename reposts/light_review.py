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

:func:`preview` tells the unit's operator the same rule in advance, on the 本单位转载任务 page:
conditions 1–3 for a task not yet converted (then “as long as you do not edit it”), all four
for a content already made and not yet submitted — with the reason in words either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from auth.scoping import unit_subtree_ids
from extensions import db
from moderation.light_review import LightReviewDecider, LightReviewGrant
from moderation.models import Content, ContentStatus
from moderation.payload import content_hash
from reposts.models import RepostSourceKind, RepostTarget, RepostTask, RepostUnitSetting
from reposts.service import APPROVED_SOURCE

LIGHT = "转为稿件后走简化审核（终审即可）"
FULL = "转为稿件后需完整三审"


@dataclass(frozen=True)
class ReviewPreview:
    """What the unit's page says before the submit: ``light`` and the reason in words."""

    light: bool
    headline: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"light": self.light, "headline": self.headline, "reason": self.reason}


def _basis_problem(task: RepostTask, unit_id: int) -> tuple[str | None, RepostUnitSetting | None]:
    """Conditions 1–3 for ``unit_id``: (None, the setting) when they hold, else (why not, …)."""
    source = task.source_content
    if task.source_kind is not RepostSourceKind.content or source is None:
        return "来源不是上级单位在本平台已终审的稿件（简化审核只适用于转载上级已终审稿件）", None
    if source.unit_id == unit_id or unit_id not in unit_subtree_ids(source.unit_id):
        return "来源稿件不是本单位上级单位的稿件", None
    if source.status not in APPROVED_SOURCE:
        return "来源稿件已不在已终审状态", None
    row = db.session.get(RepostUnitSetting, unit_id)
    if row is None or not row.light_review_allowed:
        return "网信办未允许本单位对转载上级稿件使用简化审核", row
    if not row.light_review_enabled:
        return "网信办已允许，但本单位未启用简化审核（可在本页下方启用）", row
    return None, row


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
    problem, row = _basis_problem(task, content.unit_id)
    if problem is not None or row is None or task.source_content is None:
        return None
    if content_hash(content) != target.converted_hash:
        return None
    source = task.source_content
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


def preview(task: RepostTask, unit_id: int, content: Content | None = None) -> ReviewPreview | None:
    """What the 本单位转载任务 page says in advance: before the conversion (``content`` None), and
    for the content made from the task while it is still a draft or returned. None once it has been
    submitted (the content's own page tells how it was reviewed)."""
    if content is not None and content.status not in (ContentStatus.draft, ContentStatus.rejected):
        return None
    problem, _ = _basis_problem(task, unit_id)
    if problem is not None:
        return ReviewPreview(False, FULL, problem)
    if content is None:
        return ReviewPreview(
            True,
            LIGHT,
            "来源是上级单位已终审的稿件，网信办已允许、本单位已启用简化审核；转为稿件后不作改动即直接进入终审，"
            "初审、复审记为已省略。改动后需完整三审",
        )
    target = next((t for t in task.targets if t.content_id == content.id and t.converted_hash), None)
    if target is None or content_hash(content) != target.converted_hash:
        return ReviewPreview(False, "提交后需完整三审", "转为稿件后内容已改动，简化审核只适用于未改动的转载")
    return ReviewPreview(
        True, "提交后走简化审核（终审即可）", "稿件与转成时一致，提交后直接进入终审；再作改动则需完整三审"
    )


DECIDER = LightReviewDecider("reposts", decide)
