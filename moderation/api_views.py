"""Content and review: the /api/v1 endpoints (稿件, 审核, 检查, 素材).

Views commit; services flush. A refused action rolls back and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import File

from auth.models import User
from auth.scoping import current_user, get_scoped, scope_filter
from common import media as media_store
from common.db import utcnow
from common.errors import Forbidden, NotFound
from common.pagination import paginate
from extensions import db
from moderation import diff as diffing
from moderation import review as workflow
from moderation import review_history, service
from moderation.attachments import extract_text
from moderation.models import (
    Content,
    ContentKind,
    ContentStatus,
    ContentVersion,
)
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
    ReviewHistoryPage,
    ReviewHistoryQuery,
    ReviewQueuePage,
    ReviewQueueQuery,
)

api = APIBlueprint("moderation_api", __name__, url_prefix="/api/v1", tag="稿件与审核")

# ============================================================================= API


def scoped_content(content_id: int) -> Content:
    return get_scoped(Content, content_id)


@api.get("/contents")
@api.input(ContentQuery, location="query", arg_name="q")
@api.output(ContentPage)
@api.doc(summary="稿件列表（按权限范围）", security="BearerAuth")
def list_contents(q: dict[str, Any]) -> Any:
    user = current_user()
    stmt = content_filter(sa.select(Content).where(scope_filter(user, Content.unit_id)), q)
    stmt = stmt.order_by(Content.updated_at.desc(), Content.id.desc())
    return paginate(stmt, q["page"], q["per_page"], lambda c: service.content_dict(c, full=False))


def content_filter(stmt: sa.Select[Any], q: Mapping[str, Any]) -> sa.Select[Any]:
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
    return service.content_dict(scoped_content(content_id))


@api.patch("/contents/<int:content_id>")
@api.input(ContentFields, arg_name="data")
@api.output(ContentOut)
@api.doc(
    summary="修改稿件（提交后修改将生成新版本、作废已有审核通过记录并退回草稿）",
    security="BearerAuth",
)
def update_content(content_id: int, data: dict[str, Any]) -> Any:
    content = scoped_content(content_id)
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
    content = scoped_content(content_id)
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
    content = scoped_content(content_id)
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
    content = scoped_content(content_id)
    report = service.latest_report(content)
    if report is not None:
        return service.report_dict(content, report)
    return service.report_dict(content, None, service.run_checks(content))


@api.get("/contents/<int:content_id>/versions")
@api.output(ContentVersionList)
@api.doc(summary="已提交的各版本", security="BearerAuth")
def content_versions(content_id: int) -> Any:
    content = scoped_content(content_id)
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
def versiondiff_versions(content_id: int, version: int, q: dict[str, Any]) -> Any:
    content = scoped_content(content_id)
    from_version, to_version, fields = diff_versions(content, version, q.get("against"))
    return {
        "content_id": content.id,
        "from_version": from_version,
        "to_version": to_version,
        "fields": [f.to_dict() for f in fields],
    }


def diff_versions(
    content: Content, version: int, against: int | None
) -> tuple[int | None, int, list[diffing.FieldDiff]]:
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
    now = utc_now()
    result = paginate(
        workflow.queue_statement(user, stages),
        q["page"],
        q["per_page"],
        lambda c: _queue_item(c, user, now),
    )
    result["stages"] = stages
    result["overdue_hours"] = {str(s): workflow.overdue_hours(s) for s in stages}
    return result


@api.get("/review-history")
@api.input(ReviewHistoryQuery, location="query", arg_name="q")
@api.output(ReviewHistoryPage)
@api.doc(
    summary="我审核过的：本人的通过/退回结论（环节、意见、时间）及稿件现状，最新的在前；限本人可见的单位",
    security="BearerAuth",
)
def review_history_list(q: dict[str, Any]) -> Any:
    user = current_user()
    review_history.require_reviewer(user)
    stmt = review_history.history_statement(user, q.get("stage"))
    return paginate(stmt, q["page"], q["per_page"], review_history.history_item)


def utc_now() -> datetime:

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
    return store_upload(files["file"]), 201


def store_upload(storage: Any) -> dict[str, Any]:

    data, name = media_store.read_upload(storage)  # never more than one byte past the limit
    content_type = storage.mimetype or "application/octet-stream"
    sha = media_store.save(data)
    item = {"name": name, "content_type": content_type, "sha256": sha}
    role = service.media_role(item)
    text = extract_text(data, content_type, name) if role == "attachment" else ""
    return {**item, "size": len(data), "role": role, "text": text, "text_extracted": bool(text)}
