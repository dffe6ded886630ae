"""The check hook: which texts of a content the checks read, media and platform-limit findings,
free-text checks, stored reports, and labels for the findings a person reads.

``moderation.service.run_checks`` runs them all over one content.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import has_app_context

from common import media as media_store
from extensions import db
from moderation import attachments
from moderation.checks import BLOCK, KIND_LABELS, SEVERITY_LABELS, WARN, CheckFinding, default_pipeline, make_finding
from moderation.models import CheckReport, Content, ContentKind, ContentStatus, Disclosure
from moderation.payload import (
    MEDIA_ROLE_LABELS,
    OVERRIDE_KEY_LABELS,
    OVERRIDE_KEYS,
    PUBLISHABLE,
    SHA256_PATTERN,
    normalize_media_item,
)
from moderation.sanitize import image_alts, links, text_to_html
from moderation.target_checks import target_checkers
from platforms.types import PLATFORM_LABELS
from registry.models import Account, AccountStatus, Platform

log = logging.getLogger("govmedia.moderation")

NO_TEXT_MESSAGE = "附件无法提取文字，须人工核对"


def check_fields(content: Content) -> dict[str, str]:
    """The texts the checks read: title, summary, body text, image/attachment texts, overrides."""
    fields: dict[str, str] = {
        "title": content.title or "",
        "summary": content.summary or "",
        "body": content.body_text or "",
    }
    for index, link in enumerate(links(content.body_html)):
        fields[f"body_link:{index}"] = link
    for index, alt in enumerate(image_alts(content.body_html)):
        fields[f"body_image_alt:{index}"] = alt
    for index, item in enumerate(content.media or []):
        m = normalize_media_item(item)
        if m["alt"]:
            fields[f"image_alt:{index}"] = m["alt"]
        if m["text"]:
            fields[f"attachment:{index}"] = m["text"]
    for platform in sorted(content.overrides or {}):
        entry = content.overrides[platform]
        entry = {"text": entry} if isinstance(entry, str) else entry
        for key in OVERRIDE_KEYS:
            if entry.get(key):
                fields[f"override:{platform}:{key}"] = entry[key]
    return fields


def media_findings(content: Content) -> list[CheckFinding]:
    if not has_app_context() or not content.media:
        return []
    folder = media_store.media_dir()
    findings = []
    for index, item in enumerate(content.media):
        m = normalize_media_item(item)
        if not SHA256_PATTERN.match(m["sha256"]) or not (folder / m["sha256"]).exists():
            findings.append(
                make_finding(
                    "media",
                    f"media:{index}",
                    f"{MEDIA_ROLE_LABELS[m['role']]}“{m['name']}”的文件不存在，请重新上传",
                    rule="media.missing",
                    text=m["name"],
                )
            )
    return findings


def attachment_findings(content: Content, text_max: int = attachments.TEXT_MAX) -> list[CheckFinding]:
    """A ``warn`` for each attachment the checks could not (fully) read from its file.

    No text layer (a scanned PDF, a legacy .doc, an image sent as an attachment): the checks
    only saw what the operator typed in, if anything, so a reviewer must read the file. A text
    cut at ``text_max`` characters: the rest was not checked. A missing file is
    reported by ``media_findings`` instead.
    """
    findings = []
    for index, item in enumerate(content.media or []):
        m = normalize_media_item(item)
        if m["role"] != "attachment":
            continue
        field = f"attachment:{index}"
        if has_app_context():
            extracted = attachments.stored_text(m["sha256"], m["content_type"], m["name"])
            if extracted is None:
                continue  # the file is missing: a blocking media.missing finding already
            readable = bool(extracted)
        else:
            readable = bool(m["text"])
        if not readable:
            typed = "（以下检查结果仅针对人工录入的文字）" if m["text"] else "（未录入附件文字，自动检查未覆盖该附件）"
            findings.append(
                make_finding(
                    "media",
                    field,
                    f"{NO_TEXT_MESSAGE}：“{m['name']}”{typed}",
                    severity=WARN,
                    rule="attachment.no_text",
                    text=m["name"],
                    suggestion="请审核人打开附件逐页核对；扫描件可由运营人员录入全文后重新提交",
                )
            )
        elif len(m["text"]) >= text_max:
            findings.append(
                make_finding(
                    "media",
                    field,
                    f"附件“{m['name']}”文字超过 {text_max} 字，自动检查只覆盖前 {text_max} 字，其余部分须人工核对",
                    severity=WARN,
                    rule="attachment.truncated",
                    text=m["name"],
                )
            )
    return findings


def run_target_checkers(content: Content) -> list[CheckFinding]:
    findings: list[CheckFinding] = []
    for checker in target_checkers():
        try:
            findings.extend(checker(content))
        except Exception:
            log.exception("platform limit checker %r failed", checker)
            findings.append(
                make_finding(
                    "platform_limit",
                    "platform",
                    "平台限制检查未能完成，请稍后重试或联系管理员",
                    rule="platform_limit.error",
                )
            )
    return findings


def check_text(text: str, platforms: Iterable[str] = (), title: str = "") -> list[CheckFinding]:
    """Checks over free text (POST /checks); nothing is stored."""
    content = Content(
        title=title,
        body_html=text_to_html(text) if text else "",
        body_text=text,
        media=[],
        overrides={},
        disclosure=Disclosure.active,
        kind=ContentKind.news,
        status=ContentStatus.draft,
        version=1,
    )
    content.targets = [
        Account(platform=Platform(p), name=PLATFORM_LABELS[Platform(p)], status=AccountStatus.active)
        for p in dict.fromkeys(platforms)
    ]
    extra = run_target_checkers(content) if content.targets else []
    return default_pipeline().run({"title": title, "body": text}, extra=extra)


def store_report(content: Content, findings: Iterable[CheckFinding]) -> CheckReport:
    findings = list(findings)
    report = CheckReport(
        content_id=content.id,
        version=content.version,
        findings=[f.to_dict() for f in findings],
        blocking=any(f.severity == BLOCK for f in findings),
    )
    db.session.add(report)
    db.session.flush()
    return report


def latest_report(content: Content, version: int | None = None) -> CheckReport | None:
    return db.session.scalar(
        sa.select(CheckReport)
        .where(CheckReport.content_id == content.id, CheckReport.version == (version or content.version))
        .order_by(CheckReport.id.desc())
        .limit(1)
    )


def field_label(field: str, content: Content | None = None) -> str:
    base = {"title": "标题", "summary": "摘要", "body": "正文", "platform": "平台限制"}
    if field in base:
        return base[field]
    name, _, rest = field.partition(":")
    media = (content.media or []) if content is not None else []
    if name in {"image_alt", "attachment", "media"} and rest.isdigit():
        index = int(rest)
        item_name = normalize_media_item(media[index])["name"] if index < len(media) else f"第 {index + 1} 项"
        return {"image_alt": "图片说明", "attachment": "附件文字", "media": "素材文件"}[name] + f"（{item_name}）"
    if name == "body_image_alt":
        return f"正文图片说明（第 {int(rest) + 1} 张）" if rest.isdigit() else "正文图片说明"
    if name == "body_link":
        return f"正文链接或图片地址（第 {int(rest) + 1} 个）" if rest.isdigit() else "正文链接或图片地址"
    if name == "override":
        platform, _, key = rest.partition(":")
        label = PLATFORM_LABELS.get(Platform(platform), platform) if platform in PUBLISHABLE else platform
        return f"{label}单独{OVERRIDE_KEY_LABELS.get(key, key)}"
    if name == "platform" and rest in PUBLISHABLE:
        return f"平台限制（{PLATFORM_LABELS[Platform(rest)]}）"
    return field


def finding_dict(finding: CheckFinding | Mapping[str, Any], content: Content | None = None) -> dict[str, Any]:
    data = finding.to_dict() if isinstance(finding, CheckFinding) else dict(finding)
    data["kind_label"] = KIND_LABELS.get(data["kind"], {"media": "素材文件"}.get(data["kind"], data["kind"]))
    data["severity_label"] = SEVERITY_LABELS.get(data["severity"], data["severity"])
    data["field_label"] = field_label(data["field"], content)
    return data
