"""The lighter review (简化审核): a submit that goes straight to 终审, decided by a higher layer.

moderation imports none of the packages above it, so whether a content may skip 初审 and 复审
is decided by whoever owns the rule and registered per app: ``reposts`` registers a
``LightReviewDecider`` in its ``init_app`` (a content made by 一键转为稿件 from a repost task of
an ancestor unit's approved content, unedited since, with the office's permission and the
unit's choice both on at the moment of the submit). On submit (``moderation.review._submit``)
each decider is asked; the first ``LightReviewGrant`` sends the content along the
``submit_light`` edge (draft|rejected → review_3) and stages 1 and 2 are recorded as Review
rows with decision ``skipped`` and the grant's ``notice`` as comment, and the grant's
``basis`` goes into the ``content:submit:light`` audit entry. No decider, or none granting,
is the ordinary submit to 初审.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context

EXTENSION = "moderation.light_review"
SKIPPED_STAGES = (1, 2)
NOTICE = "简化审核：经网信办允许，初审、复审已省略（转载上级已终审稿件）"


@dataclass(frozen=True)
class LightReviewGrant:
    """Why this submit may go straight to 终审: ``notice`` (what people read on the review
    records and pages) and ``basis`` (what the audit entry keeps: the rule, the setting, ids)."""

    notice: str = NOTICE
    basis: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LightReviewDecider:
    """``decide(content, actor)``: a grant, or None for the ordinary three reviews. Called inside
    the submit, after the checks passed and before anything changes."""

    name: str
    decide: Callable[[Any, Any], LightReviewGrant | None]


def _deciders(app: Flask) -> list[LightReviewDecider]:
    deciders: list[LightReviewDecider] = app.extensions.setdefault(EXTENSION, [])
    return deciders


def register_light_review(app: Flask, decider: LightReviewDecider) -> None:
    deciders = _deciders(app)
    if all(d.name != decider.name for d in deciders):
        deciders.append(decider)


def grant_for(content: Any, actor: Any) -> LightReviewGrant | None:
    """The first grant of the registered deciders (None: the three reviews apply)."""
    if not has_app_context():
        return None
    for decider in tuple(_deciders(current_app)):  # type: ignore[arg-type]
        grant = decider.decide(content, actor)
        if grant is not None:
            return grant
    return None
