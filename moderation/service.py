"""Content (稿件): create and edit, versions, the content hash, checks, 三同步 groups.

Services flush, never commit; the view (or task) commits. Every function that changes state
validates everything first and only then mutates, so a refusal leaves the objects untouched.

Versioning: a content keeps editing in place until it is first submitted. Once a version has
been submitted (it has a ContentVersion snapshot) or reviewed, the next edit or resubmission
starts a new version; an edit also voids every earlier approval and returns the content to
``draft``. The review steps live in ``moderation.review``; every status change (an edit's
return to draft included) goes through ``moderation.lifecycle``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import has_app_context

from audit import service as audit
from auth.models import Role, User
from auth.scoping import can_see_unit, unit_subtree_ids
from common import media as media_store
from common.errors import Conflict, Forbidden, Invalid
from common.fields import to_utc_naive
from common.validation import control_char_problem
from extensions import db
from moderation import attachments, lifecycle
from moderation.checks import BLOCK, KIND_LABELS, SEVERITY_LABELS, WARN, CheckFinding, default_pipeline, make_finding
from moderation.models import (
    CONTENT_KIND_LABELS,
    CONTENT_STATUS_LABELS,
    DISCLOSURE_LABELS,
    REVIEW_DECISION_LABELS,
    SUBMIT_STAGE,
    CheckReport,
    Content,
    ContentKind,
    ContentStatus,
    ContentVersion,
    Disclosure,
    Review,
    ReviewDecision,
)
from moderation.sanitize import html_to_text, image_alts, links, sanitize_html, text_to_html
from moderation.target_checks import target_checkers
from platforms.types import PLATFORM_LABELS
from registry.models import (
    PUBLISHABLE_PLATFORMS,
    STATUS_LABELS,
    Account,
    AccountStatus,
    Platform,
    Unit,
)

log = logging.getLogger("govmedia.moderation")

AUTHOR_ROLES = (Role.operator, Role.admin)
EDITABLE_STATUSES = frozenset(lifecycle.sources(ContentStatus.draft, "edit"))  # from the one table
HASH_FORMAT = "govmedia.content.v1"
MEDIA_ROLES = ("image", "video", "attachment")
MEDIA_ROLE_LABELS = {"image": "图片", "video": "视频", "attachment": "附件"}
OVERRIDE_KEYS = ("text", "title", "summary")
OVERRIDE_KEY_LABELS = {"text": "正文/文案", "title": "标题", "summary": "摘要"}
PUBLISHABLE = tuple(p.value for p in PUBLISHABLE_PLATFORMS)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

TITLE_MAX = 200
SUMMARY_MAX = 500
OVERRIDE_MAX = 5000
ATTACHMENT_TEXT_MAX = attachments.TEXT_MAX
NO_TEXT_MESSAGE = "附件无法提取文字，须人工核对"


# ----------------------------------------------------------------------------- small helpers


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


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


# ----------------------------------------------------------------------------- hash


def media_role(item: Mapping[str, Any]) -> str:
    role = item.get("role")
    if role in MEDIA_ROLES:
        return str(role)
    content_type = str(item.get("content_type") or "")
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("video/"):
        return "video"
    return "attachment"


def normalize_media_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(item.get("name") or ""),
        "content_type": str(item.get("content_type") or "application/octet-stream"),
        "sha256": str(item.get("sha256") or "").lower(),
        "alt": str(item.get("alt") or ""),
        "text": str(item.get("text") or ""),
        "role": media_role(item),
    }


def hash_payload(content: Content) -> dict[str, Any]:
    """Everything that gets published, in a canonical shape (see ``content_hash``)."""
    return {
        "format": HASH_FORMAT,
        "title": content.title or "",
        "summary": content.summary or "",
        "body_html": content.body_html or "",
        "body_text": content.body_text or "",
        "media": [normalize_media_item(m) for m in (content.media or [])],
        "overrides": content.overrides or {},
        "target_ids": sorted(a.id for a in content.targets),
        "disclosure": _value(content.disclosure) or Disclosure.active.value,
        "kind": _value(content.kind) or ContentKind.news.value,
        "policy_id": content.policy_id,
    }


def content_hash(content: Content) -> str:
    """SHA-256 over canonical JSON of what gets published.

    Title, summary, body HTML and its plain text, media (file hashes, names, types, alt texts,
    attachment texts), per-platform overrides, sorted target account ids, 公开属性, kind and
    the linked policy. The publishing worker compares it with ``Content.approved_hash``.
    """
    raw = json.dumps(hash_payload(content), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


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


# ----------------------------------------------------------------------------- validation


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
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.add("media", f"第 {index + 1} 项格式不正确")
            continue
        normalized = normalize_media_item(item)
        if not _SHA256.match(normalized["sha256"]):
            errors.add("media", f"第 {index + 1} 项缺少有效的 sha256")
        if not normalized["name"].strip() or len(normalized["name"]) > 200:
            errors.add("media", f"第 {index + 1} 项文件名为空或过长")
        if len(normalized["alt"]) > 500:
            errors.add("media", f"第 {index + 1} 项说明文字过长（最多 500 字）")
        if len(normalized["text"]) > ATTACHMENT_TEXT_MAX:
            errors.add("media", f"第 {index + 1} 项附件文字过长")
        if item.get("role") not in (None, "", *MEDIA_ROLES):
            errors.add("media", f"第 {index + 1} 项类型应为 image、video 或 attachment")
        out.append(_with_file_text(normalized))
    return out


def _with_file_text(item: dict[str, Any]) -> dict[str, Any]:
    """An attachment whose stored file has a text layer carries that text, whatever was sent.

    The checks read ``text``; taking it from the file (PDF, .docx, plain text) means they read
    what will really be published. Where the file has no extractable text (a scan, a legacy
    .doc, an image) the text typed in by the operator is kept, and the checks add a warning.
    """
    if item["role"] != "attachment" or not has_app_context() or not _SHA256.match(item["sha256"]):
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


def _prepare(data: Mapping[str, Any], actor: User, content: Content | None) -> dict[str, Any]:
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


def _changed(content: Content, values: Mapping[str, Any]) -> list[str]:
    changed = []
    for name, new in values.items():
        if name == "targets":
            if sorted(a.id for a in content.targets) != sorted(a.id for a in new):
                changed.append(name)
        elif getattr(content, name) != new:
            changed.append(name)
    return changed


def _assign(content: Content, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name == "targets":
            content.targets = sorted(value, key=lambda a: a.id)
        else:
            setattr(content, name, value)


# ----------------------------------------------------------------------------- create / edit


def create_content(data: Mapping[str, Any], actor: User) -> Content:
    _require_author_role(actor)
    values = _prepare(data, actor, None)
    content = Content(
        author_id=actor.id,
        status=ContentStatus.draft,
        version=1,
        disclosure=Disclosure.active,
        kind=ContentKind.news,
        media=[],
        overrides={},
    )
    _assign(content, values)
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
            Review.decision == ReviewDecision.approve,
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
    values = _prepare(data, actor, content)
    changed = _changed(content, values)
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
    _assign(content, values)
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


# ----------------------------------------------------------------------------- versions


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


# ----------------------------------------------------------------------------- checks


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


def _media_findings(content: Content) -> list[CheckFinding]:
    if not has_app_context() or not content.media:
        return []
    folder = media_store.media_dir()
    findings = []
    for index, item in enumerate(content.media):
        m = normalize_media_item(item)
        if not _SHA256.match(m["sha256"]) or not (folder / m["sha256"]).exists():
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


def attachment_findings(content: Content) -> list[CheckFinding]:
    """A ``warn`` for each attachment the checks could not (fully) read from its file.

    No text layer (a scanned PDF, a legacy .doc, an image sent as an attachment): the checks
    only saw what the operator typed in, if anything, so a reviewer must read the file. A text
    cut at ``ATTACHMENT_TEXT_MAX`` characters: the rest was not checked. A missing file is
    reported by ``_media_findings`` instead.
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
        elif len(m["text"]) >= ATTACHMENT_TEXT_MAX:
            findings.append(
                make_finding(
                    "media",
                    field,
                    f"附件“{m['name']}”文字超过 {ATTACHMENT_TEXT_MAX} 字，自动检查只覆盖前 {ATTACHMENT_TEXT_MAX} 字，"
                    "其余部分须人工核对",
                    severity=WARN,
                    rule="attachment.truncated",
                    text=m["name"],
                )
            )
    return findings


def _run_target_checkers(content: Content) -> list[CheckFinding]:
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


def run_checks(content: Content) -> list[CheckFinding]:
    """All automated checks of one content: text checks, media files, platform limits."""
    extra = _media_findings(content) + attachment_findings(content) + _run_target_checkers(content)
    return default_pipeline().run(check_fields(content), extra=extra)


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
    extra = _run_target_checkers(content) if content.targets else []
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


# ----------------------------------------------------------------------------- dumps


def review_dict(review: Review) -> dict[str, Any]:
    from moderation.review import STAGE_LABELS  # noqa: PLC0415  cycle: review imports this module (AUTHOR_ROLES)

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
    from moderation.review import stage_of  # noqa: PLC0415  cycle: review imports this module (AUTHOR_ROLES)

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
