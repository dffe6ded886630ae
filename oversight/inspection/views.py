"""Inspection pages and JSON API (/api/v1/inspection, /inspection).

Auditors (网信办) and admins see every unit; operators see their own unit (and its sub-units).
Objects outside the caller's scope answer 404. Recording an allowed exception is for the unit's
operators and for auditors/admins; imports for auditors/admins.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, File, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from auth.models import Role, User
from auth.scoping import current_user, get_scoped, scope_filter
from common.errors import ApiError, Forbidden
from common.fields import DateTime, Integer
from common.pagination import MAX_PER_PAGE, PageOut, paginate
from common.timefmt import bj
from extensions import db
from moderation import diff as diffing
from moderation.checking import field_label, finding_dict
from moderation.models import Content
from oversight import discovery
from oversight.findings import ACTIVE_STATUSES, VIEW_ROLES
from oversight.inspection import coverage as coverage_service
from oversight.inspection import postimport, service, trace
from oversight.inspection.models import (
    POST_SOURCE_LABELS,
    POST_STATE_LABELS,
    AccountInspection,
    LivePost,
    PostSource,
    PostState,
    confirmed_at,
)
from oversight.inspection.sources import SOURCE_LABELS
from oversight.models import Finding
from platforms.types import PLATFORM_LABELS
from publishers.models import Delivery
from registry.models import Account, Platform, Unit

api = APIBlueprint("inspection_api", __name__, url_prefix="/api/v1/inspection", tag="巡检")
pages = Blueprint("inspection", __name__, url_prefix="/inspection")

WORK_ROLES = (Role.auditor, Role.admin)
EXCEPTION_ROLES = (Role.operator, Role.auditor, Role.admin)


def _require(roles: tuple[Role, ...], message: str) -> User:
    user = current_user()
    if not user.has_role(*roles):
        raise Forbidden(message, details={"required_roles": [r.value for r in roles]})
    return user


def _viewer() -> User:
    return _require(VIEW_ROLES, "您的角色无权查看巡检结果")


# ----------------------------------------------------------------------------- schemas


class CoverageQuery(Schema):
    unit_id = Integer(load_default=None)
    platform = String(load_default=None, validate=OneOf([p.value for p in Platform]))


class PostQuery(Schema):
    source = String(load_default=None, validate=OneOf([s.value for s in PostSource]))
    state = String(load_default=None, validate=OneOf([s.value for s in PostState]))
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class PostOut(Schema):
    id = Integer()
    account_id = Integer()
    platform = String()
    platform_post_id = String()
    published_at = DateTime(allow_none=True)
    title = String()
    text = String()
    url = String(allow_none=True)
    source = String()
    source_label = String()
    delivery_id = Integer(allow_none=True)
    state = String()
    state_label = String()
    removed_reason = String(allow_none=True)
    tamper_state = String(allow_none=True)
    expected_text = String(allow_none=True)
    check_hits = List(Dict())
    blocking_hits = Integer()
    exception = Dict(allow_none=True)
    seen_via = String()
    seen_via_label = String()
    first_seen_at = DateTime()
    last_seen_at = DateTime(metadata={"description": "该条记录最近一次变化的时间（首次发现、改动、删除、重新出现）"})
    confirmed_at = DateTime(
        allow_none=True,
        metadata={
            "description": "在线内容确认在线的截至时间：落在账号最近一次读取范围内的为该次读取时间，"
            "否则为该条最近一次变化的时间；已删除的为空"
        },
    )
    in_last_reading = Boolean(metadata={"description": "是否落在账号最近一次读取的范围内"})
    state_detail = String(metadata={"description": "状态说明，如“在线（截至 2026-12-06 09:00）”"})
    open_findings = List(Dict())


class PostPage(PageOut):
    items = List(Nested(PostOut))


class ExceptionIn(Schema):
    reason = String(required=True, validate=Length(min=2, max=2000))


class CoverageOut(Schema):
    generated_at = String()
    stale_after_hours = Integer()
    ledger = Integer(metadata={"description": "台账中应巡检的账号数（运行中、变更中、停更公告期、已暂停）"})
    totals = Dict(metadata={"description": "checked / stale / not_checkable / total"})
    state_labels = Dict()
    by_platform = List(Dict())
    by_unit = List(Dict())
    by_reason = List(Dict())
    blind = List(Dict(), metadata={"description": "无法巡检或巡检数据过期的账号（至多 200 个）及所需材料"})
    blind_total = Integer()


class ImportIn(Schema):
    file = File(required=True)
    kind = String(load_default="posts", validate=OneOf(["posts", "profiles"]))
    source = String(load_default=None, validate=Length(max=200))


def post_dict(
    lp: LivePost, findings: list[Finding] | None = None, reading: AccountInspection | None = None
) -> dict[str, Any]:
    """A post as the API and the posts tab show it; ``reading``: the account's inspection state,
    whose last reading vouches for the live posts inside its window (no per-post write)."""
    hits = lp.check_hits or []
    live = lp.state is PostState.live
    covered = live and reading is not None and reading.covers(lp)
    confirmed = confirmed_at(lp, reading) if live else None
    if not live:
        detail = POST_STATE_LABELS[lp.state]
    elif covered:
        detail = f"在线（截至 {bj(confirmed)}）"
    else:
        detail = f"在线（最近确认于 {bj(confirmed)}）"
    return {
        "id": lp.id,
        "account_id": lp.account_id,
        "platform": lp.platform,
        "platform_post_id": lp.platform_post_id,
        "published_at": lp.published_at,
        "title": lp.title,
        "text": lp.text,
        "url": lp.url,
        "source": lp.source.value,
        "source_label": POST_SOURCE_LABELS[lp.source],
        "delivery_id": lp.delivery_id,
        "state": lp.state.value,
        "state_label": POST_STATE_LABELS[lp.state],
        "removed_reason": lp.removed_reason,
        "tamper_state": lp.tamper_state,
        "expected_text": lp.expected_text,
        "check_hits": hits,
        "blocking_hits": sum(1 for h in hits if h.get("severity") == "block"),
        "exception": (
            {"reason": lp.exception.reason, "created_at": lp.exception.created_at.isoformat()}
            if lp.exception is not None
            else None
        ),
        "seen_via": lp.seen_via,
        "seen_via_label": SOURCE_LABELS.get(lp.seen_via, lp.seen_via),
        "first_seen_at": lp.first_seen_at,
        "last_seen_at": lp.last_seen_at,
        "confirmed_at": confirmed,
        "in_last_reading": covered,
        "state_detail": detail,
        "open_findings": [
            {"id": f.id, "kind": f.kind.value, "message": (f.evidence or {}).get("message")} for f in findings or []
        ],
    }


def _post_stmt(account: Account, q: dict[str, Any]) -> sa.Select[Any]:
    stmt = sa.select(LivePost).where(LivePost.account_id == account.id)
    if q.get("source"):
        stmt = stmt.where(LivePost.source == PostSource(q["source"]))
    if q.get("state"):
        stmt = stmt.where(LivePost.state == PostState(q["state"]))
    return stmt.order_by(LivePost.published_at.desc().nulls_last(), LivePost.id.desc())


def _open_findings_by_post(account_id: int) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in db.session.scalars(
        sa.select(Finding).where(
            Finding.account_id == account_id,
            Finding.kind.in_(service.POST_KINDS),
            Finding.status.in_(ACTIVE_STATUSES),
        )
    ):
        ev = f.evidence or {}
        # An unreviewed_post finding lists the day's posts; the others name one post.
        for post_id in ev.get("post_ids") or [ev.get("post_id")]:
            out.setdefault(str(post_id), []).append(f)
    return out


# ----------------------------------------------------------------------------- API


@api.get("/coverage")
@api.input(CoverageQuery, location="query", arg_name="q")
@api.output(CoverageOut)
@api.doc(
    summary="巡检覆盖：按平台、单位、原因统计已巡检/过期/无法巡检（合计等于台账账号数）",
    security="BearerAuth",
)
def coverage_api(q: dict[str, Any]) -> Any:
    return coverage_service.coverage(_viewer(), unit_id=q.get("unit_id"), platform=q.get("platform"))


@api.get("/accounts/<int:account_id>/posts")
@api.input(PostQuery, location="query", arg_name="q")
@api.output(PostPage)
@api.doc(summary="账号在平台上的发布（本平台发布/平台上发现、检查命中、篡改状态）", security="BearerAuth")
def account_posts_api(account_id: int, q: dict[str, Any]) -> Any:
    _viewer()
    account = get_scoped(Account, account_id)
    by_post = _open_findings_by_post(account.id)
    reading = db.session.get(AccountInspection, account.id)
    return paginate(
        _post_stmt(account, q),
        q["page"],
        q["per_page"],
        lambda lp: post_dict(lp, by_post.get(lp.platform_post_id), reading),
    )


def _scoped_post(post_id: int) -> LivePost:
    """The post, if its account is in the caller's scope (else 404, as for the account)."""
    lp = db.session.get(LivePost, post_id)
    if lp is None:
        abort(404)
    get_scoped(Account, lp.account_id)
    return lp


def _post_with_findings(lp: LivePost) -> dict[str, Any]:
    by_post = _open_findings_by_post(lp.account_id)
    return post_dict(lp, by_post.get(lp.platform_post_id), db.session.get(AccountInspection, lp.account_id))


@api.get("/posts/<int:post_id>")
@api.output(PostOut)
@api.doc(summary="一条在平台上的发布：全文、检查命中、与终审稿对照、未办结的问题线索", security="BearerAuth")
def post_api(post_id: int) -> Any:
    _viewer()
    return _post_with_findings(_scoped_post(post_id))


@api.post("/posts/<int:post_id>/exception")
@api.input(ExceptionIn, arg_name="data")
@api.output(PostOut, status_code=201)
@api.doc(summary="登记允许的例外（如转发指定稿源），关闭该内容的“未经三审发布”线索", security="BearerAuth")
def post_exception_api(post_id: int, data: dict[str, Any]) -> Any:
    user = _require(EXCEPTION_ROLES, "只有本单位运营人员或网信办可以登记例外")
    lp = _scoped_post(post_id)
    service.allow_post(lp.id, data["reason"], user)
    db.session.commit()
    post = db.session.get(LivePost, post_id)
    return post_dict(post, None, db.session.get(AccountInspection, post.account_id)), 201


@api.post("/imports")
@api.input(ImportIn, location="form_and_files", arg_name="data")
@api.doc(
    responses={201: "导入统计（rows、created、updated …；profiles 同账号发现名单导入的统计）", 422: "逐行错误"},
    summary="导入第三方监测数据（CSV/XLSX）：kind=posts 发布内容，kind=profiles 账号资料（同账号发现名单）；"
    "有错误时返回 422 和逐行错误，不写入",
    security="BearerAuth",
)
def import_api(data: dict[str, Any]) -> Any:
    user = _require(WORK_ROLES, "只有网信办（审计）或管理员可以导入监测数据")
    upload = data["file"]
    content = upload.read()
    if data.get("kind") == "profiles":
        summary = discovery.import_list(content, upload.filename or "", actor=user, source_ref=data.get("source"))
    else:
        summary = postimport.import_posts(content, upload.filename or "", actor=user, source_ref=data.get("source"))
    db.session.commit()
    return summary, 201


# ----------------------------------------------------------------------------- pages


def _page_viewer() -> User:
    user = current_user()
    if not user.has_role(*VIEW_ROLES):
        abort(403)
    return user


@pages.get("/coverage")
def coverage_page() -> Any:
    user = _page_viewer()
    platform = request.args.get("platform") or None
    if platform and platform not in {p.value for p in Platform}:
        platform = None
    raw_unit = request.args.get("unit_id") or ""
    unit_id = int(raw_unit) if raw_unit.isdigit() else None
    data = coverage_service.coverage(user, unit_id=unit_id, platform=platform)
    units = db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)).all()
    return render_template(
        "inspection/coverage.html",
        data=data,
        platform=platform,
        unit_id=unit_id,
        units=units,
        platform_labels=PLATFORM_LABELS,
        Platform=Platform,
    )


@pages.get("/accounts/<int:account_id>/posts")
def account_posts_page(account_id: int) -> Any:
    _page_viewer()
    account = get_scoped(Account, account_id)
    q = {
        "source": request.args.get("source") if request.args.get("source") in ("ours", "found") else None,
        "state": request.args.get("state") if request.args.get("state") in ("live", "removed") else None,
    }
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    by_post = _open_findings_by_post(account.id)
    state = db.session.get(AccountInspection, account.id)
    result = paginate(
        _post_stmt(account, q), page, 50, lambda lp: post_dict(lp, by_post.get(lp.platform_post_id), state)
    )
    contents = _delivered_contents({p["delivery_id"] for p in result["items"] if p["delivery_id"]})
    return render_template(
        "inspection/account_posts.html",
        account=account,
        result=result,
        contents=contents,
        q=q,
        state=state,
        source_labels=SOURCE_LABELS,
        platform_labels=PLATFORM_LABELS,
        can_allow=current_user().has_role(*EXCEPTION_ROLES),
    )


def _delivered_contents(delivery_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The 稿件 (id, title) of these deliveries, by delivery id."""
    if not delivery_ids:
        return {}
    return {
        r.delivery_id: {"id": r.id, "title": r.title}
        for r in db.session.execute(
            sa.select(Delivery.id.label("delivery_id"), Content.id, Content.title)
            .join(Content, Content.id == Delivery.content_id)
            .where(Delivery.id.in_(delivery_ids))
        )
    }


@pages.get("/posts/<int:post_id>")
def post_page(post_id: int) -> Any:
    """One post as the platform shows it: the whole text with the checks' hits marked, where it
    came from (our 稿件 or found), its state, the comparison with the approved text, its findings."""
    user = _page_viewer()
    lp = _scoped_post(post_id)
    post = _post_with_findings(lp)
    hits = [finding_dict(h) for h in lp.check_hits or []]
    checks = diffing.marked_fields({"title": lp.title, "body": lp.text}, hits, field_label, every_field=True)
    # a tampered post: what changed between the approved text and the platform's, as compared
    changes = (
        diffing.diff_text(lp.expected_text, trace.comparable(lp.platform, lp.title, lp.text))
        if lp.tamper_state == "tampered"
        else None
    )
    return render_template(
        "inspection/post.html",
        account=db.session.get(Account, lp.account_id),
        post=post,
        checks=checks,
        changes=changes,
        content=_delivered_contents({lp.delivery_id} if lp.delivery_id else set()).get(lp.delivery_id or 0),
        platform_labels=PLATFORM_LABELS,
        can_allow=user.has_role(*EXCEPTION_ROLES),
    )


@pages.post("/posts/<int:post_id>/exception")
def post_exception_page(post_id: int) -> Any:
    user = current_user()
    if not user.has_role(*EXCEPTION_ROLES):
        abort(403)
    lp = _scoped_post(post_id)
    try:
        service.allow_post(lp.id, request.form.get("reason"), user)
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("已登记为允许的例外，相关“未经三审发布”线索已关闭。", "success")
    if request.form.get("back") == "post":
        return redirect(url_for("inspection.post_page", post_id=lp.id))
    return redirect(url_for("inspection.account_posts_page", account_id=lp.account_id))
