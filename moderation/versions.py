"""Versions of a content: the snapshot each submitted version keeps, and how to find them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from auth.models import User
from extensions import db
from moderation.models import CONTENT_KIND_LABELS, DISCLOSURE_LABELS, Content, ContentKind, ContentVersion, Disclosure
from moderation.payload import content_hash, hash_payload
from platforms.types import PLATFORM_LABELS


def snapshot(content: Content) -> dict[str, Any]:
    """What a version said (for reviewers' diffs); a superset of the hashed payload."""
    payload = hash_payload(content)
    payload.update(
        {
            "version": content.version,
            "disclosure_label": DISCLOSURE_LABELS.get(Disclosure(payload["disclosure"]), payload["disclosure"]),
            "disclosure_reason": content.disclosure_reason,
            "kind_label": CONTENT_KIND_LABELS.get(ContentKind(payload["kind"]), payload["kind"]),
            "targets": [
                {
                    "id": a.id,
                    "name": a.name,
                    "platform": a.platform.value,
                    "platform_label": PLATFORM_LABELS[a.platform],
                }
                for a in sorted(content.targets, key=lambda a: a.id)
            ],
            "publish_at": content.publish_at.isoformat() if content.publish_at else None,
        }
    )
    return payload


def write_version(content: Content, actor: User | None) -> ContentVersion:
    row = ContentVersion(
        content_id=content.id,
        version=content.version,
        title=content.title,
        body_html=content.body_html or "",
        body_text=content.body_text or "",
        snapshot=snapshot(content),
        content_hash=content_hash(content),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    return row


def versions(content: Content) -> list[ContentVersion]:
    return list(
        db.session.scalars(
            sa.select(ContentVersion).where(ContentVersion.content_id == content.id).order_by(ContentVersion.version)
        )
    )


def version_row(content: Content, version: int) -> ContentVersion | None:
    return db.session.scalar(
        sa.select(ContentVersion).where(ContentVersion.content_id == content.id, ContentVersion.version == version)
    )


def previous_version(content: Content, version: int) -> ContentVersion | None:
    return db.session.scalar(
        sa.select(ContentVersion)
        .where(ContentVersion.content_id == content.id, ContentVersion.version < version)
        .order_by(ContentVersion.version.desc())
        .limit(1)
    )


def version_snapshot(content: Content, version: int) -> dict[str, Any] | None:
    """A stored snapshot, or the live content for its current (not yet submitted) version."""
    row = version_row(content, version)
    if row is not None:
        return row.snapshot
    if version == content.version:
        return snapshot(content)
    return None
