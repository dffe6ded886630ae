"""Content and review pages: the contents list, detail, version diff, the review queue and review.

The editor (new/edit/submit) is in ``moderation.editor_views`` on the same blueprint.
Views commit; services flush. A refused action rolls back and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from auth.models import User
from auth.scoping import current_user, scope_filter
from common import media as media_store
from common.errors import ApiError, Forbidden, Invalid, NotFound
from common.fields import EARLIEST, LATEST
from common.pagination import paginate
from common.timefmt import CN_TZ, bj
from extensions import db
from moderation import diff as diffing
from moderation import review as workflow
from moderation import review_history, service
from moderation.api_views import content_filter, diff_versions, scoped_content, utc_now
from moderation.models import (
    CONTENT_KIND_LABELS,
    CONTENT_STATUS_LABELS,
    DISCLOSURE_LABELS,
    Content,
    ContentKind,
    ContentStatus,
)
from platforms.types import PLATFORM_LABELS

pages = Blueprint("moderation", __name__)

PER_PAGE = 30


def bj_or_blank(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return bj(value, fmt) if value is not None else ""


def from_local(value: str | None) -> datetime | None:
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
        "bj": bj_or_blank,
        "STATUS_LABELS": CONTENT_STATUS_LABELS,
        "KIND_LABELS": CONTENT_KIND_LABELS,
        "DISCLOSURE_LABELS": DISCLOSURE_LABELS,
        "PLATFORM_LABELS": PLATFORM_LABELS,
        "STAGE_LABELS": workflow.STAGE_LABELS,
        "url_or_none": _url_or_none,
    }


def is_author_role(user: User) -> bool:
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
    stmt = content_filter(sa.select(Content).where(scope_filter(user, Content.unit_id)), q)
    result = paginate(stmt.order_by(Content.updated_at.desc(), Content.id.desc()), page, PER_PAGE)
    return render_template(
        "moderation/contents.html",
        result=result,
        q=q,
        statuses=list(ContentStatus),
        kinds=list(ContentKind),
        can_create=is_author_role(user),
        pages_total=max(1, -(-result["total"] // PER_PAGE)),
    )


def findings_view(content: Content, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Findings numbered 1..n, plus each field's text split into marked segments."""
    return diffing.marked_fields(service.check_fields(content), findings, lambda f: service.field_label(f, content))


# ----------------------------------------------------------------------------- detail


def checks_for(content: Content) -> tuple[dict[str, Any], bool]:
    report = service.latest_report(content)
    if report is not None:
        items = [service.finding_dict(f, content) for f in report.findings]
        return findings_view(content, items), True
    items = [service.finding_dict(f, content) for f in service.run_checks(content)]
    return findings_view(content, items), False


@pages.get("/contents/<int:content_id>")
def content_detail(content_id: int) -> Any:
    content = scoped_content(content_id)
    user = current_user()
    findings, stored = checks_for(content)
    stage = workflow.stage_of(content.status)
    return render_template(
        "moderation/detail.html",
        content=content,
        findings=findings,
        findings_stored=stored,
        versions=service.versions(content),
        reviews=service.reviews_of(content),
        rejection=workflow.open_rejection(content),
        linked=[c for c in service.linked_group(content) if c.id != content.id],
        can_edit=is_author_role(user) and content.status in service.EDITABLE_STATUSES,
        can_submit=is_author_role(user) and content.status in workflow.TRANSITIONS[workflow.ReviewAction.submit],
        can_review=stage is not None and user.has_role(workflow.STAGE_ROLES[stage]),
        stage=stage,
    )


@pages.get("/contents/<int:content_id>/versions/<int:version>/diff")
def version_diff_page(content_id: int, version: int) -> Any:
    content = scoped_content(content_id)
    against = request.args.get("against", type=int)
    from_version, to_version, fields = diff_versions(content, version, against)
    return render_template(
        "moderation/diff.html",
        content=content,
        from_version=from_version,
        to_version=to_version,
        fields=fields,
        view=diff_view(),
        side=side_rows(fields),
    )


def diff_view() -> str:
    return "side" if request.args.get("view") == "side" else "inline"


def side_rows(fields: list[diffing.FieldDiff]) -> dict[str, list[diffing.Row]]:
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
    now = utc_now()
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


@pages.get("/review/history")
def review_history_page() -> Any:
    """我审核过的: the reviewer's own decisions and what became of each content, newest first."""
    user = current_user()
    mine = review_history.require_reviewer(user)
    stage = request.args.get("stage", type=int)
    if stage not in workflow.STAGES:
        stage = None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    result = paginate(review_history.history_statement(user, stage), page, PER_PAGE, review_history.history_item)
    return render_template(
        "moderation/review_history.html",
        result=result,
        stage=stage,
        stages=mine,
        pages_total=max(1, -(-result["total"] // PER_PAGE)),
    )


def _review_context(content: Content, user: User) -> dict[str, Any]:
    stage = workflow.stage_of(content.status)
    refusal = workflow.reviewer_refusal(content, stage, user) if stage else None
    previous = service.previous_version(content, content.version)
    current = service.version_snapshot(content, content.version) or service.snapshot(content)
    fields = diffing.diff_snapshots(previous.snapshot if previous else None, current)
    findings, stored = checks_for(content)
    return {
        "content": content,
        "stage": stage,
        "refusal": refusal.message if refusal is not None else None,
        "previous": previous,
        "fields": fields,
        "side": side_rows(fields),
        "view": diff_view(),
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

    content = scoped_content(content_id)
    entry = next((m for m in content.media or [] if m.get("sha256") == sha256), None)
    data = media_store.load(sha256) if entry is not None else None
    if entry is None or data is None:
        raise NotFound("文件不存在或已被清理")
    return media_store.send(data, entry.get("name") or sha256[:12])


@pages.get("/review/<int:content_id>")
def review_page(content_id: int) -> Any:
    content = scoped_content(content_id)
    return render_template("moderation/review.html", **_review_context(content, current_user()))


@pages.post("/review/<int:content_id>")
def review_action(content_id: int) -> Any:
    content = scoped_content(content_id)
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
        flash(f"终审通过，已排期于 {bj_or_blank(content.publish_at)}（北京时间）发布", "success")
    elif content.status is ContentStatus.approved:
        flash("终审通过，稿件将在几秒内开始发布", "success")
    else:
        flash(f"{label}通过，已转{workflow.STAGE_LABELS[(stage_before or 0) + 1]}", "success")
    return redirect(url_for("moderation.queue", stage=stage_before))
