"""Request/response schemas for the content and review API (OpenAPI through APIFlask)."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, List, Nested, Raw, String
from apiflask.validators import Length, OneOf, Range, Regexp

from common.fields import DateTime, Integer
from common.pagination import PageOut, PageQuery
from moderation.models import REVIEWER_DECISIONS, ContentKind, ContentStatus, Disclosure
from moderation.payload import COVER_CROPS
from registry.models import PUBLISHABLE_PLATFORMS

PLATFORMS = [p.value for p in PUBLISHABLE_PLATFORMS]


class ContentMediaItem(Schema):
    name = String(required=True, validate=Length(min=1, max=200), metadata={"description": "文件名"})
    content_type = String(load_default="application/octet-stream", validate=Length(max=100))
    sha256 = String(required=True, validate=Regexp(r"^[0-9a-fA-F]{64}$", error="sha256 应为 64 位十六进制"))
    alt = String(load_default="", validate=Length(max=500), metadata={"description": "图片说明（alt），参与检查"})
    text = String(
        load_default="",
        metadata={
            "description": "附件文字，参与检查。文件能提取文字（纯文本、PDF 文字层、Word .docx）时以服务器提取的为准，"
            "此处的值被替换；否则使用此处录入的文字"
        },
    )
    role = String(
        load_default=None,
        allow_none=True,
        validate=OneOf(["image", "video", "attachment"]),
        metadata={"description": "image / video / attachment；缺省按 content_type 判断"},
    )
    crop = String(
        load_default=None,
        allow_none=True,
        validate=OneOf(list(COVER_CROPS)),
        metadata={"description": "封面（第一张图片）的裁剪：2.35:1 / 1:1 / 16:9，上传封面时居中裁剪；缺省为原图"},
    )


class ContentFields(Schema):
    """Every field optional: PATCH changes only what it names."""

    title = String(validate=Length(min=1, max=200), metadata={"description": "标题"})
    body = String(
        validate=Length(max=500_000),
        metadata={"description": "正文 HTML（按白名单净化；纯文本按段落转换），最多 50 万字符"},
    )
    summary = String(allow_none=True, validate=Length(max=500), metadata={"description": "摘要"})
    media = List(
        Nested(ContentMediaItem),
        validate=Length(max=50),
        metadata={"description": "图片、视频与附件（先上传到 POST /media），最多 50 个"},
    )
    disclosure = String(
        validate=OneOf([d.value for d in Disclosure]),
        metadata={"description": "公开属性：active 主动公开 / on_request 依申请公开 / withheld 不予公开"},
    )
    disclosure_reason = String(allow_none=True, metadata={"description": "非主动公开时必填的理由"})
    kind = String(
        validate=OneOf([k.value for k in ContentKind]),
        metadata={"description": "news 新闻动态 / policy 政策文件 / interpretation 政策解读"},
    )
    policy_id = Integer(allow_none=True, metadata={"description": "解读所对应的政策文件（同一单位），三同步"})
    target_ids = List(
        Integer(),
        validate=Length(max=200),
        metadata={"description": "发布账号 id（本单位及下属单位运行中的账号），最多 200 个"},
    )
    overrides = Dict(
        keys=String(validate=OneOf(PLATFORMS)),
        values=Raw(),
        metadata={
            "description": '各平台单独文案，如 {"weibo": {"text": "…"}}（字段 text / title / summary），'
            '或直接给文字 {"weibo": "…"}'
        },
    )
    publish_at = DateTime(allow_none=True, metadata={"description": "定时发布时间（ISO 8601；无时区按 UTC）"})


class ContentCreate(ContentFields):
    title = String(required=True, validate=Length(min=1, max=200), metadata={"description": "标题"})
    unit_id = Integer(metadata={"description": "所属单位（缺省为本人单位）"})


class ContentTargetOut(Schema):
    id = Integer()
    name = String()
    platform = String()
    platform_label = String()
    status = String()


class ContentReviewOut(Schema):
    id = Integer()
    version = Integer()
    stage = Integer()
    stage_label = String()
    reviewer_id = Integer()
    reviewer_name = String(allow_none=True)
    decision = String()
    decision_label = String()
    comment = String(allow_none=True)
    content_hash = String()
    voided = Boolean()
    at = DateTime()


class CheckFindingOut(Schema):
    kind = String()
    kind_label = String()
    severity = String(metadata={"description": "block 阻断 / warn 提示"})
    severity_label = String()
    field = String()
    field_label = String()
    start = Integer()
    end = Integer()
    text = String()
    message = String()
    suggestion = String(allow_none=True)
    rule = String()


class CheckReportOut(Schema):
    content_id = Integer()
    version = Integer()
    stored = Boolean(metadata={"description": "true：提交时保存的检查报告；false：当前内容的即时检查"})
    blocking = Boolean()
    at = DateTime(allow_none=True)
    findings = List(Nested(CheckFindingOut))


class ContentSummaryOut(Schema):
    id = Integer()
    unit_id = Integer()
    unit_name = String(allow_none=True)
    author_id = Integer()
    author_name = String(allow_none=True)
    title = String()
    summary = String(allow_none=True)
    disclosure = String()
    disclosure_label = String()
    disclosure_reason = String(allow_none=True)
    kind = String()
    kind_label = String()
    policy_id = Integer(allow_none=True)
    target_ids = List(Integer())
    publish_at = DateTime(allow_none=True)
    status = String()
    status_label = String()
    stage = Integer(allow_none=True)
    version = Integer()
    content_hash = String(allow_none=True)
    approved_hash = String(allow_none=True)
    approved_version = Integer(allow_none=True)
    stage_entered_at = DateTime(allow_none=True)
    warnings_acknowledged = Boolean()
    created_at = DateTime()
    updated_at = DateTime()


class ContentOut(ContentSummaryOut):
    body_html = String()
    body_text = String()
    media = List(Dict())
    overrides = Dict()
    targets = List(Nested(ContentTargetOut))
    linked_ids = List(Integer(), metadata={"description": "三同步：同组的政策文件/解读"})
    reviews = List(Nested(ContentReviewOut))
    checks = Nested(CheckReportOut, allow_none=True)


class ContentPage(PageOut):
    items = List(Nested(ContentSummaryOut))


class ContentQuery(PageQuery):
    status = String(load_default=None, validate=OneOf([s.value for s in ContentStatus]))
    kind = String(load_default=None, validate=OneOf([k.value for k in ContentKind]))
    q = String(load_default=None, validate=Length(max=100), metadata={"description": "标题关键词"})
    unit_id = Integer(load_default=None)


class ContentReviewIn(Schema):
    decision = String(required=True, validate=OneOf([d.value for d in REVIEWER_DECISIONS]))
    comment = String(load_default=None, allow_none=True, validate=Length(max=2000), metadata={"description": "意见"})
    acknowledge_warnings = Boolean(
        load_default=False, metadata={"description": "复审：确认已核实自动检查的提示项（有提示时必须为 true）"}
    )
    stage = Integer(load_default=None, validate=Range(min=1, max=3), metadata={"description": "可选：期望的审核环节"})
    version = Integer(load_default=None, metadata={"description": "可选：审核时看到的版本号"})


class ContentVersionOut(Schema):
    version = Integer()
    title = String()
    content_hash = String()
    created_by_id = Integer(allow_none=True)
    created_by_name = String(allow_none=True)
    created_at = DateTime()
    current = Boolean()


class ContentVersionList(Schema):
    items = List(Nested(ContentVersionOut))
    total = Integer()
    current_version = Integer()


class ContentDiffOp(Schema):
    op = String(metadata={"description": "equal / insert / delete"})
    text = String()


class ContentFieldDiffOut(Schema):
    field = String()
    label = String()
    changed = Boolean()
    ops = List(Nested(ContentDiffOp))


class ContentDiffQuery(Schema):
    against = Integer(load_default=None, metadata={"description": "对比的旧版本（缺省为上一个已提交版本）"})


class ContentDiffOut(Schema):
    content_id = Integer()
    from_version = Integer(allow_none=True)
    to_version = Integer()
    fields = List(Nested(ContentFieldDiffOut))


class ReviewQueueQuery(PageQuery):
    stage = Integer(load_default=None, validate=OneOf([1, 2, 3]), metadata={"description": "1 初审 / 2 复审 / 3 终审"})


class ReviewQueueItem(ContentSummaryOut):
    overdue = Boolean()
    waiting_hours = Float()
    can_review = Boolean()
    refusal = String(allow_none=True)


class ReviewQueuePage(PageOut):
    items = List(Nested(ReviewQueueItem))
    stages = List(Integer())
    overdue_hours = Dict()


class ChecksIn(Schema):
    text = String(required=True, validate=Length(max=200_000))
    title = String(load_default="", validate=Length(max=200))
    platforms = List(String(validate=OneOf(PLATFORMS)), load_default=list)


class ChecksOut(Schema):
    blocking = Boolean()
    findings = List(Nested(CheckFindingOut))


class MediaUploadOut(Schema):
    name = String()
    content_type = String()
    sha256 = String()
    size = Integer()
    role = String()
    text = String(
        metadata={
            "description": "附件文字：从纯文本、PDF（文字层）和 Word .docx 中提取；"
            "扫描件等无法提取时为空（可人工录入后填入 media[].text，审核时提示人工核对）"
        }
    )
    text_extracted = Boolean(metadata={"description": "是否从文件中提取到了文字"})


class ReviewHistoryQuery(ReviewQueueQuery):
    """The queue's filters: ``stage``, ``page``, ``per_page``."""


class ReviewHistoryItem(ContentReviewOut):
    content_id = Integer()
    title = String()
    unit_id = Integer()
    unit_name = String(allow_none=True)
    content_version = Integer(metadata={"description": "稿件当前版本（version 为审核时的版本）"})
    content_status = String(metadata={"description": "稿件现在的状态"})
    content_status_label = String()


class ReviewHistoryPage(PageOut):
    items = List(Nested(ReviewHistoryItem))
