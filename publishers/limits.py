"""Platform limits as review findings: each target's adapter renders the content at submit.

Registered with moderation's target-checker hook by publishers.init_app, so moderation never imports
publishers (DESIGN.md dependency rules) while reviewers still see, before approving, that a
Weibo text is too long or a WeChat article lacks a cover.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from moderation.checks import CheckFinding, make_finding
from platforms import channels, registered_platforms
from platforms.types import PLATFORM_LABELS
from publishers import rendering
from registry.models import Platform

PLACEHOLDER_URL = "{base}/c/0/preview"


def target_findings(content: Any) -> list[CheckFinding]:
    findings: list[CheckFinding] = []
    seen: set[tuple[str, str]] = set()
    canonical = PLACEHOLDER_URL.format(base=current_app.config["PUBLIC_BASE_URL"].rstrip("/"))
    content_input = rendering.content_input(content, canonical)
    for account in content.targets:
        platform = account.platform.value if isinstance(account.platform, Platform) else str(account.platform)
        if platform not in registered_platforms():
            continue
        result = channels.adapter_for(platform).render(content_input, content.overrides or {})
        label = PLATFORM_LABELS.get(Platform(platform), platform)
        for problem in result.problems:
            key = (platform, problem.code)
            if key in seen:
                continue
            seen.add(key)
            findings.append(
                make_finding(
                    "platform_limit",
                    problem.field,
                    f"{label}：{problem.message}",
                    rule=f"{platform}.{problem.code}",
                )
            )
    return findings
