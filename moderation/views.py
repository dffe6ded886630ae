"""Content and review: the /api/v1 endpoints and the pages (editor, queue, review).

Views commit; services flush. A refused action rolls back and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import File
from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from auth.models import User
from auth.scoping import current_user, get_scoped, scope_filter, unit_subtree_ids
from common.errors import ApiError, Forbidden, Invalid, NotFound
from common.fields import EARLIEST, LATEST
from common.pagination import paginate
from common.timefmt import CN_TZ, bj
from extensions import db
from moderation import diff as diffing
from moderation import review as workflow
from moderation import service
from moderation.attachments import extract_text
from moderation.models import (
    CONTENT_KIND_LABELS,
    CONTENT_STATUS_LABELS,
    DISCLOSURE_LABELS,
    Content,
    ContentKind,
    ContentStatus,
    ContentVersion,
    Disclosure,
)
from moderation.sanitize import html_to_text, sanitize_html
from moderation.schemas import (
    CheckReportOut,
    ChecksIn,
    ChecksOut,
    ContentCreate,
    ContentDiffOut,
    ContentDiffQuery,
    ContentFields,
    ContentOut,
    ContentPage,
    ContentQuery,
    ContentReviewIn,
    ContentVersionList,
    MediaUploadOut,
    ReviewQueuePage,
    ReviewQueueQuery,
)
from platforms.types import PLATFORM_LABELS
from registry.models import PUBLISHABLE_PLATFORMS, Account, AccountStatus, Platform

api = APIBlueprint("moderation_api", __name__, url_prefix="/api/v1", tag="稿件与审核")
pages = Blueprint("moderation", __name__)

PER_PAGE = 30


# ============================================================================= API


def _scoped_content(content_id: int) -> Content:
    return get_scoped(Content, content_id)


@api.get("/contents")
@api.input(ContentQuery, location="query", arg_name="q")
@api.output(ContentPage)
@api.doc(summary="稿件列表（按权限范围）", security="BearerAuth")
def list_contents(q: dict[str, Any]) -> Any:
    user = current_user()
    stmt = _content_filter(sa.select(Content).where(scope_filter(user, Content.unit_id)), q)
    stmt = stmt.order_by(Content.updated_at.desc(), Content.id.desc())
    return paginate(stmt, q["page"], q["per_page"], lambda c: service.content_dict(c, full=False))


def _content_filter(stmt: sa.Select[Any], q: Mapping[str, Any]) -> sa.Select[Any]:
    if q.get("status"):
        stmt = stmt.where(Content.status == ContentStatus(q["status"]))
    if q.get("kind"):
        stmt = stmt.where(Content.kind == ContentKind(q["kind"]))
    if q.get("unit_id"):
        stmt = stmt.where(Content.unit_id == q["unit_id"])
    if q.get("q"):
        stmt = stmt.where(Content.title.contains(q["q"], autoescape=True))
    return stmt


@api.post("/contents")
@api.input(ContentCreate, arg_name="data")
@api.output(ContentOut, status_code=201)
@api.doc(summary="新建稿件（草稿）", security="BearerAuth")
def create_content(data: dict[str, Any]) -> Any:
    content = service.create_content(data, current_user())
    db.session.commit()
    return service.content_dict(content), 201


@api.get("/contents/<int:content_id>")
@api.output(ContentOut)
@api.doc(summary="稿件详情（含审核记录）", security="BearerAuth")
def get_content(content_id: int) -> Any:
    return service.content_dict(_scoped_content(content_id))


@api.patch("/contents/<int:content_id>")
@api.input(ContentFields, arg_name="data")
@api.output(ContentOut)
@api.doc(
    summary="修改稿件（提交后修改将生成新版本、作废已有审核通过记录并退回草稿）",
    security="BearerAuth",
)
def update_content(content_id: int, data: dict[str, Any]) -> Any:
    content = _scoped_content(content_id)
    service.update_content(content, data, current_user())
    db.session.commit()
    return service.content_dict(content)


@api.post("/contents/<int:content_id>/submit")
@api.output(ContentOut)
@api.doc(
    summary="提交审核：先运行自动检查，有阻断项则拒绝并列出；只有主动公开的稿件可以提交",
    security="BearerAuth",
)
def submit_content(content_id: int) -> Any:
    content = _scoped_content(content_id)
    workflow.submit(content, current_user())
    db.session.commit()
    data = service.content_dict(content)
    data["checks"] = service.report_dict(content, service.latest_report(content))
    return data


@api.post("/contents/<int:content_id>/reviews")
@api.input(ContentReviewIn, arg_name="data")
@api.output(ContentOut, status_code=201)
@api.doc(summary="审核（通过 / 退回）：当前环节由具有该环节角色的人员完成", security="BearerAuth")
def review_content(content_id: int, data: dict[str, Any]) -> Any:
    content = _scoped_content(content_id)
    workflow.review(
        content,
        current_user(),
        data["decision"],
        comment=data.get("comment"),
        acknowledge_warnings=bool(data.get("acknowledge_warnings")),
        stage=data.get("stage"),
        version=data.get("version"),
    )
    db.session.commit()
    return service.content_dict(content), 201


@api.get("/contents/<int:content_id>/checks")
@api.output(CheckReportOut)
@api.doc(summary="当前版本的自动检查结果（已提交：保存的报告；草稿：即时检查，不保存）", security="BearerAuth")
def content_checks(content_id: int) -> Any:
    content = _scoped_content(content_id)
    report = service.latest_report(content)
    if report is not None:
        return service.report_dict(content, report)
    return service.report_dict(content, None, service.run_checks(content))


@api.get("/contents/<int:content_id>/versions")
@api.output(ContentVersionList)
@api.doc(summary="已提交的各版本", security="BearerAuth")
def content_versions(content_id: int) -> Any:
    content = _scoped_content(content_id)
    rows = service.versions(content)
    return {"items": [_version_dict(content, v) for v in rows], "total": len(rows), "current_version": content.version}


def _version_dict(content: Content, row: ContentVersion) -> dict[str, Any]:
    creator = db.session.get(User, row.created_by_id) if row.created_by_id else None
    return {
        "version": row.version,
        "title": row.title,
        "content_hash": row.content_hash,
        "created_by_id": row.created_by_id,
        "created_by_name": creator.display_name if creator else None,
        "created_at": row.created_at,
        "current": row.version == content.version,
    }


@api.get("/contents/<int:content_id>/versions/<int:version>/diff")
@api.input(ContentDiffQuery, location="query", arg_name="q")
@api.output(ContentDiffOut)
@api.doc(summary="版本差异（缺省与上一个已提交版本对比；当前版本可为未提交的草稿）", security="BearerAuth")
def version_diff(content_id: int, version: int, q: dict[str, Any]) -> Any:
    content = _scoped_content(content_id)
    from_version, to_version, fields = _diff(content, version, q.get("against"))
    return {
        "content_id": content.id,
        "from_version": from_version,
        "to_version": to_version,
        "fields": [f.to_dict() for f in fields],
    }


def _diff(content: Content, version: int, against: int | None) -> tuple[int | None, int, list[diffing.FieldDiff]]:
    new = service.version_snapshot(content, version)
    if new is None:
        raise NotFound("该版本不存在")
    if against is None:
        previous = service.previous_version(content, version)
        old = previous.snapshot if previous is not None else None
        against = previous.version if previous is not None else None
    else:
        old = service.version_snapshot(content, against)
        if old is None:
            raise NotFound("对比的版本不存在")
    return against, version, diffing.diff_snapshots(old, new)


@api.get("/review-queue")
@api.input(ReviewQueueQuery, location="query", arg_name="q")
@api.output(ReviewQueuePage)
@api.doc(summary="待审队列：本人审核环节、本单位及下属单位，先进先审，标注超时", security="BearerAuth")
def review_queue(q: dict[str, Any]) -> Any:
    user = current_user()
    stages = _queue_stages(user, q.get("stage"))
    now = _now()
    result = paginate(
        workflow.queue_statement(user, stages),
        q["page"],
        q["per_page"],
        lambda c: _queue_item(c, user, now),
    )
    result["stages"] = stages
    result["overdue_hours"] = {str(s): workflow.overdue_hours(s) for s in stages}
    return result


def _now() -> datetime:
    from common.db import utcnow

    return utcnow()


def _queue_stages(user: User, stage: int | None) -> list[int]:
    mine = workflow.reviewer_stages(user)
    if not mine:
        raise Forbidden("您没有审核角色（初审 / 复审 / 终审）", code="wrong_role")
    if stage is None:
        return mine
    if stage not in mine:
        role = workflow.STAGE_ROLES[stage]
        raise Forbidden(
            f"您没有{workflow.STAGE_LABELS[stage]}角色，不能查看该环节的待审队列",
            code="wrong_role",
            details={"required_roles": [role.value]},
        )
    return [stage]


def _queue_item(content: Content, user: User, now: datetime) -> dict[str, Any]:
    entry = workflow.queue_entry(content, user, now)
    data = service.content_dict(content, full=False)
    data.update(
        {
            "overdue": entry.overdue,
            "waiting_hours": entry.waiting_hours,
            "can_review": entry.can_review,
            "refusal": entry.refusal,
        }
    )
    return data


@api.post("/checks")
@api.input(ChecksIn, arg_name="data")
@api.output(ChecksOut)
@api.doc(summary="即时检查一段文字（不保存）；platforms 同时检查各平台限制", security="BearerAuth")
def run_checks(data: dict[str, Any]) -> Any:
    findings = service.check_text(data["text"], data.get("platforms") or [], data.get("title") or "")
    return {
        "blocking": any(f.severity == "block" for f in findings),
        "findings": [service.finding_dict(f) for f in findings],
    }


class MediaUploadIn(Schema):
    file = File(required=True, metadata={"description": "图片、视频或附件文件"})


@api.post("/media")
@api.input(MediaUploadIn, location="files", arg_name="files")
@api.output(MediaUploadOut, status_code=201)
@api.doc(summary="上传素材（按 SHA-256 存储），返回可放入 media[] 的条目", security="BearerAuth")
def upload_media(files: dict[str, Any]) -> Any:
    user = current_user()
    if not user.has_role(*service.AUTHOR_ROLES):
        raise Forbidden("只有运营人员可以上传素材", code="wrong_role")
    return _store_upload(files["file"]), 201


def _store_upload(storage: Any) -> dict[str, Any]:
    from common import media as media_store

    data, name = media_store.read_upload(storage)  # never more than one byte past the limit
    content_type = storage.mimetype or "application/octet-stream"
    sha = media_store.save(data)
    item = {"name": name, "content_type": content_type, "sha256": sha}
    role = service.media_role(item)
    text = extract_text(data, content_type, name) if role == "attachment" else ""
    return {**item, "size": len(data), "role": role, "text": text, "text_extracted": bool(text)}


# ============================================================================= pages


def _bj(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return bj(value, fmt) if value is not None else ""


def _from_local(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("定时发布时间格式不正确", details={"publish_at": ["定时发布时间格式不正确"]}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CN_TZ)
    stored = parsed.astimezone(UTC).replace(tzinfo=None)
    if not EARLIEST <= stored <= LATEST:
        raise Invalid("定时发布时间须在 2000 年至 2099 年之间", details={"publish_at": ["超出范围"]})
    return stored


def _url_or_none(endpoint: str, **values: Any) -> str | None:
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@pages.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "bj": _bj,
        "STATUS_LABELS": CONTENT_STATUS_LABELS,
        "KIND_LABELS": CONTENT_KIND_LABELS,
        "DISCLOSURE_LABELS": DISCLOSURE_LABELS,
        "PLATFORM_LABELS": PLATFORM_LABELS,
        "STAGE_LABELS": workflow.STAGE_LABELS,
        "url_or_none": _url_or_none,
    }


def _is_author_role(user: User) -> bool:
    return user.has_role(*service.AUTHOR_ROLES)


# ----------------------------------------------------------------------------- list


@pages.get("/contents")
def contents() -> Any:
    user = current_user()
    q = {
        "status": request.args.get("status") or None,
        "kind": request.args.get("kind") or None,
        "q": (request.args.get("q") or "").strip() or None,
    }
    if q["status"] not in (None, *[s.value for s in ContentStatus]):
        q["status"] = None
    if q["kind"] not in (None, *[k.value for k in ContentKind]):
        q["kind"] = None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    stmt = _content_filter(sa.select(Content).where(scope_filter(user, Content.unit_id)), q)
    result = paginate(stmt.order_by(Content.updated_at.desc(), Content.id.desc()), page, PER_PAGE)
    return render_template(
        "moderation/contents.html",
        result=result,
        q=q,
        statuses=list(ContentStatus),
        kinds=list(ContentKind),
        can_create=_is_author_role(user),
        pages_total=max(1, -(-result["total"] // PER_PAGE)),
    )


# ----------------------------------------------------------------------------- editor


def _media_from_form(form: Mapping[str, Any], files: Any) -> list[dict[str, Any]]:
    """The editor carries the media list in hidden fields; alt/text editable, items removable."""
    items = []
    count = int(form.get("media_count") or 0)
    for i in range(min(count, 100)):
        if form.get(f"media_{i}_remove"):
            continue
        sha = (form.get(f"media_{i}_sha256") or "").strip()
        if not sha:
            continue
        items.append(
            {
                "name": form.get(f"media_{i}_name") or sha[:12],
                "content_type": form.get(f"media_{i}_content_type") or "application/octet-stream",
                "sha256": sha,
                "role": form.get(f"media_{i}_role") or None,
                "alt": (form.get(f"media_{i}_alt") or "").strip(),
                "text": (form.get(f"media_{i}_text") or "").strip(),
            }
        )
    upload = files.get("new_media") if files else None
    if upload is not None and upload.filename:
        stored = _store_upload(upload)
        items.append(
            {
                "name": stored["name"],
                "content_type": stored["content_type"],
                "sha256": stored["sha256"],
                "role": stored["role"],
                "alt": (form.get("new_media_alt") or "").strip(),
                "text": stored["text"] or (form.get("new_media_text") or "").strip(),
            }
        )
    return [service.normalize_media_item(m) for m in items]


def _form_data(content: Content | None) -> dict[str, Any]:
    form = request.form
    kind = form.get("kind") or ContentKind.news.value
    overrides: dict[str, Any] = {}
    existing = (content.overrides or {}) if content is not None else {}
    for platform in PUBLISHABLE_PLATFORMS:
        entry = existing.get(platform.value)
        entry = dict({"text": entry} if isinstance(entry, str) else (entry or {}))
        entry["text"] = form.get(f"override_{platform.value}", "")
        overrides[platform.value] = entry
    policy = form.get("policy_id") or None
    data: dict[str, Any] = {
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "summary": form.get("summary", ""),
        "disclosure": form.get("disclosure") or Disclosure.active.value,
        "disclosure_reason": form.get("disclosure_reason", ""),
        "kind": kind,
        "policy_id": int(policy) if policy and policy.isdigit() and kind == ContentKind.interpretation.value else None,
        "target_ids": [int(v) for v in form.getlist("target_ids") if v.isdigit()],
        "overrides": overrides,
        "publish_at": _from_local(form.get("publish_at")),
        "media": _media_from_form(form, request.files),
    }
    return data


def _preview(data: Mapping[str, Any], unit_id: int) -> Content:
    """A transient (never saved) content built from the form, for the 检查 button."""
    body_html = sanitize_html(data.get("body"))
    preview = Content(
        id=None,
        unit_id=unit_id,
        title=data.get("title") or "",
        summary=(data.get("summary") or "").strip() or None,
        body_html=body_html,
        body_text=html_to_text(body_html),
        media=list(data.get("media") or []),
        overrides={p: e for p, e in (data.get("overrides") or {}).items() if any(e.values())},
        disclosure=Disclosure(data.get("disclosure") or Disclosure.active.value),
        kind=ContentKind(data.get("kind") or ContentKind.news.value),
        status=ContentStatus.draft,
        version=1,
    )
    accounts, _ = service.target_problems(unit_id, data.get("target_ids") or [])
    preview.targets = accounts
    return preview


def _findings_view(content: Content, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Findings numbered 1..n, plus each field's text split into marked segments."""
    fields = service.check_fields(content)
    numbered = [{**f, "number": n} for n, f in enumerate(findings, start=1)]
    by_field: dict[str, list[dict[str, Any]]] = {}
    for f in numbered:
        by_field.setdefault(f["field"], []).append(f)
    marked = []
    for field, items in by_field.items():
        text = fields.get(field, "")
        if not text:
            continue
        marked.append(
            {
                "field": field,
                "label": service.field_label(field, content),
                "segments": diffing.highlight(text, items, [f["number"] for f in items]),
            }
        )
    return {
        "items": numbered,
        "marked": marked,
        "blocking": sum(1 for f in numbered if f["severity"] == "block"),
        "warnings": sum(1 for f in numbered if f["severity"] == "warn"),
    }


def _editor_options(unit_id: int, content: Content | None) -> dict[str, Any]:
    units = unit_subtree_ids(unit_id)
    accounts = db.session.scalars(
        sa.select(Account)
        .where(
            Account.unit_id.in_(units),
            Account.status == AccountStatus.active,
            Account.platform.in_(PUBLISHABLE_PLATFORMS),
        )
        .order_by(Account.platform, Account.name)
    ).all()
    current = list(content.targets) if content is not None else []
    listed = {a.id for a in accounts}
    by_platform: dict[Platform, list[dict[str, Any]]] = {}
    for account in [*accounts, *(a for a in current if a.id not in listed)]:
        by_platform.setdefault(account.platform, []).append({"account": account, "usable": account.id in listed})
    policies = db.session.scalars(
        sa.select(Content)
        .where(
            Content.unit_id == unit_id,
            Content.kind == ContentKind.policy,
            Content.status != ContentStatus.withdrawn,
        )
        .order_by(Content.id.desc())
        .limit(200)
    ).all()
    return {
        "accounts_by_platform": by_platform,
        "policies": [p for p in policies if content is None or p.id != content.id],
        "platforms": list(PUBLISHABLE_PLATFORMS),
    }


def _form_state(content: Content | None, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the editor's inputs show: the posted form, else the stored content, else defaults."""
    if data is not None:
        overrides = data.get("overrides") or {}
        publish_at = data.get("publish_at")
        return {
            "title": data.get("title") or "",
            "body": data.get("body") or "",
            "summary": data.get("summary") or "",
            "disclosure": data.get("disclosure") or "active",
            "disclosure_reason": data.get("disclosure_reason") or "",
            "kind": data.get("kind") or "news",
            "policy_id": data.get("policy_id"),
            "target_ids": set(data.get("target_ids") or []),
            "overrides": {p: (e or {}).get("text", "") for p, e in overrides.items()},
            "publish_at": _bj(publish_at, "%Y-%m-%dT%H:%M") if publish_at else "",
            "media": list(data.get("media") or []),
        }
    if content is None:
        return {
            "title": "",
            "body": "",
            "summary": "",
            "disclosure": "active",
            "disclosure_reason": "",
            "kind": "news",
            "policy_id": None,
            "target_ids": set(),
            "overrides": {},
            "publish_at": "",
            "media": [],
        }
    overrides = {}
    for platform, entry in (content.overrides or {}).items():
        overrides[platform] = entry if isinstance(entry, str) else (entry or {}).get("text", "")
    return {
        "title": content.title,
        "body": content.body_html or "",
        "summary": content.summary or "",
        "disclosure": content.disclosure.value,
        "disclosure_reason": content.disclosure_reason or "",
        "kind": content.kind.value,
        "policy_id": content.policy_id,
        "target_ids": {a.id for a in content.targets},
        "overrides": overrides,
        "publish_at": _bj(content.publish_at, "%Y-%m-%dT%H:%M") if content.publish_at else "",
        "media": [service.normalize_media_item(m) for m in (content.media or [])],
    }


def _render_editor(
    content: Content | None,
    unit_id: int,
    *,
    state: dict[str, Any],
    findings: dict[str, Any] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Any:
    errors = error.detail if error is not None and isinstance(error.detail, dict) else {}
    return (
        render_template(
            "moderation/editor.html",
            content=content,
            state=state,
            extracted_media=_extracted_media(state.get("media") or []),
            findings=findings,
            error=error,
            errors=errors,
            disclosures=list(Disclosure),
            kinds=list(ContentKind),
            **_editor_options(unit_id, content),
        ),
        status,
    )


def _extracted_media(media: list[dict[str, Any]]) -> set[str]:
    """sha256 of the attachments whose text comes from their file (shown read-only in the editor)."""
    from moderation import attachments

    return {
        m["sha256"]
        for m in media
        if m.get("role") == "attachment" and attachments.stored_text(m["sha256"], m["content_type"], m["name"])
    }


def _require_author_page(user: User) -> None:
    if not _is_author_role(user):
        raise Forbidden("只有运营人员可以起草和修改稿件", code="wrong_role")


@pages.route("/contents/new", methods=["GET", "POST"])
def new_content() -> Any:
    user = current_user()
    _require_author_page(user)
    if request.method == "GET":
        state = _form_state(None)
        try:  # the calendar's 新建 in a slot: ?publish_at=2026-12-07T09:00 (Beijing)
            state["publish_at"] = _bj(_from_local(request.args.get("publish_at")), "%Y-%m-%dT%H:%M")
        except Invalid:
            state["publish_at"] = ""
        return _render_editor(None, user.unit_id, state=state)
    return _editor_post(None, user)


@pages.route("/contents/<int:content_id>/edit", methods=["GET", "POST"])
def edit_content(content_id: int) -> Any:
    content = _scoped_content(content_id)
    user = current_user()
    _require_author_page(user)
    if request.method == "GET":
        return _render_editor(content, content.unit_id, state=_form_state(content))
    return _editor_post(content, user)


def _editor_post(content: Content | None, user: User) -> Any:
    action = request.form.get("action", "save")
    unit_id = content.unit_id if content is not None else user.unit_id
    try:
        data = _form_data(content)
    except ApiError as exc:
        return _render_editor(content, unit_id, state=_form_state(content), error=exc, status=exc.status_code)
    state = _form_state(content, data)

    if action == "check":
        preview = _preview(data, unit_id)
        findings = [service.finding_dict(f, preview) for f in service.run_checks(preview)]
        return _render_editor(content, unit_id, state=state, findings=_findings_view(preview, findings))

    try:
        if content is None:
            content = service.create_content(data, user)
        else:
            service.update_content(content, data, user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        return _render_editor(content, unit_id, state=state, error=exc, status=exc.status_code)

    if action != "submit":
        flash("稿件已保存", "success")
        return redirect(url_for("moderation.edit_content", content_id=content.id))
    return _submit_and_render(content, user, state)


def _submit_and_render(content: Content, user: User, state: dict[str, Any] | None = None) -> Any:
    try:
        workflow.submit(content, user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        findings = None
        details = exc.detail if isinstance(exc.detail, dict) else {}
        if details.get("findings"):
            findings = _findings_view(content, details["findings"])
        return _render_editor(
            content,
            content.unit_id,
            state=state or _form_state(content),
            findings=findings,
            error=exc,
            status=exc.status_code,
        )
    flash(f"已提交审核（第 {content.version} 版），等待初审", "success")
    return redirect(url_for("moderation.content_detail", content_id=content.id))


@pages.post("/contents/<int:content_id>/submit")
def submit_page(content_id: int) -> Any:
    content = _scoped_content(content_id)
    return _submit_and_render(content, current_user())


# ----------------------------------------------------------------------------- detail


def _checks_for(content: Content) -> tuple[dict[str, Any], bool]:
    report = service.latest_report(content)
    if report is not None:
        items = [service.finding_dict(f, content) for f in report.findings]
        return _findings_view(content, items), True
    items = [service.finding_dict(f, content) for f in service.run_checks(content)]
    return _findings_view(content, items), False


@pages.get("/contents/<int:content_id>")
def content_detail(content_id: int) -> Any:
    content = _scoped_content(content_id)
    user = current_user()
    findings, stored = _checks_for(content)
    stage = workflow.stage_of(content.status)
    return render_template(
        "moderation/detail.html",
        content=content,
        findings=findings,
        findings_stored=stored,
        versions=service.versions(content),
        reviews=service.reviews_of(content),
        linked=[c for c in service.linked_group(content) if c.id != content.id],
        can_edit=_is_author_role(user) and content.status in service.EDITABLE_STATUSES,
        can_submit=_is_author_role(user) and content.status in workflow.TRANSITIONS[workflow.ReviewAction.submit],
        can_review=stage is not None and user.has_role(workflow.STAGE_ROLES[stage]),
        stage=stage,
    )


@pages.get("/contents/<int:content_id>/versions/<int:version>/diff")
def version_diff_page(content_id: int, version: int) -> Any:
    content = _scoped_content(content_id)
    against = request.args.get("against", type=int)
    from_version, to_version, fields = _diff(content, version, against)
    return render_template(
        "moderation/diff.html",
        content=content,
        from_version=from_version,
        to_version=to_version,
        fields=fields,
        view=_diff_view(),
        side=_side_rows(fields),
    )


def _diff_view() -> str:
    return "side" if request.args.get("view") == "side" else "inline"


def _side_rows(fields: list[diffing.FieldDiff]) -> dict[str, list[diffing.Row]]:
    return {f.field: diffing.side_by_side(f.old, f.new) for f in fields if f.changed}


# ----------------------------------------------------------------------------- queue and review


@pages.get("/review")
def queue() -> Any:
    user = current_user()
    mine = workflow.reviewer_stages(user)
    if not mine:
        raise Forbidden("您没有审核角色（初审 / 复审 / 终审），无法查看待审队列", code="wrong_role")
    stage = request.args.get("stage", type=int)
    if stage not in mine:
        stage = mine[0]
    now = _now()
    rows = db.session.scalars(workflow.queue_statement(user, [stage]).limit(500)).all()
    entries = [workflow.queue_entry(c, user, now) for c in rows]
    counts = {
        s: db.session.scalar(
            sa.select(sa.func.count()).select_from(workflow.queue_statement(user, [s]).order_by(None).subquery())
        )
        for s in mine
    }
    return render_template(
        "moderation/queue.html",
        stage=stage,
        stages=mine,
        counts=counts,
        entries=entries,
        overdue_hours=workflow.overdue_hours(stage),
        duty=workflow.STAGE_DUTIES[stage],
    )


def _review_context(content: Content, user: User) -> dict[str, Any]:
    stage = workflow.stage_of(content.status)
    refusal = workflow.reviewer_refusal(content, stage, user) if stage else None
    previous = service.previous_version(content, content.version)
    current = service.version_snapshot(content, content.version) or service.snapshot(content)
    fields = diffing.diff_snapshots(previous.snapshot if previous else None, current)
    findings, stored = _checks_for(content)
    return {
        "content": content,
        "stage": stage,
        "refusal": refusal.message if refusal is not None else None,
        "previous": previous,
        "fields": fields,
        "side": _side_rows(fields),
        "view": _diff_view(),
        "findings": findings,
        "findings_stored": stored,
        "needs_ack": stage == 2 and findings["warnings"] > 0,
        "reviews": service.reviews_of(content),
        "overdue": workflow.is_overdue(content),
        "duty": workflow.STAGE_DUTIES.get(stage or 0),
    }


@pages.get("/contents/<int:content_id>/media/<string:sha256>")
def media_page(content_id: int, sha256: str) -> Any:
    """A file of a content, for previews: images inline with their sniffed type, others downloaded."""
    from common import media as media_store

    content = _scoped_content(content_id)
    entry = next((m for m in content.media or [] if m.get("sha256") == sha256), None)
    data = media_store.load(sha256) if entry is not None else None
    if entry is None or data is None:
        raise NotFound("文件不存在或已被清理")
    return media_store.send(data, entry.get("name") or sha256[:12])


@pages.get("/review/<int:content_id>")
def review_page(content_id: int) -> Any:
    content = _scoped_content(content_id)
    return render_template("moderation/review.html", **_review_context(content, current_user()))


@pages.post("/review/<int:content_id>")
def review_action(content_id: int) -> Any:
    content = _scoped_content(content_id)
    user = current_user()
    form = request.form
    decision = form.get("decision", "")
    stage_before = workflow.stage_of(content.status)
    try:
        workflow.review(
            content,
            user,
            decision,
            comment=form.get("comment"),
            acknowledge_warnings=form.get("acknowledge_warnings") in ("1", "on", "true"),
            stage=form.get("stage", type=int),
            version=form.get("version", type=int),
        )
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        context = _review_context(content, user)
        context["error"] = exc
        context["comment"] = form.get("comment", "")
        return render_template("moderation/review.html", **context), exc.status_code
    label = workflow.STAGE_LABELS.get(stage_before or 0, "")
    if decision == "reject":
        flash(f"已退回（{label}），意见已发送给作者", "success")
    elif content.status is ContentStatus.scheduled:
        flash(f"终审通过，已排期于 {_bj(content.publish_at)}（北京时间）发布", "success")
    elif content.status is ContentStatus.approved:
        flash("终审通过，稿件将在几秒内开始发布", "success")
    else:
        flash(f"{label}通过，已转{workflow.STAGE_LABELS[(stage_before or 0) + 1]}", "success")
    return redirect(url_for("moderation.queue", stage=stage_before))
