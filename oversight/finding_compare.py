"""A finding's comparison page data: the registry (台账) next to what the platform showed, field by
field (:func:`side_by_side`, the 对比 table of a finding's page and its API)."""

from __future__ import annotations

from typing import Any

from oversight.findings import INACTIVITY_KINDS, iso_cn
from oversight.models import Finding
from registry.models import STATUS_LABELS as ACCOUNT_STATUS_LABELS

COMPARE_FIELDS = (
    ("name", "账号名称"),
    ("uid", "平台ID"),
    ("subject", "认证主体"),
    ("verified", "是否认证"),
    ("unit", "主办单位"),
    ("status", "状态"),
    ("profile_url", "主页链接"),
    ("last_post_at", "最近发文时间"),
    ("followers", "粉丝数"),
    ("closed_on", "关停日期"),
)


def side_by_side(f: Finding) -> dict[str, Any]:
    """Registry (台账) next to what the platform showed, field by field."""

    evidence = f.evidence or {}
    registry: dict[str, Any] | None = None
    if f.account is not None:
        a = f.account
        registry = {
            "name": a.name,
            "uid": a.platform_uid,
            "subject": a.verified_subject,
            "verified": a.verified,
            "unit": a.unit.name if a.unit is not None else None,
            "status": ACCOUNT_STATUS_LABELS.get(a.status, a.status.value),
            "profile_url": a.profile_url,
            "last_post_at": iso_cn(a.last_post_at),
            "followers": a.followers,
            "closed_on": a.closed_on.isoformat() if a.closed_on else None,
        }
    platform: dict[str, Any] | None = None
    d = f.discovered
    if d is not None:
        platform = {
            "name": d.name,
            "uid": d.platform_uid,
            "subject": d.subject,
            "verified": d.verified,
            "unit": evidence.get("unit_name"),
            "status": (d.raw or {}).get("platform_status"),
            "profile_url": d.profile_url,
            "last_post_at": iso_cn(d.last_post_at),
            "followers": d.followers,
            "closed_on": None,
        }
    elif any(k in evidence for k in ("platform_name", "subject", "last_post_at", "name")):
        platform = {
            "name": evidence.get("platform_name") or evidence.get("name"),
            "uid": evidence.get("uid"),
            "subject": evidence.get("subject") or evidence.get("discovered_subject"),
            "verified": evidence.get("verified"),
            # Inactivity evidence names the registered unit; only reconciliation resolves one.
            "unit": None if f.kind in INACTIVITY_KINDS else evidence.get("unit_name"),
            "status": evidence.get("platform_status"),
            "profile_url": evidence.get("profile_url"),
            "last_post_at": evidence.get("last_post_at"),
            "followers": evidence.get("followers"),
            "closed_on": None,
        }
    rows = []
    for key, label in COMPARE_FIELDS:
        left = registry.get(key) if registry else None
        right = platform.get(key) if platform else None
        differs = (
            registry is not None
            and platform is not None
            and left is not None
            and right is not None
            and (str(left) != str(right))
        )
        if key in ("status", "last_post_at", "followers", "closed_on", "unit"):
            differs = False  # different vocabularies / moments; shown, not compared
        rows.append({"field": key, "label": label, "registry": left, "platform": right, "differs": differs})
    return {"registry": registry, "platform": platform, "rows": rows}
