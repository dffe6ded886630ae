"""The content editor pages (operators): new, edit, save, 检查 and submit.

Views commit; services flush. A refused action rolls back and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for

from auth.models import User
from auth.scoping import current_user, unit_subtree_ids
from common.errors import ApiError, Forbidden
from extensions import db
from moderation import review as workflow
from moderation import service
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
        stored = store_upload(upload)
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
        "publish_at": from_local(form.get("publish_at")),
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
            "publish_at": bj_or_blank(publish_at, "%Y-%m-%dT%H:%M") if publish_at else "",
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
        "publish_at": bj_or_blank(content.publish_at, "%Y-%m-%dT%H:%M") if content.publish_at else "",
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
    if not is_author_role(user):
        raise Forbidden("只有运营人员可以起草和修改稿件", code="wrong_role")


@pages.route("/contents/new", methods=["GET", "POST"])
def new_content() -> Any:
    user = current_user()
    _require_author_page(user)
    if request.method == "GET":
        return _render_editor(None, user.unit_id, state=_form_state(None))
    return _editor_post(None, user)


@pages.route("/contents/<int:content_id>/edit", methods=["GET", "POST"])
def edit_content(content_id: int) -> Any:
    content = scoped_content(content_id)
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
        return _render_editor(content, unit_id, state=state, findings=findings_view(preview, findings))

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
            findings = findings_view(content, details["findings"])
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
    content = scoped_content(content_id)
    return _submit_and_render(content, current_user())
