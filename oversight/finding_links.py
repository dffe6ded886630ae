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


def links_for(finding: Finding) -> dict[str, Any]:
    """``account`` (name, url), ``posts_url``, ``live_post_url`` (the post's page here: its whole
    text, checks and comparison), ``content`` (title, url), ``post_url``, ``inbox_url``,
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
    live_post_id = evidence.get("live_post_id")
    if isinstance(live_post_id, int) and account is not None:
        out["live_post_url"] = url_for("inspection.post_page", post_id=live_post_id)
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


#: what an inactivity finding copies from the registry into its evidence: no sign the platform answered
REGISTRY_COPIES = frozenset({"uid", "followers"})


def shows_comparison(finding: Finding, comparison: dict[str, Any]) -> bool:
    """The registry-versus-platform table, only when the platform's side holds something it saw.
    A finding about posts or comments, an account not authorised, or one silent for 14/90 days
    whose platform returned nothing (or failed, so the figures are the registry's cache) has no
    platform profile: the table would be a column of empty cells or the registry's values again."""
    if (finding.evidence or {}).get("data_source") == "cache":
        return False
    platform = comparison.get("platform") or {}
    return any(value not in (None, "") for key, value in platform.items() if key not in REGISTRY_COPIES)
