"""Pages and API of intake: 批量排期 (template, upload, progress on the job page) and the website
feeds (list, add, edit, enable/disable, poll now, items → drafts). Views commit; services flush.
"""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint
from apiflask.fields import Boolean, Dict, File, List, Nested, String
from apiflask.schemas import FileSchema
from apiflask.validators import Length, OneOf
from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for

from auth.scoping import current_user, visible_unit_ids
from common.errors import Forbidden
from common.fields import DateTime, Integer
from extensions import db
from intake import bulk, feeds
from intake import jobs as intake_jobs
from intake.models import FEED_FORMAT_LABELS, POLL_STATUS_LABELS, FeedFormat
from jobs import runner
from jobs.views import JobOut, accepted
from moderation.models import CONTENT_KIND_LABELS, CONTENT_STATUS_LABELS, DISCLOSURE_LABELS, Disclosure
from moderation.service import AUTHOR_ROLES
from registry.models import Unit
from registry.schemas import ZH, ZH_BOOL, ZhSchema

api = APIBlueprint("intake_api", __name__, url_prefix="/api/v1", tag="批量排期与政府网站订阅")
pages = Blueprint("intake", __name__, url_prefix="/intake")

CSV_MIME = "text/csv; charset=utf-8"


# ============================================================================= schemas


class BulkIn(ZhSchema):
    file = File(
        required=True,
        error_messages={**ZH, "invalid": "请上传文件"},
        metadata={"description": "XLSX 或 CSV（模板列名）"},
    )
    media = File(load_default=None, metadata={"description": "图片/附件的 zip 压缩包（表格按文件名引用）"})
    submit = Boolean(load_default=False, error_messages=ZH_BOOL, metadata={"description": "true：生成后同时提交初审"})
    dry_run = Boolean(load_default=False, error_messages=ZH_BOOL, metadata={"description": "只校验，不写入"})


class FeedIn(ZhSchema):
    unit_id = Integer(load_default=None, metadata={"description": "所属单位；默认本人所在单位"})
    name = String(required=True, validate=Length(1, 100), error_messages=ZH, metadata={"description": "栏目名称"})
    url = String(
        required=True, validate=Length(1, 500), error_messages=ZH, metadata={"description": "订阅地址（http/https）"}
    )
    format = String(
        load_default="rss",
        validate=OneOf([f.value for f in FeedFormat]),
        metadata={"description": "rss（RSS/Atom）/ json（JSON Feed）"},
    )
    default_disclosure = String(
        load_default="active",
        validate=OneOf([d.value for d in Disclosure]),
        metadata={"description": "条目未标注公开属性时使用：active / on_request / withheld"},
    )


class FeedPatch(ZhSchema):
    name = String(validate=Length(1, 100), error_messages=ZH)
    url = String(validate=Length(1, 500), error_messages=ZH)
    format = String(validate=OneOf([f.value for f in FeedFormat]))
    default_disclosure = String(validate=OneOf([d.value for d in Disclosure]))
    enabled = Boolean(error_messages=ZH_BOOL, metadata={"description": "false：停用（不再抓取）"})


class FeedOut(ZhSchema):
    id = Integer()
    unit_id = Integer()
    unit_name = String(allow_none=True)
    name = String()
    url = String()
    format = String()
    format_label = String()
    default_disclosure = String()
    default_disclosure_label = String()
    enabled = Boolean()
    last_status = String(metadata={"description": "never 尚未抓取 / ok 正常 / not_modified 无更新（304）/ error 出错"})
    status_label = String()
    last_error = String(allow_none=True, metadata={"description": "最近一次抓取的错误（中文）"})
    last_polled_at = DateTime(allow_none=True)
    last_new_items = Integer()
    items = Integer()


class FeedList(ZhSchema):
    items = List(Nested(FeedOut))


class FeedItemOut(ZhSchema):
    id = Integer()
    title = String()
    link = String(allow_none=True)
    guid = String()
    published_at = DateTime(allow_none=True)
    created_at = DateTime(allow_none=True)
    content_id = Integer(allow_none=True)
    content_status = String(allow_none=True)
    kind = String(allow_none=True)
    policy_item_id = Integer(allow_none=True, metadata={"description": "三同步：所解读政策的条目"})
    policy_title = String(allow_none=True)
    policy_content_id = Integer(allow_none=True)


class FeedItemList(ZhSchema):
    items = List(Nested(FeedItemOut))


class PollOut(ZhSchema):
    feed = Nested(FeedOut)
    new_items = Integer()
    content_ids = List(Integer())
    result = Dict()


# ============================================================================= API


def _require_author() -> Any:
    user = current_user()
    if not user.has_role(*AUTHOR_ROLES):
        raise Forbidden("只有运营人员可以批量导入稿件", code="wrong_role")
    return user


@api.get("/intake/bulk/template.xlsx")
@api.output(FileSchema(type="string", format="binary"), content_type=bulk.XLSX_MIME)
@api.doc(summary="下载批量排期模板（XLSX，含下拉选项、示例行和填写说明）", security="BearerAuth")
def bulk_template() -> Any:
    return send_file(
        io.BytesIO(bulk.template_workbook()),
        mimetype=bulk.XLSX_MIME,
        as_attachment=True,
        download_name="批量排期模板.xlsx",
    )


@api.get("/intake/bulk/template.csv")
@api.output(FileSchema(type="string", format="binary"), content_type=CSV_MIME)
@api.doc(summary="下载批量排期模板（CSV，UTF-8）", security="BearerAuth")
def bulk_template_csv() -> Any:
    return send_file(
        io.BytesIO(bulk.template_csv()), mimetype=CSV_MIME, as_attachment=True, download_name="批量排期模板.csv"
    )


@api.post("/intake/bulk")
@api.input(BulkIn, location="files", arg_name="data")
@api.output(JobOut, status_code=202)
@api.doc(
    summary="批量排期导入（表格 + 素材 zip，后台执行）",
    description="返回 202 和后台任务；GET /api/v1/jobs/{id} 查看进度和结果。整份文件全部通过校验才写入："
    "有错误时任务失败，result.errors 逐条列出 {row, column, reason}（压缩包的问题 row 为 null），不写入任何数据。"
    "每行生成一篇草稿（submit=true 时同时提交初审），发布账号只能是本单位及下属单位运行中的账号。",
    responses={403: "角色无权导入"},
    security="BearerAuth",
)
def bulk_import(data: dict[str, Any]) -> Any:
    user = _require_author()
    upload = data["file"]
    archive = data.get("media")
    zip_data = archive.read() if archive is not None else None
    params = intake_jobs.start_params(
        upload.filename or "",
        submit=data["submit"],
        dry_run=data["dry_run"],
        zip_data=zip_data,
        zip_name=getattr(archive, "filename", "") or "",
    )
    return accepted(runner.start(intake_jobs.BULK_SCHEDULE, user, params, upload=upload.read()))


@api.get("/intake/feeds")
@api.output(FeedList)
@api.doc(summary="政府网站订阅源列表（本单位及下属单位）", security="BearerAuth")
def list_feeds() -> Any:
    return {"items": [feeds.feed_dict(f) for f in feeds.visible_feeds(current_user())]}


@api.post("/intake/feeds")
@api.input(FeedIn, arg_name="data")
@api.output(FeedOut, status_code=201)
@api.doc(summary="添加政府网站订阅源（RSS/Atom 或 JSON Feed）", security="BearerAuth")
def create_feed(data: dict[str, Any]) -> Any:
    feed = feeds.create_feed(data, current_user())
    db.session.commit()
    return feeds.feed_dict(feed), 201


@api.get("/intake/feeds/<int:feed_id>")
@api.output(FeedOut)
@api.doc(summary="订阅源详情与最近一次抓取状态", security="BearerAuth")
def get_feed(feed_id: int) -> Any:
    return feeds.feed_dict(feeds.get_feed(current_user(), feed_id))


@api.patch("/intake/feeds/<int:feed_id>")
@api.input(FeedPatch, arg_name="data")
@api.output(FeedOut)
@api.doc(summary="修改、停用或启用订阅源", security="BearerAuth")
def update_feed(feed_id: int, data: dict[str, Any]) -> Any:
    user = current_user()
    feed = feeds.update_feed(feeds.get_feed(user, feed_id), data, user)
    db.session.commit()
    return feeds.feed_dict(feed)


@api.post("/intake/feeds/<int:feed_id>/poll")
@api.output(PollOut)
@api.doc(summary="立即抓取一次（条件请求；新条目生成草稿）", security="BearerAuth")
def poll_feed(feed_id: int) -> Any:
    user = current_user()
    feed = feeds.get_feed(user, feed_id)
    result = feeds.poll_now(feed, user)
    db.session.commit()
    return {
        "feed": feeds.feed_dict(feed),
        "new_items": result.new_items,
        "content_ids": result.content_ids,
        "result": {"status": result.status, "error": result.error},
    }


@api.get("/intake/feeds/<int:feed_id>/items")
@api.output(FeedItemList)
@api.doc(summary="订阅源已生成草稿的条目（含三同步关联）", security="BearerAuth")
def feed_items(feed_id: int) -> Any:
    feed = feeds.get_feed(current_user(), feed_id)
    return {"items": [feeds.item_dict(i) for i in feeds.items_of(feed)]}


# ============================================================================= pages


@pages.route("/bulk", methods=["GET", "POST"])
def bulk_page() -> Any:
    user = _require_author()
    if request.method == "GET":
        return render_template("intake/bulk.html", columns=bulk.COLUMNS)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 XLSX 或 CSV 文件", "error")
        return render_template("intake/bulk.html", columns=bulk.COLUMNS), 422
    archive = request.files.get("media")
    zip_data = archive.read() if archive is not None and archive.filename else None
    params = intake_jobs.start_params(
        upload.filename,
        submit=request.form.get("mode") == "submit",
        dry_run=request.form.get("dry_run") == "1",
        zip_data=zip_data,
        zip_name=archive.filename if archive is not None and archive.filename else "",
    )
    job = runner.start(intake_jobs.BULK_SCHEDULE, user, params, upload=upload.read())
    return redirect(url_for("jobs.detail", job_id=job.id))


def _units(user: Any) -> list[Unit]:
    scope = visible_unit_ids(user)
    stmt = sa.select(Unit).order_by(Unit.name)
    if scope is not None:
        stmt = stmt.where(Unit.id.in_(scope))
    return list(db.session.scalars(stmt))


def _labels() -> dict[str, Any]:
    return {
        "format_labels": {f.value: label for f, label in FEED_FORMAT_LABELS.items()},
        "disclosure_labels": {d.value: label for d, label in DISCLOSURE_LABELS.items()},
        "status_labels": POLL_STATUS_LABELS,
        "kind_labels": {k.value: label for k, label in CONTENT_KIND_LABELS.items()},
        "content_status_labels": {s.value: label for s, label in CONTENT_STATUS_LABELS.items()},
    }


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": request.form.get("name", ""),
        "url": request.form.get("url", ""),
        "format": request.form.get("format") or "rss",
        "default_disclosure": request.form.get("default_disclosure") or "active",
    }
    if request.form.get("unit_id"):
        try:
            values["unit_id"] = int(request.form["unit_id"])
        except ValueError:
            values["unit_id"] = -1
    return values


@pages.route("/feeds", methods=["GET", "POST"])
def feeds_page() -> Any:
    user = current_user()
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        values = _form_values()
        try:
            feed = feeds.create_feed(values, user)
        except feeds.Invalid as exc:
            db.session.rollback()
            errors, status = exc.detail or {}, 422
        else:
            db.session.commit()
            flash(f"已添加订阅源“{feed.name}”，将按计划自动抓取", "success")
            return redirect(url_for("intake.feed_page", feed_id=feed.id))
    rows = feeds.visible_feeds(user)
    can_write = user.has_role(*feeds.WRITE_ROLES)
    return (
        render_template(
            "intake/feeds.html",
            feeds=rows,
            units=_units(user),
            values=values,
            errors=errors,
            can_write=can_write,
            **_labels(),
        ),
        status,
    )


@pages.route("/feeds/<int:feed_id>", methods=["GET", "POST"])
def feed_page(feed_id: int) -> Any:
    user = current_user()
    feed = feeds.get_feed(user, feed_id)
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "poll":
                result = feeds.poll_now(feed, user)
                db.session.commit()
                if result.status == "error":
                    flash(f"抓取失败：{result.error}", "error")
                elif result.status == "not_modified":
                    flash("订阅源没有更新（304），未生成草稿", "success")
                else:
                    flash(f"抓取完成：新条目 {result.new_items} 条，已生成草稿", "success")
            elif action in ("disable", "enable"):
                feeds.update_feed(feed, {"enabled": action == "enable"}, user)
                db.session.commit()
                flash("已停用该订阅源" if action == "disable" else "已启用该订阅源", "success")
            else:
                values = _form_values()
                values.pop("unit_id", None)
                feeds.update_feed(feed, values, user)
                db.session.commit()
                flash("已保存", "success")
            return redirect(url_for("intake.feed_page", feed_id=feed.id))
        except feeds.Invalid as exc:
            db.session.rollback()
            errors, status = exc.detail or {}, 422
    items = [feeds.item_dict(i) for i in feeds.items_of(feed)]
    return (
        render_template(
            "intake/feed.html",
            feed=feed,
            items=items,
            errors=errors,
            can_write=user.has_role(*feeds.WRITE_ROLES),
            **_labels(),
        ),
        status,
    )
