"""The content editor pages (operators): new, edit, save, 检查 and submit.

Views commit; services flush. A refused action rolls back and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, render_template, request, session, url_for

from auth.models import User
from auth.scoping import current_user, scope_filter, unit_subtree_ids
from common import media as media_store
from common.db import utcnow
from common.errors import ApiError, Conflict, Forbidden, Invalid, NotFound, error_body
from common.timefmt import bj
from extensions import db
from moderation import attachments, editor_extensions, editor_fixes, editor_limits, light_review, service
from moderation import review as workflow
from moderation.api_views import scoped_content, store_upload
from moderation.models import (
    Content,
    ContentKind,
    ContentStatus,
    Disclosure,
)
from moderation.page_views import bj_or_blank, findings_view, from_local, is_author_role, pages
from moderation.sanitize import html_to_text, sanitize_html
from registry.models import PUBLISHABLE_PLATFORMS, Account, AccountStatus, Platform

# ----------------------------------------------------------------------------- editor

TOKENS_KEY = "editor_created"  # session: the new-draft form's token → the content it created
NOTICE_KEY = "editor_notice"  # session: a blocked submit's message and findings, shown after the redirect
TOKENS_KEPT = 30


def _media_from_form(form: Mapping[str, Any], files: Any, *, uploads: bool = True) -> list[dict[str, Any]]:
    """The editor carries the media list in hidden fields; alt/text editable, items removable.

    Several new files at once (``new_media`` is a multiple file input): the per-content count is
    checked before any file is stored; each file is refused by name when over ``MEDIA_MAX_MB``.
    The image chosen as cover (``cover``: its sha256) is moved first: the adapters take the
    first image as the cover.
    """
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
    chosen = [f for f in (files.getlist("new_media") if files and uploads else []) if f is not None and f.filename]
    limit = media_store.max_per_content()
    if chosen and len(items) + len(chosen) > limit:
        message = (
            f"每篇稿件最多 {limit} 个图片、视频或附件：已有 {len(items)} 个，本次选择了 {len(chosen)} 个，"
            f"最多还能添加 {max(0, limit - len(items))} 个"
        )
        for upload in chosen:
            upload.close()
        raise Invalid(message, code="too_many_media", details={"media": [message]})
    for index, upload in enumerate(chosen):
        name = upload.filename
        try:
            stored = store_upload(upload)  # closes the file
        except ApiError as exc:
            for rest in chosen[index + 1 :]:
                rest.close()
            message = f"“{name}”：{exc.message}"
            raise ApiError(
                message, status=exc.status_code, code=(exc.extra_data or {}).get("code"), details={"media": [message]}
            ) from None
        _remember_upload(stored["sha256"])  # a new draft's preview shows it before the draft is saved
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
    media = [service.normalize_media_item(m) for m in items]
    cover = (form.get("cover") or "").strip().lower()
    first = next((m for m in media if m["role"] == "image" and m["sha256"] == cover), None)
    if first is not None:
        media.remove(first)
        media.insert(0, first)
    # The crop chosen next to the cover (``cover_crop``; empty = 原图) goes on the cover only.
    crop = (form.get("cover_crop") or "").strip()
    if crop and crop not in service.COVER_CROPS:
        message = f"封面裁剪比例应为 {'、'.join(service.COVER_CROPS)} 之一"
        raise Invalid(message, code="invalid_crop", details={"media": [message]})
    cover_item = next((m for m in media if m["role"] == "image"), None)
    if cover_item is not None and crop:
        cover_item["crop"] = crop
    return media


def _form_data(content: Content | None, *, uploads: bool = True) -> dict[str, Any]:
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
        "publish_at": from_local(form.get("publish_at")),
        "media": _media_from_form(form, request.files, uploads=uploads),
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
    token = request.form.get("form_token") if request.method == "POST" else None
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
            "publish_at": bj_or_blank(publish_at, "%Y-%m-%dT%H:%M") if publish_at else "",
            "media": list(data.get("media") or []),
            "send_modes": {k: v for k, v in request.form.items() if k.startswith("send_mode_")},
            "form_token": token or uuid.uuid4().hex,
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
            "send_modes": {},
            "form_token": token or uuid.uuid4().hex,
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
        "publish_at": bj_or_blank(content.publish_at, "%Y-%m-%dT%H:%M") if content.publish_at else "",
        "media": [service.normalize_media_item(m) for m in (content.media or [])],
        "send_modes": {},
        "form_token": token or uuid.uuid4().hex,
    }


def _placed_findings(findings: dict[str, Any] | None) -> dict[str, Any] | None:
    """The numbered findings with where each is shown and its one-click fix, grouped by field block."""
    if findings is None:
        return None
    by_anchor: dict[str, list[dict[str, Any]]] = {}
    for item in findings["items"]:
        item["anchor"] = editor_fixes.anchor_of(item["field"])
        item["fix"] = editor_fixes.fix_of(item)
        item["fix_key"] = editor_fixes.fix_key(item)
        by_anchor.setdefault(item["anchor"], []).append(item)
    return {**findings, "by_anchor": by_anchor}


def _selected_accounts(unit_id: int, state: Mapping[str, Any]) -> list[Account]:
    accounts, _ = service.target_problems(unit_id, sorted(state.get("target_ids") or []))
    return accounts


def _render_editor(
    content: Content | None,
    unit_id: int,
    *,
    state: dict[str, Any],
    findings: dict[str, Any] | None = None,
    error: ApiError | None = None,
    status: int = 200,
    fixed: str | None = None,
) -> Any:
    errors = error.detail if error is not None and isinstance(error.detail, dict) else {}
    options = _editor_options(unit_id, content)
    usable = [row["account"] for rows in options["accounts_by_platform"].values() for row in rows if row["usable"]]
    choices = editor_extensions.options_for(content, usable)
    for choice in choices:
        choice["current"] = state["send_modes"].get(choice["field"], choice["current"])
    return (
        render_template(
            "moderation/editor.html",
            content=content,
            rejection=workflow.open_rejection(content) if content is not None else None,
            state=state,
            extracted_media=_extracted_media(state.get("media") or []),
            cover_crop_labels=service.COVER_CROP_LABELS,
            findings=_placed_findings(findings),
            fixed=fixed,
            error=error,
            errors=errors,
            disclosures=list(Disclosure),
            kinds=list(ContentKind),
            counters=editor_limits.counters(),
            target_choices=choices,
            chosen_platforms=sorted({a.platform.value for a in _selected_accounts(unit_id, state)}),
            autosave_seconds=current_app.config["EDITOR_AUTOSAVE_SECONDS"],
            **options,
        ),
        status,
    )


def _extracted_media(media: list[dict[str, Any]]) -> set[str]:
    """sha256 of the attachments whose text comes from their file (shown read-only in the editor)."""

    return {
        m["sha256"]
        for m in media
        if m.get("role") == "attachment" and attachments.stored_text(m["sha256"], m["content_type"], m["name"])
    }


def _require_author_page(user: User) -> None:
    if not is_author_role(user):
        raise Forbidden("只有运营人员可以起草和修改稿件", code="wrong_role")


def _created_by_token(token: str | None) -> Content | None:
    """The draft this new-draft form already created (a refresh, a double click, an autosave)."""
    content_id = (session.get(TOKENS_KEY) or {}).get(token or "")
    return scoped_content(int(content_id)) if content_id else None


def _remember_token(token: str | None, content: Content) -> None:
    if not token:
        return
    tokens = dict(session.get(TOKENS_KEY) or {})
    tokens[token] = content.id
    session[TOKENS_KEY] = dict(list(tokens.items())[-TOKENS_KEPT:])


@pages.route("/contents/new", methods=["GET", "POST"])
def new_content() -> Any:
    user = current_user()
    _require_author_page(user)
    if request.method == "GET":
        state = _form_state(None)
        try:  # the calendar's 新建 in a slot: ?publish_at=2026-12-07T09:00 (Beijing)
            state["publish_at"] = bj_or_blank(from_local(request.args.get("publish_at")), "%Y-%m-%dT%H:%M")
        except Invalid:
            state["publish_at"] = ""
        return _render_editor(None, user.unit_id, state=state)
    existing = _created_by_token(request.form.get("form_token"))
    if existing is not None and request.form.get("action") not in ("check", "fix"):
        return _editor_post(existing, user)  # the same form posted again: edit what it created
    return _editor_post(None, user)


@pages.route("/contents/<int:content_id>/edit", methods=["GET", "POST"])
def edit_content(content_id: int) -> Any:
    content = scoped_content(content_id)
    user = current_user()
    _require_author_page(user)
    if request.method == "GET":
        notice = session.pop(NOTICE_KEY, None)
        if notice and notice.get("content_id") == content.id:
            error = ApiError(notice["message"], status=notice["status"], code=notice["code"])
            findings = findings_view(content, notice["findings"]) if notice.get("findings") else None
            return _render_editor(content, content.unit_id, state=_form_state(content), findings=findings, error=error)
        return _render_editor(content, content.unit_id, state=_form_state(content))
    return _editor_post(content, user)


def _check(data: dict[str, Any], unit_id: int) -> dict[str, Any]:
    preview = _preview(data, unit_id)
    findings = [service.finding_dict(f, preview) for f in service.run_checks(preview)]
    return findings_view(preview, findings)


def _apply_fix(data: dict[str, Any], unit_id: int) -> tuple[str | None, ApiError | None]:
    """The 应用建议 button: the server finds the hit again and applies its own suggestion."""
    key = editor_fixes.parse_fix_key(request.form.get("fix", ""))
    preview = _preview(data, unit_id)
    hits = [service.finding_dict(f, preview) for f in service.run_checks(preview)]
    hit = next((h for h in hits if key is not None and (h["start"], h["end"], h["field"]) == key), None)
    replacement = editor_fixes.fix_of(hit) if hit is not None else None
    if hit is None or replacement is None or not editor_fixes.apply_fix(data, hit, replacement):
        return None, Invalid("该问题已不存在或没有可直接应用的建议，请重新检查")
    return f"已将{hit['field_label']}中的“{hit['text']}”改为“{replacement}”，并重新检查", None


def _save(content: Content | None, data: dict[str, Any], user: User) -> Content:
    if content is None:
        content = service.create_content(data, user)
    else:
        service.update_content(content, data, user)
    editor_extensions.save_all(content, request.form, user)
    return content


def _editor_post(content: Content | None, user: User) -> Any:
    action = request.form.get("action", "save")
    if request.form.get("fix"):
        action = "fix"
    unit_id = content.unit_id if content is not None else user.unit_id
    try:
        data = _form_data(content, uploads=action != "fix")
    except ApiError as exc:
        return _render_editor(content, unit_id, state=_form_state(content), error=exc, status=exc.status_code)

    if action == "fix":
        fixed, problem = _apply_fix(data, unit_id)
        state = _form_state(content, data)
        return _render_editor(content, unit_id, state=state, findings=_check(data, unit_id), error=problem, fixed=fixed)
    state = _form_state(content, data)
    if action == "check":
        return _render_editor(content, unit_id, state=state, findings=_check(data, unit_id))

    try:
        content = _save(content, data, user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        return _render_editor(content, unit_id, state=state, error=exc, status=exc.status_code)
    _remember_token(request.form.get("form_token"), content)

    if action != "submit":
        flash("稿件已保存", "success")
        return redirect(url_for("moderation.edit_content", content_id=content.id))
    return _submit_and_redirect(content, user)


def _submit_and_redirect(content: Content, user: User) -> Any:
    """Submit, then Post/Redirect/Get either way: a refused submit shows its reasons on the edit page."""
    try:
        workflow.submit(content, user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        details = exc.detail if isinstance(exc.detail, dict) else {}
        session[NOTICE_KEY] = {
            "content_id": content.id,
            "message": exc.message,
            "status": exc.status_code,
            "code": (exc.extra_data or {}).get("code"),
            "findings": details.get("findings") or [],
        }
        return redirect(url_for("moderation.edit_content", content_id=content.id) + "#error-summary")
    if content.status is ContentStatus.review_3:  # the lighter review (moderation.light_review)
        flash(f"已提交审核（第 {content.version} 版）。{light_review.NOTICE}，等待终审", "success")
    else:
        flash(f"已提交审核（第 {content.version} 版），等待初审", "success")
    return redirect(url_for("moderation.content_detail", content_id=content.id))


@pages.post("/contents/<int:content_id>/submit")
def submit_page(content_id: int) -> Any:
    content = scoped_content(content_id)
    return _submit_and_redirect(content, current_user())


# ----------------------------------------------------------------------------- autosave


@pages.post("/contents/autosave")
def autosave() -> Any:
    """Background save of the editor (JSON): a new draft is created once (by its form token),
    then the same draft is updated in place — never a new content, never a new version.

    Only a draft whose current version was never submitted is autosaved: saving a submitted
    content starts a new version and voids approvals, which needs the operator's own click.
    """
    user = current_user()
    _require_author_page(user)
    raw_id = request.form.get("content_id") or ""
    content = scoped_content(int(raw_id)) if raw_id.isdigit() else _created_by_token(request.form.get("form_token"))
    try:
        if content is not None and (content.status is not ContentStatus.draft or service.needs_new_version(content)):
            raise Conflict("已提交过审核的稿件不自动保存；修改后请点“保存草稿”（将生成新版本）", code="not_autosaved")
        data = _form_data(content, uploads=False)
        if content is None and not (data.get("title") or "").strip():
            raise Invalid("填写标题后才会自动保存", code="not_autosaved", details={"title": ["标题不能为空"]})
        created = content is None
        content = _save(content, data, user)
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        code = (exc.extra_data or {}).get("code")
        return jsonify(error_body(exc.status_code, exc.message, exc.detail, code)), exc.status_code
    _remember_token(request.form.get("form_token"), content)
    return jsonify(
        {
            "content_id": content.id,
            "created": created,
            "version": content.version,
            "saved_at": bj(utcnow(), "%H:%M"),
            "message": f"已自动保存 {bj(utcnow(), '%H:%M')}",
            "edit_url": url_for("moderation.edit_content", content_id=content.id),
        }
    )


@pages.post("/contents/preview")
def live_preview() -> Any:
    """The editor's live preview (JSON ``{"html", "platforms"}``): what each chosen account's
    platform will show for the text as typed, rendered like the saved preview (the adapters'
    ``render`` through the ``platform_previews`` template global) from a transient content that is
    never saved — no version, no audit, nothing changes. A draft not saved yet shows its files from
    the uploader's own address (``editor_upload_file``). Authors only, in their scope; bad input → 4xx JSON."""
    user = current_user()
    try:
        _require_author_page(user)
        raw_id = request.form.get("content_id") or ""
        if raw_id and not raw_id.isdigit():
            raise Invalid("稿件编号不正确", details={"content_id": ["应为整数"]})
        content = scoped_content(int(raw_id)) if raw_id else None
        unit_id = content.unit_id if content is not None else user.unit_id
        data = _form_data(content, uploads=False)
    except ApiError as exc:
        code = (exc.extra_data or {}).get("code")
        return jsonify(error_body(exc.status_code, exc.message, exc.detail, code)), exc.status_code
    preview = _preview(data, unit_id)
    preview.id = content.id if content is not None else None
    html = render_template("moderation/_live_preview.html", preview=preview)
    platforms = sorted({a.platform.value for a in preview.targets})
    db.session.rollback()  # the transient content never reaches the database
    return jsonify({"html": html, "platforms": platforms, "updated_at": bj(utcnow(), "%H:%M:%S")})


# ----------------------------------------------------------------------------- inline images

UPLOADS_KEY = "editor_uploads"  # session: sha256 of the files this person uploaded from the editor
UPLOADS_KEPT = 200


@pages.post("/contents/uploads")
def editor_upload() -> Any:
    """An image placed inline by the rich-text editor (JSON; CSRF header): stored like any media file.

    The editor adds it to the content's media list as well, so it is checked, previewed and
    published with the content; the body refers to it as ``/contents/uploads/<sha256>``.
    """
    user = current_user()
    _require_author_page(user)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Invalid("请选择要上传的图片", details={"file": ["请选择要上传的图片"]})
        stored = store_upload(upload)
        if stored["role"] != "image":
            raise Invalid("正文中只能插入图片；附件和视频请在“图片与附件”中添加", details={"file": ["不是图片"]})
    except ApiError as exc:
        code = (exc.extra_data or {}).get("code")
        return jsonify(error_body(exc.status_code, exc.message, exc.detail, code)), exc.status_code
    _remember_upload(stored["sha256"])
    return jsonify({**stored, "url": url_for("moderation.editor_upload_file", sha256=stored["sha256"])}), 201


def _remember_upload(sha256: str) -> None:
    """This person uploaded ``sha256``: they may see it (``editor_upload_file``) before any saved
    content holds it — an inline image, or a file added to a draft not saved yet (its preview)."""
    uploads = [*(session.get(UPLOADS_KEY) or []), sha256]
    session[UPLOADS_KEY] = uploads[-UPLOADS_KEPT:]


@pages.get("/contents/uploads/<string:sha256>")
def editor_upload_file(sha256: str) -> Any:
    """An inline image: to whoever uploaded it, or can see a content whose media include it."""
    sha256 = sha256.lower()
    user = current_user()
    visible = sha256 in (session.get(UPLOADS_KEY) or [])
    if not visible and len(sha256) == 64:
        stmt = sa.select(Content.id).where(
            scope_filter(user, Content.unit_id), sa.cast(Content.media, sa.String).contains(sha256)
        )
        visible = db.session.scalar(stmt.limit(1)) is not None
    data = media_store.load(sha256) if visible else None
    if data is None:
        raise NotFound("图片不存在或已被清理")
    return media_store.send(data, sha256[:12])
