"""Response shaping: contents, reviews and check reports as the API schemas (and pages) read them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from extensions import db
from moderation.checking import finding_dict
from moderation.checks import BLOCK
from moderation.models import (
    CONTENT_KIND_LABELS,
    CONTENT_STATUS_LABELS,
    DISCLOSURE_LABELS,
    REVIEW_DECISION_LABELS,
    SUBMIT_STAGE,
    CheckReport,
    Content,
    Review,
)
from moderation.payload import normalize_media_item
from platforms.types import PLATFORM_LABELS


def review_dict(review: Review) -> dict[str, Any]:
    from moderation.review import STAGE_LABELS  # noqa: PLC0415  cycle: review and service import this module

    return {
        "id": review.id,
        "version": review.version,
        "stage": review.stage,
        "stage_label": "提交" if review.stage == SUBMIT_STAGE else STAGE_LABELS.get(review.stage, str(review.stage)),
        "reviewer_id": review.reviewer_id,
        "reviewer_name": review.reviewer.display_name if review.reviewer else None,
        "decision": review.decision.value,
        "decision_label": REVIEW_DECISION_LABELS.get(review.decision, review.decision.value),
        "comment": review.comment,
        "content_hash": review.content_hash,
        "voided": review.voided,
        "at": review.at,
    }


def reviews_of(content: Content) -> list[Review]:
    return list(db.session.scalars(sa.select(Review).where(Review.content_id == content.id).order_by(Review.id)))


def content_dict(content: Content, *, full: bool = True) -> dict[str, Any]:
    from moderation.review import stage_of  # noqa: PLC0415  cycle: review and service import this module
    from moderation.service import linked_group  # noqa: PLC0415  cycle: review and service import this module

    data: dict[str, Any] = {
        "id": content.id,
        "unit_id": content.unit_id,
        "unit_name": content.unit.name if content.unit else None,
        "author_id": content.author_id,
        "author_name": content.author.display_name if content.author else None,
        "title": content.title,
        "summary": content.summary,
        "disclosure": content.disclosure.value,
        "disclosure_label": DISCLOSURE_LABELS[content.disclosure],
        "disclosure_reason": content.disclosure_reason,
        "kind": content.kind.value,
        "kind_label": CONTENT_KIND_LABELS[content.kind],
        "policy_id": content.policy_id,
        "target_ids": sorted(a.id for a in content.targets),
        "publish_at": content.publish_at,
        "status": content.status.value,
        "status_label": CONTENT_STATUS_LABELS[content.status],
        "stage": stage_of(content.status),
        "version": content.version,
        "content_hash": content.content_hash,
        "approved_hash": content.approved_hash,
        "approved_version": content.approved_version,
        "stage_entered_at": content.stage_entered_at,
        "warnings_acknowledged": content.warnings_acknowledged,
        "created_at": content.created_at,
        "updated_at": content.updated_at,
    }
    if full:
        data.update(
            {
                "body_html": content.body_html,
                "body_text": content.body_text,
                "media": [normalize_media_item(m) for m in (content.media or [])],
                "overrides": content.overrides or {},
                "targets": [
                    {
                        "id": a.id,
                        "name": a.name,
                        "platform": a.platform.value,
                        "platform_label": PLATFORM_LABELS[a.platform],
                        "status": a.status.value,
                    }
                    for a in sorted(content.targets, key=lambda a: a.id)
                ],
                "linked_ids": [c.id for c in linked_group(content) if c.id != content.id],
                "reviews": [review_dict(r) for r in reviews_of(content)],
            }
        )
    return data


def report_dict(content: Content, report: CheckReport | None, findings: list[Any] | None = None) -> dict[str, Any]:
    items = report.findings if report is not None else [f.to_dict() for f in (findings or [])]
    return {
        "content_id": content.id,
        "version": report.version if report is not None else content.version,
        "stored": report is not None,
        "blocking": any(f["severity"] == BLOCK for f in items),
        "at": report.at if report is not None else None,
        "findings": [finding_dict(f, content) for f in items],
    }
