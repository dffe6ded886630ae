"""Where a finding leads: the account, its posts on the platform, the 稿件, the post, the comments.

The finding page shows these as links, so that the office goes from a 巡检 finding (未经三审发布,
篡改, 平台删除, 互动未回应, 更名/认证主体) to the post, the account and the 整改 work order without
reading internal ids. ``links_for`` reads only what the evidence names and the user may see.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for

from extensions import db
from moderation.models import Content
from oversight.evidence_text import VALUE_LABELS
from oversight.models import Finding, FindingKind
from publishers.models import Delivery

#: kinds whose evidence is about posts or comments, not the account's profile: the
#: registry-versus-platform table has nothing to compare for them.
POST_KINDS = frozenset(
    {
        FindingKind.unreviewed_post,
        FindingKind.tampered,
        FindingKind.post_removed,
        FindingKind.post_check_hit,
        FindingKind.interaction_overdue,
        FindingKind.no_interaction_channel,
    }
)


def links_for(finding: Finding) -> dict[str, Any]:
    """``account`` (name, url), ``posts_url``, ``content`` (title, url), ``post_url``, ``inbox_url``,
    ``channel_url`` (where the unit records its comment/message channels)."""
    evidence = finding.evidence or {}
    out: dict[str, Any] = {}
    account = finding.account
    if account is not None:
        out["account"] = {
            "name": account.name,
            "url": url_for("registry.account_page", account_id=account.id),
        }
        out["posts_url"] = url_for("inspection.account_posts_page", account_id=account.id)
        if finding.kind is FindingKind.interaction_overdue:
            out["inbox_url"] = url_for("interaction.inbox", account_id=account.id, state="unanswered")
        if finding.kind is FindingKind.no_interaction_channel:
            out["channel_url"] = url_for("interaction.channel_page", account_id=account.id)
    delivery_id = evidence.get("delivery_id")
    if isinstance(delivery_id, int):
        row = db.session.execute(
            sa.select(Content.id, Content.title)
            .join(Delivery, Delivery.content_id == Content.id)
            .where(Delivery.id == delivery_id)
        ).first()
        if row is not None:
            out["content"] = {"title": row.title, "url": url_for("publishers.deliveries_page", content_id=row.id)}
    post_url = evidence.get("post_url")
    if isinstance(post_url, str) and post_url.startswith(("http://", "https://")):
        out["post_url"] = post_url
    return out


def readable_comparison(comparison: dict[str, Any]) -> dict[str, Any]:
    """The platform's account status in words (the platform says ``active``, ``banned``, …)."""
    for row in comparison.get("rows", []):
        if row.get("field") == "status" and isinstance(row.get("platform"), str):
            row["platform"] = VALUE_LABELS.get(row["platform"], row["platform"])
    return comparison


def shows_comparison(finding: Finding, comparison: dict[str, Any]) -> bool:
    """The registry-versus-platform table, unless the finding is about posts and the platform's
    profile is not part of its evidence (then every right-hand cell would be empty)."""
    return not (finding.kind in POST_KINDS and comparison.get("platform") is None)
