"""Validation of a content's create/edit request into the new attribute values.

Everything is checked first and only then returned, so a refusal leaves the content untouched
(``moderation.service`` assigns the values). Errors carry the standard ``details`` per field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_app_context

from auth.models import User
from auth.scoping import can_see_unit, unit_subtree_ids
from common import media as media_store
from common.db import utcnow
from common.errors import Invalid
from common.fields import to_utc_naive
from common.timefmt import bj
from common.validation import control_char_problem
from extensions import db
from moderation import attachments
from moderation.models import DISCLOSURE_LABELS, Content, ContentKind, ContentStatus, Disclosure
from moderation.payload import (
    COVER_CROPS,
    MEDIA_ROLES,
    OVERRIDE_KEYS,
    PUBLISHABLE,
    SHA256_PATTERN,
    normalize_media_item,
)
from moderation.sanitize import html_to_text, sanitize_html
from platforms.types import PLATFORM_LABELS
from registry.models import PUBLISHABLE_PLATFORMS, STATUS_LABELS, Account, AccountStatus, Unit

TITLE_MAX = 200
SUMMARY_MAX = 500
OVERRIDE_MAX = 5000
ATTACHMENT_TEXT_MAX = attachments.TEXT_MAX


class _Errors:
    def __init__(self) -> None:
        self.details: dict[str, Any] = {}

    def add(self, field: str, message: str) -> None:
        self.details.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.details:
            first = next(iter(self.details.values()))
            message = first[0] if isinstance(first, list) and first else "请求参数校验失败"
            raise Invalid(message, details=self.details)


def target_problems(unit_id: int, account_ids: Iterable[int]) -> tuple[list[Account], dict[str, str]]:
    """The accounts, and a reason per account id that may not be a target of ``unit_id``'s content.

    Targets must be ``active`` accounts, on a platform we publish to, of the content's unit or
    one of its sub-units. Accounts outside that reveal nothing beyond "not available".
    """
    ids = list(dict.fromkeys(int(i) for i in account_ids))
    if not ids:
        return [], {}
    found = {a.id: a for a in db.session.scalars(sa.select(Account).where(Account.id.in_(ids)))}
    allowed_units = unit_subtree_ids(unit_id)
    accounts: list[Account] = []
    problems: dict[str, str] = {}
    for account_id in ids:
        account = found.get(account_id)
        if account is None or account.unit_id not in allowed_units:
            problems[str(account_id)] = "账号不存在或不属于本单位及下属单位"
        elif account.status is not AccountStatus.active:
            problems[str(account_id)] = (
                f"账号“{account.name}”状态为“{STATUS_LABELS[account.status]}”，只有运行中的账号可以发布"
            )
        elif account.platform not in PUBLISHABLE_PLATFORMS:
            platform = PLATFORM_LABELS[account.platform]
            problems[str(account_id)] = f"账号“{account.name}”所在平台（{platform}）暂不支持发布"
        else:
            accounts.append(account)
    return accounts, problems


def resolve_targets(unit_id: int, account_ids: Iterable[int]) -> list[Account]:
    accounts, problems = target_problems(unit_id, account_ids)
    if problems:
        raise Invalid(
            f"有 {len(problems)} 个发布账号不可用",
            code="invalid_targets",
            details={"target_ids": problems},
        )
    return accounts


def _clean_media(items: Any, errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        errors.add("media", "格式不正确，应为列表")
        return []
    limit = media_store.max_per_content()
    if len(items) > limit:
        errors.add("media", f"每篇稿件最多 {limit} 个图片、视频或附件，当前 {len(items)} 个")
    out = []
    seen_image = False
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.add("media", f"第 {index + 1} 项格式不正确")
            continue
        normalized = normalize_media_item(item)
        if not SHA256_PATTERN.match(normalized["sha256"]):
            errors.add("media", f"第 {index + 1} 项缺少有效的 sha256")
        if not normalized["name"].strip() or len(normalized["name"]) > 200:
            errors.add("media", f"第 {index + 1} 项文件名为空或过长")
        if len(normalized["alt"]) > 500:
            errors.add("media", f"第 {index + 1} 项说明文字过长（最多 500 字）")
        if len(normalized["text"]) > ATTACHMENT_TEXT_MAX:
            errors.add("media", f"第 {index + 1} 项附件文字过长")
        if item.get("role") not in (None, "", *MEDIA_ROLES):
            errors.add("media", f"第 {index + 1} 项类型应为 image、video 或 attachment")
        if "crop" in normalized and (
            normalized["crop"] not in COVER_CROPS or normalized["role"] != "image" or seen_image
        ):
            errors.add(
                "media", f"第 {index + 1} 项裁剪比例应为 {'、'.join(COVER_CROPS)} 之一，且只用于封面（第一张图片）"
            )
        seen_image = seen_image or normalized["role"] == "image"
        out.append(_with_file_text(normalized))
    return out


def _with_file_text(item: dict[str, Any]) -> dict[str, Any]:
    """An attachment whose stored file has a text layer carries that text, whatever was sent.

    The checks read ``text``; taking it from the file (PDF, .docx, plain text) means they read
    what will really be published. Where the file has no extractable text (a scan, a legacy
    .doc, an image) the text typed in by the operator is kept, and the checks add a warning.
    """
    if item["role"] != "attachment" or not has_app_context() or not SHA256_PATTERN.match(item["sha256"]):
        return item
    text = attachments.stored_text(item["sha256"], item["content_type"], item["name"])
    if text:
        item["text"] = text
    return item


def _clean_overrides(value: Any, errors: _Errors) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add("overrides", "格式不正确，应为 {平台: {text: …}}")
        return {}
    out: dict[str, dict[str, str]] = {}
    for platform, entry in value.items():
        if platform not in PUBLISHABLE:
            errors.add("overrides", f"不支持的平台：{platform}（可选 {', '.join(PUBLISHABLE)}）")
            continue
        fields = {"text": entry} if isinstance(entry, str) else entry
        if not isinstance(fields, Mapping):
            errors.add("overrides", f"{platform} 的单独文案格式不正确")
            continue
        cleaned: dict[str, str] = {}
        for key, text in fields.items():
            if key not in OVERRIDE_KEYS:
                errors.add("overrides", f"{platform} 不支持的字段：{key}（可选 {', '.join(OVERRIDE_KEYS)}）")
            elif text is not None and not isinstance(text, str):
                errors.add("overrides", f"{platform}.{key} 应为文本")
            elif text and text.strip():
                if len(text) > OVERRIDE_MAX:
                    errors.add("overrides", f"{platform}.{key} 过长（最多 {OVERRIDE_MAX} 字）")
                cleaned[key] = text.strip()
        if cleaned:
            out[platform] = cleaned
    return out


def prepare(data: Mapping[str, Any], actor: User, content: Content | None) -> dict[str, Any]:
    """Validate the request into the new attribute values (only what the request set)."""
    errors = _Errors()
    values: dict[str, Any] = {}
    creating = content is None

    if creating:
        unit_id = data.get("unit_id") or actor.unit_id
        if not can_see_unit(actor, unit_id) or db.session.get(Unit, unit_id) is None:
            errors.add("unit_id", "单位不存在或不在您的权限范围内")
        values["unit_id"] = unit_id
    else:
        unit_id = content.unit_id

    if "title" in data or creating:
        title = (data.get("title") or "").strip()
        if not title:
            errors.add("title", "标题不能为空")
        elif len(title) > TITLE_MAX:
            errors.add("title", f"标题最多 {TITLE_MAX} 字")
        elif problem := control_char_problem(title):
            errors.add("title", f"标题{problem}")
        values["title"] = title
    body_key = "body" if "body" in data else "body_html" if "body_html" in data else None
    if body_key is not None or creating:
        body_html = sanitize_html(data.get(body_key) if body_key else "")
        values["body_html"] = body_html
        values["body_text"] = html_to_text(body_html)
    if "summary" in data:
        summary = (data.get("summary") or "").strip() or None
        if summary and len(summary) > SUMMARY_MAX:
            errors.add("summary", f"摘要最多 {SUMMARY_MAX} 字")
        elif problem := control_char_problem(summary, single_line=False):
            errors.add("summary", f"摘要{problem}")
        values["summary"] = summary
    if "media" in data:
        values["media"] = _clean_media(data.get("media") or [], errors)
    if "overrides" in data:
        values["overrides"] = _clean_overrides(data.get("overrides"), errors)
    if "publish_at" in data:
        values["publish_at"] = to_utc_naive(data.get("publish_at"))
        if message := past_publish_at(values["publish_at"], content.publish_at if content else None):
            errors.add("publish_at", message)

    # 公开属性: every content carries one; a non-disclosure choice needs its reason (R25).
    if "disclosure" in data:
        try:
            values["disclosure"] = Disclosure(data.get("disclosure") or Disclosure.active.value)
        except ValueError:
            errors.add("disclosure", "公开属性应为 active（主动公开）、on_request（依申请公开）或 withheld（不予公开）")
    if "disclosure_reason" in data:
        values["disclosure_reason"] = (data.get("disclosure_reason") or "").strip() or None
    disclosure = values.get("disclosure", content.disclosure if content else Disclosure.active)
    reason = values.get("disclosure_reason", content.disclosure_reason if content else None)
    if disclosure is not Disclosure.active and not reason:
        errors.add("disclosure_reason", f"选择“{DISCLOSURE_LABELS[disclosure]}”时必须填写理由")
    if disclosure is Disclosure.active and "disclosure" in data and "disclosure_reason" not in data:
        values["disclosure_reason"] = None

    # Kind and the 三同步 link of a 解读 to its policy (same unit).
    if "kind" in data:
        try:
            values["kind"] = ContentKind(data.get("kind") or ContentKind.news.value)
        except ValueError:
            errors.add("kind", "稿件类型应为 news、policy 或 interpretation")
    kind = values.get("kind", content.kind if content else ContentKind.news)
    if kind is ContentKind.interpretation:
        policy_id = data.get("policy_id") if "policy_id" in data else (content.policy_id if content else None)
        if policy_id is None:
            errors.add("policy_id", "政策解读必须关联所解读的政策文件（三同步）")
        else:
            message = policy_problem(int(policy_id), unit_id, content)
            if message:
                errors.add("policy_id", message)
        values["policy_id"] = policy_id
    else:
        if data.get("policy_id") is not None:
            errors.add("policy_id", "只有政策解读需要关联政策文件")
        values["policy_id"] = None
    if content is not None and content.kind is ContentKind.policy and kind is not ContentKind.policy:
        has_interpretations = db.session.scalar(
            sa.select(sa.func.count(Content.id)).where(Content.policy_id == content.id)
        )
        if has_interpretations:
            errors.add("kind", "已有政策解读关联本政策文件，不能修改类型")

    if "target_ids" in data:
        accounts, problems = target_problems(unit_id, data.get("target_ids") or [])
        if problems:
            errors.details["target_ids"] = problems
        values["targets"] = accounts

    if errors.details.get("target_ids") and len(errors.details) == 1:
        resolve_targets(unit_id, data.get("target_ids") or [])  # the dedicated error code
    errors.raise_if_any()
    return values


def past_publish_at(value: datetime | None, stored: datetime | None) -> str | None:
    """Why a new 定时发布 time is refused: it is not in the future (UTC naive, as stored).

    A time the content already had is left alone (a draft saved again after its slot passed is
    refused at submit/approval by the review rules, not here).
    """
    if value is None or value == stored or value > utcnow():
        return None
    return f"定时发布时间 {bj(value)}（北京时间）已过，请选择将来的时间，或留空在终审通过后立即发布"


def policy_problem(policy_id: int, unit_id: int, content: Content | None) -> str | None:
    policy = db.session.get(Content, policy_id)
    if policy is None or policy.unit_id != unit_id:
        return "所关联的政策文件不存在或不属于本单位"
    if content is not None and policy.id == content.id:
        return "不能关联稿件自身"
    if policy.kind is not ContentKind.policy:
        return f"所关联的稿件（#{policy.id}）不是政策文件"
    if policy.status is ContentStatus.withdrawn:
        return "所关联的政策文件已撤回"
    return None


def changed_fields(content: Content, values: Mapping[str, Any]) -> list[str]:
    changed = []
    for name, new in values.items():
        if name == "targets":
            if sorted(a.id for a in content.targets) != sorted(a.id for a in new):
                changed.append(name)
        elif getattr(content, name) != new:
            changed.append(name)
    return changed


def assign(content: Content, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name == "targets":
            content.targets = sorted(value, key=lambda a: a.id)
        else:
            setattr(content, name, value)
