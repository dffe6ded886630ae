"""Content (稿件): create and edit, versions, the content hash, checks, 三同步 groups.

Services flush, never commit; the view (or task) commits. Every function that changes state
validates everything first and only then mutates, so a refusal leaves the objects untouched.

Versioning: a content keeps editing in place until it is first submitted. Once a version has
been submitted (it has a ContentVersion snapshot) or reviewed, the next edit or resubmission
starts a new version; an edit also voids every earlier approval and returns the content to
``draft``. The review steps live in ``moderation.review``; every status change (an edit's
return to draft included) goes through ``moderation.lifecycle``.

The pieces live by responsibility and are re-exported here for callers: ``moderation.payload``
(media items, the hashed payload, the content hash), ``moderation.validation`` (a request into
attribute values), ``moderation.versions`` (snapshots), ``moderation.checking`` (the check hook)
and ``moderation.dumps`` (response shaping).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from audit import service as audit
from auth.models import Role, User
from common.errors import Conflict, Forbidden
from extensions import db
from moderation import attachments, checking, lifecycle
from moderation.checking import (
    NO_TEXT_MESSAGE,
    check_fields,
    check_text,
    field_label,
    finding_dict,
    latest_report,
    store_report,
)
from moderation.checks import CheckFinding, default_pipeline
from moderation.dumps import content_dict, report_dict, review_dict, reviews_of
from moderation.models import (
    CONTENT_STATUS_LABELS,
    PASSING_DECISIONS,
    Content,
    ContentKind,
    ContentStatus,
    ContentVersion,
    Disclosure,
    Review,
)
from moderation.payload import (
    COVER_CROP_LABELS,
    COVER_CROPS,
    HASH_FORMAT,
    MEDIA_ROLE_LABELS,
    MEDIA_ROLES,
    OVERRIDE_KEY_LABELS,
    OVERRIDE_KEYS,
    PUBLISHABLE,
    content_hash,
    hash_payload,
    media_role,
    normalize_media_item,
)
from moderation.target_checks import target_checkers
from moderation.validation import (
    OVERRIDE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    assign,
    changed_fields,
    policy_problem,
    prepare,
    resolve_targets,
    target_problems,
)
from moderation.versions import previous_version, snapshot, version_row, version_snapshot, versions, write_version

__all__ = [
    "ATTACHMENT_TEXT_MAX",
    "AUTHOR_ROLES",
    "COVER_CROPS",
    "COVER_CROP_LABELS",
    "EDITABLE_STATUSES",
    "HASH_FORMAT",
    "MEDIA_ROLES",
    "MEDIA_ROLE_LABELS",
    "NO_TEXT_MESSAGE",
    "OVERRIDE_KEYS",
    "OVERRIDE_KEY_LABELS",
    "OVERRIDE_MAX",
    "PUBLISHABLE",
    "SUMMARY_MAX",
    "TITLE_MAX",
    "attachment_findings",
    "check_fields",
    "check_text",
    "content_dict",
    "content_hash",
    "create_content",
    "field_label",
    "finding_dict",
    "hash_payload",
    "latest_report",
    "linked_group",
    "lock",
    "media_role",
    "needs_new_version",
    "normalize_media_item",
    "policy_problem",
    "previous_version",
    "report_dict",
    "resolve_targets",
    "review_dict",
    "reviews_of",
    "run_checks",
    "snapshot",
    "store_report",
    "target_checkers",
    "target_problems",
    "update_content",
    "version_row",
    "version_snapshot",
    "versions",
    "void_approvals",
    "write_version",
]

log = logging.getLogger("govmedia.moderation")

AUTHOR_ROLES = (Role.operator, Role.admin)
EDITABLE_STATUSES = frozenset(lifecycle.sources(ContentStatus.draft, "edit"))  # from the one table
ATTACHMENT_TEXT_MAX = attachments.TEXT_MAX


# ----------------------------------------------------------------------------- small helpers


def _require_author_role(actor: User) -> None:
    if not actor.has_role(*AUTHOR_ROLES):
        raise Forbidden(
            "只有运营人员可以起草、修改或提交稿件",
            code="wrong_role",
            details={"required_roles": [r.value for r in AUTHOR_ROLES]},
        )


def lock(content: Content) -> None:
    """Serialise state changes of one content (row lock on PostgreSQL; SQLite's write lock, common/sqlite.py)."""
    if content.id is not None:
        db.session.refresh(content, with_for_update=True)


# ----------------------------------------------------------------------------- 三同步


def linked_group(content: Content) -> list[Content]:
    """三同步: a policy and its 解读 are scheduled and published together.

    For a policy or an interpretation: the policy first, then every interpretation naming it
    (by id), leaving out withdrawn interpretations other than ``content`` itself. For news:
    ``[content]``. The publishing pipeline claims a group only when every member is due.
    """
    if content.kind is ContentKind.policy:
        policy: Content | None = content
    elif content.kind is ContentKind.interpretation and content.policy_id is not None:
        policy = db.session.get(Content, content.policy_id)
    else:
        policy = None
    if policy is None:
        return [content]
    interpretations = db.session.scalars(
        sa.select(Content)
        .where(Content.policy_id == policy.id, Content.kind == ContentKind.interpretation)
        .order_by(Content.id)
    ).all()
    members = [policy]
    members.extend(i for i in interpretations if i.status is not ContentStatus.withdrawn or i.id == content.id)
    if content not in members:
        members.append(content)
    return members


# ----------------------------------------------------------------------------- create / edit


def create_content(data: Mapping[str, Any], actor: User) -> Content:
    _require_author_role(actor)
    values = prepare(data, actor, None)
    content = Content(
        author_id=actor.id,
        status=ContentStatus.draft,
        version=1,
        disclosure=Disclosure.active,
        kind=ContentKind.news,
        media=[],
        overrides={},
    )
    assign(content, values)
    db.session.add(content)
    db.session.flush()
    content.content_hash = content_hash(content)
    db.session.flush()
    audit.record(
        "content:create",
        content,
        after={
            "title": content.title,
            "unit_id": content.unit_id,
            "kind": content.kind.value,
            "disclosure": content.disclosure.value,
            "target_ids": sorted(a.id for a in content.targets),
            "version": content.version,
            "hash": content.content_hash,
        },
        actor=actor,
    )
    return content


def needs_new_version(content: Content) -> bool:
    """True once the current version was submitted (snapshot) or reviewed."""
    snap = sa.select(ContentVersion.id).where(
        ContentVersion.content_id == content.id, ContentVersion.version == content.version
    )
    reviewed = sa.select(Review.id).where(Review.content_id == content.id, Review.version == content.version)
    return bool(db.session.scalar(sa.select(sa.exists(snap))) or db.session.scalar(sa.select(sa.exists(reviewed))))


def void_approvals(content: Content) -> list[int]:
    """Mark every standing approval of the content void; returns their ids."""
    rows = db.session.scalars(
        sa.select(Review).where(
            Review.content_id == content.id,
            Review.decision.in_(PASSING_DECISIONS),
            Review.voided.is_(False),
        )
    ).all()
    for row in rows:
        row.voided = True
    return [r.id for r in rows]


def update_content(content: Content, data: Mapping[str, Any], actor: User) -> Content:
    """Edit. After submission this starts a new version, voids approvals and returns to draft."""
    _require_author_role(actor)
    lock(content)
    if content.status not in EDITABLE_STATUSES:
        raise Conflict(
            f"稿件处于“{CONTENT_STATUS_LABELS[content.status]}”状态，不能修改",
            code="not_editable",
            details={"status": content.status.value},
        )
    values = prepare(data, actor, content)
    changed = changed_fields(content, values)
    if not changed:
        return content
    before = {
        "status": content.status.value,
        "version": content.version,
        "hash": content.content_hash,
        "approved_hash": content.approved_hash,
    }
    new_version = needs_new_version(content)
    voided = void_approvals(content)
    assign(content, values)
    if new_version:
        content.version += 1
    content.approved_hash = None
    content.approved_version = None
    content.stage_entered_at = None
    content.warnings_acknowledged = False
    db.session.flush()
    content.content_hash = content_hash(content)
    lifecycle.transition(
        content,
        ContentStatus.draft,
        actor=actor,
        before=before,
        after={
            "version": content.version,
            "hash": content.content_hash,
            "changed": sorted(changed),
            "voided_reviews": voided,
        },
    )
    db.session.flush()
    return content


# ----------------------------------------------------------------------------- checks


def attachment_findings(content: Content) -> list[CheckFinding]:
    """A ``warn`` per attachment the checks could not (fully) read (``moderation.checking``)."""
    return checking.attachment_findings(content, ATTACHMENT_TEXT_MAX)


def run_checks(content: Content) -> list[CheckFinding]:
    """All automated checks of one content: text checks, media files, platform limits."""
    extra = checking.media_findings(content) + attachment_findings(content) + checking.run_target_checkers(content)
    return default_pipeline().run(check_fields(content), extra=extra)
